// The one owner of a domain's profile on the host, used by the hook, our
// virt-aa-helper and the admin commands alike: the profile made from the
// template (`libvirt/libvirt-<uuid>`, kept if an admin edited it), the rules
// include rewritten at every change (`libvirt/libvirt-<uuid>.files`), the
// deny-all placeholder, the paths libvirt added at run time, and the state
// that ties them together. Everything here runs under the domain's lock.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { removeIfExists, writeFileAtomically, writeIfChanged } from './apparmor/files.ts';
import type { ProfileLoader } from './apparmor/loader.ts';
import { readState, removeState, writeState, type DomainState, type ProfileMode } from './apparmor/state.ts';
import { readImageRecord, recordImageLocations } from './apparmor/image-record.ts';
import { defaultDomainSettings, domainEntry, domainSettings, type Config } from './config.ts';
import type { Domain } from './domain/types.ts';
import { oneLine } from './errors.ts';
import { synthesizeProfile, type HostContext } from './generate.ts';
import type { HostFs } from './host/host-fs.ts';
import { appendedAccesses, type AppendedPath } from './profile/appended.ts';
import { renderRules } from './profile/render.ts';
import { sha256 } from './sha256.ts';
import { profileName, type Profile } from './profile/synthesize.ts';
import { fillTemplate } from './profile/template.ts';
import type { SynthesisSettings } from './resources/resource.ts';
import { isWrapperPath, wrappedEmulator } from './wrapper.ts';
import { timed } from './timing.ts';

export interface ProfilePaths {
  readonly profile: string;
  readonly files: string;
  readonly placeholder: string;
}

export function profilePaths(apparmorDir: string, uuid: string): ProfilePaths {
  const name = profileName(uuid);
  return {
    profile: path.join(apparmorDir, 'libvirt', name),
    files: path.join(apparmorDir, 'libvirt', `${name}.files`),
    placeholder: path.join(apparmorDir, 'virt-aa-hook', 'placeholders', name),
  };
}

export interface StoreContext {
  readonly apparmorDir: string;
  readonly stateDir: string;
  readonly cacheDir: string;
  readonly loader: ProfileLoader;
  readonly template: () => string;
  readonly templatePath: string;
  /** libvirt's own TEMPLATE.qemu, to recognise the profiles its virt-aa-helper made; undefined when there is none. */
  readonly libvirtTemplate: () => string | undefined;
}

/** What putting a profile in place needs from the outside world. */
export interface StoreDeps {
  readonly config: Config;
  readonly fs: HostFs;
  readonly store: StoreContext;
  readonly isLoaded: (profile: string) => boolean;
  readonly lock: <T>(uuid: string, fn: () => T) => T;
  /** Tasks the kernel confines in the domain's profile now (QEMU, its helpers). */
  readonly tasksOf: (uuid: string) => readonly number[];
}

/** The profile file as the template makes it: the per-VM rules come in through the include. */
export function profileFromTemplate(uuid: string, context: Pick<StoreContext, 'template' | 'templatePath'>): string {
  const name = profileName(uuid);
  return fillTemplate(context.template(), { PROFILE_NAME: name, VM_RULES: `  #include if exists <libvirt/${name}.files>` }, context.templatePath);
}

export function placeholderText(uuid: string): string {
  const name = profileName(uuid);
  return [
    '# virt-aa-hook placeholder: keeps a profile of this name loaded while the',
    '# domain does not run (a static libvirt label needs one), or in place of a',
    '# profile that still had tasks when it had to go. It allows nothing.',
    'abi <abi/3.0>,',
    `profile ${name} flags=(attach_disconnected) {`,
    '}',
    '',
  ].join('\n');
}

/** What the configuration says about this domain, for synthesis. */
export function synthesisSettings(config: Config, domain: Domain): SynthesisSettings {
  const entry = domainEntry(config, domain.name, domain.uuid);
  return {
    graphicsTls: config.graphicsTls,
    rawio: entry?.settings.rawio ?? false,
    settingsKey: entry?.key ?? domain.name,
    imageDirs: [...config.imageDirs, ...(entry?.settings.imageDirs ?? [])],
  };
}

/** Everything synthesis takes from the host and the configuration for this domain, the image record included. */
export function hostContext(domain: Domain, config: Config, fs: HostFs): HostContext {
  return {
    fs,
    layout: config.layout,
    settings: synthesisSettings(config, domain),
    libvirtConfigDir: config.paths.libvirtConfigDir,
    imageRecord: readImageRecord(config.paths.stateDir, domain.uuid),
  };
}

/**
 * The `.files` text: the rules synthesized from the XML and libvirt's
 * appends, plus the configuration's own rules for this domain. The one path
 * from XML and configuration to rules: `generate`, the hook and the helper.
 */
export function renderDomainRules(domain: Domain, deps: Pick<StoreDeps, 'config' | 'fs'>, appended: readonly AppendedPath[] = []): { readonly profile: Profile; readonly text: string } {
  const { config } = deps;
  // QEMU is the real emulator our wrapper execs into the profile: that is the binary the profile runs.
  const wrapped = domain.emulator !== undefined && isWrapperPath(domain.emulator, config.paths) ? wrappedEmulator(deps.fs.readText(domain.emulator) ?? '') : undefined;
  const synthesized = wrapped === undefined ? domain : { ...domain, emulator: wrapped };
  const profile = synthesizeProfile(synthesized, hostContext(domain, config, deps.fs), appendedAccesses(appended));
  const entry = domainEntry(config, domain.name, domain.uuid);
  const settings = entry?.settings ?? defaultDomainSettings;
  const extra = settings.rules.length === 0 || entry === undefined ? '' : `\n# configuration: domains.${oneLine(entry.key)}.rules\n${settings.rules.join('\n')}\n`;
  return { profile, text: renderRules(profile) + extra };
}

/**
 * libvirt's virt-aa-helper makes a profile from its TEMPLATE.qemu by naming
 * it and putting the include of the rules before every closing brace at the
 * start of a line (9.x writes `#include`, later versions `#include if exists`).
 * Compared line by line, ignoring indentation and blank lines.
 */
export function isLibvirtHelperProfile(text: string, uuid: string, libvirtTemplate: string | undefined): boolean {
  if (libvirtTemplate === undefined || !libvirtTemplate.includes('\nprofile LIBVIRT_TEMPLATE')) return false;
  const name = profileName(uuid);
  const normal = (t: string): string =>
    t
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .join('\n');
  const named = libvirtTemplate.split('\nprofile LIBVIRT_TEMPLATE').join(`\nprofile ${name}`);
  return ['#include', '#include if exists'].some((include) => normal(named.split('\n}').join(`\n${include} <libvirt/${name}.files>\n}`)) === normal(text));
}

/**
 * apparmor_parser trusts its cache while the cache file is newer than the
 * profile and its includes. Rewriting identical text would make it stale, so
 * when the text is what the cache was compiled from, the old mtime goes back.
 */
function keepCacheValid(files: readonly string[], text: string, recordFile: string): void {
  const hash = sha256(text);
  let record: { sha256: string; mtimeMs: number } | undefined;
  try {
    record = JSON.parse(fs.readFileSync(recordFile, 'utf8')) as { sha256: string; mtimeMs: number };
  } catch {
    record = undefined;
  }
  if (record?.sha256 === hash) {
    const time = new Date(record.mtimeMs);
    for (const file of files) fs.utimesSync(file, time, time);
    return;
  }
  const mtimeMs = Math.max(...files.map((f) => fs.statSync(f).mtimeMs));
  writeFileAtomically(recordFile, `${JSON.stringify({ sha256: hash, mtimeMs })}\n`);
}

export type ProfileOrigin =
  /** made from our template, now or at an earlier start */
  | 'generated'
  /** edited by an administrator: kept and used */
  | 'admin-edited'
  /** made by libvirt's own virt-aa-helper before we took over: replaced by ours */
  | 'libvirt-replaced';

export interface InstallResult {
  /** Whether apparmor_parser ran (false: nothing changed and it is loaded). */
  readonly loaded: boolean;
  readonly origin: ProfileOrigin;
}

export interface InstallOptions {
  readonly complain: boolean;
  readonly isLoaded: (name: string) => boolean;
  readonly appended: readonly AppendedPath[];
}

/** Writes the rules (and the profile, unless an admin owns it) and loads them unless the kernel has exactly this already. */
export function installProfile(domain: Pick<Domain, 'uuid' | 'name' | 'id'>, mode: ProfileMode, rulesText: string, options: InstallOptions, context: StoreContext): InstallResult {
  const { uuid } = domain;
  const paths = profilePaths(context.apparmorDir, uuid);
  const previous = readState(context.stateDir, uuid);
  const generated = profileFromTemplate(uuid, context);
  const current = readText(paths.profile);
  const origin: ProfileOrigin =
    current === undefined || current === generated || sha256(current) === previous?.profileSha256
      ? 'generated'
      : isLibvirtHelperProfile(current, uuid, context.libvirtTemplate())
        ? 'libvirt-replaced'
        : 'admin-edited';
  const adminProfile = origin === 'admin-edited';
  // The include must exist before the profile that names it is compiled.
  const filesChanged = writeIfChanged(paths.files, rulesText);
  const profileChanged = adminProfile ? false : writeIfChanged(paths.profile, generated);
  const profileText = adminProfile ? (current ?? '') : generated;
  // Files left as they were kept their mtimes, and with them the cache: nothing to hash or record (start, mostly).
  if (filesChanged || profileChanged) keepCacheValid([paths.files, paths.profile], profileText + rulesText, path.join(context.cacheDir, `${profileName(uuid)}.source.json`));
  const unchanged = !filesChanged && !profileChanged && previous?.loaded === true && previous.mode === mode && options.isLoaded(profileName(uuid));
  if (!unchanged) context.loader.replace(paths.profile, { complain: options.complain });
  const state: DomainState = {
    uuid,
    name: domain.name,
    mode,
    profileFile: paths.profile,
    filesFile: paths.files,
    profileSha256: adminProfile ? (previous?.profileSha256 ?? '') : sha256(generated),
    loaded: true,
    appended: options.appended,
    domainId: domain.id ?? null,
  };
  writeState(context.stateDir, state);
  return { loaded: !unchanged, origin };
}

export interface Applied {
  readonly profile: Profile;
  readonly installed: InstallResult;
}

/** Synthesizes the domain's profile and puts it in place, under the domain's lock: before QEMU starts, and at every change while it runs. */
export function applyProfile(domain: Domain, mode: ProfileMode, deps: StoreDeps, appended: readonly AppendedPath[] = []): Applied {
  const { complain } = domainSettings(deps.config, domain.name, domain.uuid);
  return deps.lock(domain.uuid, () => {
    const { profile, text } = timed('synthesis', () => renderDomainRules(domain, deps, appended));
    const installed = installProfile(domain, mode, text, { complain, isLoaded: deps.isLoaded, appended }, deps.store);
    // Only a chain that is in place counts as seen: a refused or failed start records nothing.
    recordImageLocations(deps.config.paths.stateDir, domain.uuid, profile.imageDirs);
    return { profile, installed };
  });
}

/** Whether the domain has a placeholder: it is enrolled with a static label. */
export function hasPlaceholder(uuid: string, context: StoreContext): boolean {
  return fs.existsSync(profilePaths(context.apparmorDir, uuid).placeholder);
}

export function loadPlaceholder(uuid: string, context: StoreContext): void {
  const file = profilePaths(context.apparmorDir, uuid).placeholder;
  writeIfChanged(file, placeholderText(uuid));
  context.loader.replace(file);
}

export type RemoveOutcome =
  | 'removed'
  | 'not-loaded'
  /** a static label needs a loaded profile of its name: the deny-all placeholder */
  | 'placeholder'
  /** tasks still ran in the profile: unloading would have left them unconfined, so they are denied everything instead */
  | 'placeholder (tasks still attached)';

/**
 * Unloads the profile (with a static label, puts the placeholder back) and
 * removes what was generated. Safe to call twice and after a failed start.
 * A profile that still confines tasks is never unloaded: AppArmor would move
 * them to unconfined. It is replaced by the deny-all placeholder instead.
 */
export function removeProfile(uuid: string, mode: ProfileMode | undefined, deps: Pick<StoreDeps, 'isLoaded' | 'tasksOf' | 'store'>): RemoveOutcome {
  const { store: context } = deps;
  const paths = profilePaths(context.apparmorDir, uuid);
  const state = readState(context.stateDir, uuid);
  const name = profileName(uuid);
  let outcome: RemoveOutcome;
  if ((mode ?? state?.mode) === 'libvirt') {
    loadPlaceholder(uuid, context);
    outcome = 'placeholder';
  } else if (!deps.isLoaded(name)) {
    outcome = 'not-loaded';
  } else if (deps.tasksOf(uuid).length > 0) {
    loadPlaceholder(uuid, context);
    outcome = 'placeholder (tasks still attached)';
  } else {
    // apparmor_parser -R wants a file that defines the profile; its rules do not matter.
    const unloadFrom = fs.existsSync(paths.profile) ? paths.profile : paths.placeholder;
    if (!fs.existsSync(unloadFrom)) writeFileAtomically(unloadFrom, placeholderText(uuid));
    outcome = context.loader.remove(unloadFrom);
  }
  const current = readText(paths.profile);
  if (current !== undefined && (sha256(current) === state?.profileSha256 || isUnmodifiedTemplate(current, uuid, context))) removeIfExists(paths.profile);
  removeIfExists(paths.files);
  if (!outcome.startsWith('placeholder')) removeIfExists(paths.placeholder);
  removeState(context.stateDir, uuid);
  return outcome;
}

/** Without state (a start that failed early), a profile is ours if the template would make it as it is. */
function isUnmodifiedTemplate(text: string, uuid: string, context: StoreContext): boolean {
  try {
    return text === profileFromTemplate(uuid, context);
  } catch {
    return false;
  }
}

/** A file's text, or undefined when there is none (or it cannot be read). */
export function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
