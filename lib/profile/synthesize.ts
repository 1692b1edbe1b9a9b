// The pure heart: a parsed domain plus host facts in, a Profile value out.
// Two steps with the path resolution (which needs the disk) in between:
// collectAccesses asks every resource module, finalizeProfile canonicalises,
// applies policy, deduplicates and attaches reasons.

import * as path from 'node:path';
import type { Domain } from '../domain/types.ts';
import { DomainRefusedError } from '../errors.ts';
import type { HostFacts, ResolvedPath } from '../host/facts.ts';
import type { HostLayout } from '../host/layout.ts';
import { nameProblem, pathTextProblem, restrictedPathProblem } from '../policy/validate.ts';
import { qemuCanReplace } from '../policy/qemu-writable.ts';
import { newImageLocation, refusedImagePath, type ImageLocations } from '../policy/image-locations.ts';
import { patternText } from '../policy/escape.ts';
import { resourceModules } from '../resources/index.ts';
import { defaultSettings, type SynthesisSettings } from '../resources/resource.ts';
import { normalizeLexically } from '../storage/resolve.ts';
import { mergePerms, notice, type Access, type ChildProfile, type Notice, type PathAccess, type PathPart, type Perms, type Reason, type SnippetName, type Wildcard } from './access.ts';

/** QEMU-driven domain types. `test` is libvirt's test driver, which shares QEMU's XML. */
export const supportedDomainTypes: ReadonlySet<string> = new Set(['kvm', 'qemu', 'kqemu', 'test']);

/** libvirt's virDomainOSType values. */
const libvirtOsTypes: ReadonlySet<string> = new Set(['hvm', 'xen', 'linux', 'exe', 'uml', 'xenpvh']);

export interface FileRule {
  /** Canonical path parts (symlinks resolved). */
  readonly parts: readonly PathPart[];
  readonly perms: Perms;
  readonly reasons: readonly Reason[];
  /** The literal paths as the domain or an image header wrote them, where they differ. */
  readonly writtenAs: readonly string[];
  /** Granted to this child profile, not to QEMU. */
  readonly child: ChildProfile | undefined;
}

export interface SnippetRule {
  readonly name: SnippetName;
  readonly reasons: readonly Reason[];
}

export interface Profile {
  /** `libvirt-<uuid>` */
  readonly name: string;
  readonly domain: { readonly name: string; readonly uuid: string };
  readonly rules: readonly FileRule[];
  /**
   * Literal rules a broader rule of the profile already grants, such as a
   * generated socket inside the private directory. Left out of the profile so
   * that the XML of prepare and of start (which names such paths) give the
   * same text, and apparmor_parser's cache serves both.
   */
  readonly covered: readonly { readonly rule: FileRule; readonly by: FileRule }[];
  readonly snippets: readonly SnippetRule[];
  readonly notices: readonly Notice[];
  /**
   * The directories (resolved) of every path an image header named and the
   * profile grants: what the caller records once the profile is loaded, so
   * that the next start can tell a chain moved to a new location.
   */
  readonly imageDirs: readonly string[];
}

export function profileName(uuid: string): string {
  return `libvirt-${uuid}`;
}

/** Every access the domain needs, in registry order. Refuses unsupported domains and bad names. */
export function collectAccesses(domain: Domain, host: HostFacts, layout: HostLayout, settings: SynthesisSettings = defaultSettings): readonly Access[] {
  if (!supportedDomainTypes.has(domain.type)) {
    throw new DomainRefusedError(`unsupported domain type '${domain.type}': only QEMU domains (kvm, qemu) are confined`, { domain: domain.name });
  }
  // libvirt refuses a definition with an OS type it does not know; so does its helper.
  if (domain.os.type !== undefined && !libvirtOsTypes.has(domain.os.type)) {
    throw new DomainRefusedError(`invalid domain: <os><type> '${domain.os.type}' is not an OS type libvirt knows`, { domain: domain.name });
  }
  const problem = nameProblem(domain.name);
  if (problem !== undefined) throw new DomainRefusedError(`invalid domain name: ${problem}`, { domain: domain.name });
  const context = { domain, host, layout, settings };
  return resourceModules.flatMap((module) => {
    try {
      return module.accesses(context);
    } catch (error) {
      if (error instanceof DomainRefusedError) throw new DomainRefusedError(error.message, { ...error.context, domain: domain.name }, { cause: error });
      throw error;
    }
  });
}

/**
 * Which literal host path of an access must be resolved against the file
 * system: the whole path, or, for a pattern, the directory holding the first
 * wildcard.
 */
export function resolutionTarget(parts: readonly PathPart[]): { readonly lookup: string; readonly rest: readonly PathPart[]; readonly tree: boolean } {
  const firstWildcard = parts.findIndex((p) => typeof p !== 'string');
  if (firstWildcard === -1) {
    const text = (parts as readonly string[]).join('');
    return { lookup: text, rest: text.endsWith('/') && text !== '/' ? ['/'] : [], tree: false };
  }
  const literal = (parts.slice(0, firstWildcard) as readonly string[]).join('');
  const slash = literal.lastIndexOf('/');
  return { lookup: literal.slice(0, Math.max(slash, 1)), rest: [literal.slice(slash + 1), ...parts.slice(firstWildcard)].filter((p) => p !== ''), tree: true };
}

export function pathsToResolve(accesses: readonly Access[]): readonly string[] {
  const paths = new Set<string>();
  for (const access of accesses) {
    if (access.kind !== 'path') continue;
    const { lookup } = resolutionTarget(access.parts);
    if (pathTextProblem(lookup) === undefined) paths.add(lookup);
  }
  return [...paths];
}

function joinResolved(dir: string, rest: readonly PathPart[]): readonly PathPart[] {
  const [first, ...others] = rest;
  if (first === undefined) return [dir];
  if (typeof first === 'string') return [`${dir === '/' ? '' : dir}/${first.replace(/^\//, '')}`, ...others];
  return [`${dir === '/' ? '' : dir}/`, first, ...others];
}

/**
 * A writable rule through a symlink the QEMU user could replace is the
 * guest's choice of target (its NVRAM swapped for a link to another guest's):
 * refused, naming the path, the target and the link.
 */
function checkWritableThroughLinks(access: PathAccess, resolved: ResolvedPath | undefined, host: HostFacts, context: { readonly domain: string; readonly device: string; readonly path: string }): void {
  if (resolved === undefined || !/[wl]/.test(access.perms)) return;
  const link = resolved.links.find((l) => qemuCanReplace(host.qemuUser, l.directory, l.entry));
  if (link === undefined) return;
  throw new DomainRefusedError(
    `refusing ${access.perms} access for the ${access.reason.detail}: it resolves to "${resolved.path}" through the symlink "${link.path}", in a directory the QEMU user (${host.qemuUser.name}) can write`,
    context,
  );
}

/** What an image header names: never in libvirt's state, root's home or /dev, and not in a new location. */
function checkImageLocation(access: PathAccess, candidates: ReadonlySet<string>, canonical: string, images: ImageLocations, context: { readonly domain: string; readonly device: string; readonly path: string }): void {
  if (access.origin !== 'image') return;
  const via = canonical === context.path ? '' : ` (resolves to ${canonical})`;
  for (const candidate of candidates) {
    const problem = refusedImagePath(candidate, images);
    if (problem !== undefined) throw new DomainRefusedError(`refusing the ${access.reason.detail} named by an image header${via}: ${problem}`, context);
  }
  const problem = newImageLocation(canonical, images);
  if (problem !== undefined) throw new DomainRefusedError(`refusing the ${access.reason.detail} named by an image header${via}: ${problem}`, context);
}

function canonicalRule(access: PathAccess, resolutions: ReadonlyMap<string, ResolvedPath>, domainName: string, host: HostFacts, images: ImageLocations): FileRule {
  const { lookup, rest, tree } = resolutionTarget(access.parts);
  const context = { domain: domainName, device: access.reason.device, path: lookup };
  for (const part of access.parts) {
    const problem = typeof part === 'string' ? pathTextProblem(`/${part}`) : undefined;
    if (problem !== undefined) throw new DomainRefusedError(`cannot grant access: ${problem}`, context);
  }
  const textProblem = pathTextProblem(lookup);
  if (textProblem !== undefined) throw new DomainRefusedError(`cannot grant access: ${textProblem}`, context);
  const literal = normalizeLexically(lookup);
  const resolved = resolutions.get(lookup);
  const canonical = resolved?.path ?? literal;
  const candidates = new Set([literal, canonical]);
  if (access.origin !== 'derived') {
    const writable = /[wl]/.test(access.perms);
    for (const candidate of candidates) {
      const problem = restrictedPathProblem(candidate, writable, tree, access.origin !== 'image');
      if (problem !== undefined) {
        const via = candidate === literal ? '' : ` (resolves to ${candidate})`;
        throw new DomainRefusedError(`refusing to grant ${access.perms} access for the ${access.reason.detail}${via}: ${problem}`, context);
      }
    }
  }
  checkImageLocation(access, candidates, canonical, images, context);
  checkWritableThroughLinks(access, resolved, host, context);
  const parts = joinResolved(canonical, rest);
  const written = (access.parts.filter((p) => typeof p === 'string') as string[]).join('');
  const canonicalText = patternText(parts);
  return { parts, perms: access.perms, reasons: [access.reason], writtenAs: canonicalText === patternText(access.parts) ? [] : [written], child: access.child };
}

const reasonKey = (r: Reason): string => `${r.device}\0${r.detail}`;

/** As apparmor_parser reads them: a wildcard that starts a path component must match at least one character, and not a slash first. */
function wildcardRegex(wildcard: Wildcard, startsComponent: boolean): string {
  switch (wildcard) {
    case 'any':
      return startsComponent ? '[^/]+' : '[^/]*';
    case 'anypath':
      return startsComponent ? '[^/].*' : '.*';
    case 'domain-id':
      return '[0-9]{1,10}';
  }
}

function patternRegex(parts: readonly PathPart[]): RegExp {
  let body = '';
  let previous = '';
  for (const part of parts) {
    body += typeof part === 'string' ? part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : wildcardRegex(part.wildcard, previous.endsWith('/'));
    previous = typeof part === 'string' ? part : '*';
  }
  return new RegExp(`^${body}$`, 's');
}

interface BroadRule {
  readonly rule: FileRule;
  readonly regex: RegExp;
  /** For a `DIR/**` rule: what DIR/ must match. */
  readonly treeRegex: RegExp | undefined;
}

function broadRule(rule: FileRule): BroadRule {
  const last = rule.parts.at(-1);
  const tree = typeof last !== 'string' && last?.wildcard === 'anypath' && String(rule.parts.at(-2)).endsWith('/');
  return { rule, regex: patternRegex(rule.parts), treeRegex: tree ? patternRegex(rule.parts.slice(0, -1)) : undefined };
}

/**
 * The broader rule that grants everything this one does, if any: a literal
 * path its pattern matches, or a whole tree `DIR/**` inside a broader tree
 * (libvirt appends its private directories that way).
 */
function coveringRule(rule: FileRule, broad: readonly BroadRule[]): FileRule | undefined {
  // Every rule is checked against every broad one: the path's match comes before the costlier permission merge.
  const grants = (b: BroadRule, matches: (b: BroadRule) => boolean): boolean => b.rule !== rule && b.rule.child === rule.child && matches(b) && mergePerms(b.rule.perms, rule.perms) === b.rule.perms;
  const literal = rule.parts.every((p) => typeof p === 'string');
  if (literal) {
    const text = rule.parts.join('');
    return broad.find((b) => grants(b, () => b.regex.test(text)))?.rule;
  }
  const last = rule.parts.at(-1);
  const dir = rule.parts.slice(0, -1);
  if (typeof last === 'string' || last?.wildcard !== 'anypath' || !dir.every((p) => typeof p === 'string')) return undefined;
  const dirText = dir.join('');
  return broad.find((b) => grants(b, () => b.treeRegex?.test(dirText) === true))?.rule;
}

function mergeReasons(a: readonly Reason[], b: readonly Reason[]): readonly Reason[] {
  const seen = new Map(a.map((r) => [reasonKey(r), r]));
  for (const r of b) if (!seen.has(reasonKey(r))) seen.set(reasonKey(r), r);
  return [...seen.values()];
}

export function finalizeProfile(domain: Domain, accesses: readonly Access[], resolutions: ReadonlyMap<string, ResolvedPath>, host: HostFacts, images: ImageLocations): Profile {
  const rules = new Map<string, FileRule>();
  const imageDirs = new Set<string>();
  const snippets = new Map<SnippetName, SnippetRule>();
  const notices: Notice[] = [];
  for (const access of accesses) {
    switch (access.kind) {
      case 'path': {
        const first = access.parts[0];
        if (typeof first === 'string' && !first.startsWith('/') && pathTextProblem(`/${first}`) === undefined) {
          // virt-aa-helper skips these too; QEMU would resolve them against a working directory no rule can pin down.
          notices.push(notice(`relative path "${first}" gets no rule: write it as an absolute path`, access.reason));
          break;
        }
        const rule = canonicalRule(access, resolutions, domain.name, host, images);
        // A header names one file: its rule is one literal, canonical path.
        const [single] = rule.parts;
        if (access.origin === 'image' && typeof single === 'string') imageDirs.add(path.posix.dirname(single));
        const key = `${rule.child ?? ''}\0${patternText(rule.parts)}`;
        const existing = rules.get(key);
        rules.set(
          key,
          existing === undefined
            ? rule
            : { ...existing, perms: mergePerms(existing.perms, rule.perms), reasons: mergeReasons(existing.reasons, rule.reasons), writtenAs: [...new Set([...existing.writtenAs, ...rule.writtenAs])] },
        );
        break;
      }
      case 'snippet': {
        const existing = snippets.get(access.name);
        snippets.set(access.name, { name: access.name, reasons: mergeReasons(existing?.reasons ?? [], [access.reason]) });
        break;
      }
      case 'notice':
        notices.push(access);
        break;
    }
  }
  const broad = [...rules.values()].filter((r) => r.parts.some((p) => typeof p !== 'string')).map(broadRule);
  const kept: FileRule[] = [];
  const covered: { rule: FileRule; by: FileRule }[] = [];
  for (const rule of rules.values()) {
    const by = coveringRule(rule, broad);
    if (by === undefined) kept.push(rule);
    else covered.push({ rule, by });
  }
  return {
    name: profileName(domain.uuid),
    domain: { name: domain.name, uuid: domain.uuid },
    rules: kept,
    covered,
    snippets: [...snippets.values()],
    notices,
    imageDirs: [...imageDirs].sort(),
  };
}
