// Parity with libvirt's virt-aa-helper: for every QEMU/KVM domain of the
// corpus that virt-aa-helper accepts, each path it grants must be granted by
// our complete profile too, or be refused by us, or be missing for a reason
// README.md states (lib/parity/reasons.ts).
//
//   npx tsx scripts/parity.ts [--json] [FILE...]     (default: the whole corpus)

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDomain } from '../lib/domain/parse.ts';
import { canonicalUuid } from '../lib/domain/parse-values.ts';
import { DomainRefusedError } from '../lib/errors.ts';
import { inlineProfileText, synthesizeProfile } from '../lib/generate.ts';
import { localFs } from '../lib/host/host-fs.ts';
import { defaultLayout } from '../lib/host/layout.ts';
import { bundledTemplateRelative } from '../lib/package-root.ts';
import { aareToRegExp, parseFileRules, parseVariables, samplePaths, type FileRule, type Variables } from '../lib/parity/aare.ts';
import { classifyMissing } from '../lib/parity/reasons.ts';
import { renderRules } from '../lib/profile/render.ts';
import { apparmorParser, checkoutRoot } from '../test/helpers/apparmor-parser.ts';
import { corpusFiles, qemuTypes, type CorpusFile } from '../test/helpers/corpus.ts';

/**
 * libvirt's own helper: where libvirt installs it, or where our installer
 * moved it aside when ours took its place (the file that is an ELF binary).
 */
export const virtAaHelper =
  ['/usr/lib/libvirt/virt-aa-helper.distrib', '/usr/lib/libvirt/virt-aa-helper'].find((file) => {
    try {
      return readFileSync(file).subarray(0, 4).toString('latin1') === '\x7fELF';
    } catch {
      return false;
    }
  }) ?? '/usr/lib/libvirt/virt-aa-helper';

export interface PathResult {
  /** libvirt's rule path, a pattern as it wrote it. */
  readonly rule: string;
  /** libvirt's permissions for it. */
  readonly perms: string;
  /** The concrete path checked (the rule itself unless it is a pattern). */
  readonly path: string;
  /** granted: ours gives at least libvirt's r/w; refused: ours refuses the whole domain. */
  readonly status: 'granted' | 'missing' | 'refused';
  /** The permission letters our profile gives the path. */
  readonly ours: string;
  /** libvirt's letters (r w a k l m) that ours lacks: the secondary, full-permission figure. */
  readonly lacking: string;
  /** For a missing path: the reason id from lib/parity/reasons.ts, or undefined when unexplained. */
  readonly category?: string | undefined;
}

export interface FileResult {
  readonly name: string;
  readonly helper: 'ok' | 'failed' | 'no-uuid';
  /** virt-aa-helper's last error line. */
  readonly helperError?: string;
  /** Our DomainRefusedError message when we refuse the domain. */
  readonly refusal?: string;
  /** Any other error of ours: a bug. */
  readonly error?: string;
  readonly paths: readonly PathResult[];
}

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], input: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    // A helper that exits before reading all of its input is not an error here.
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

/** Preprocessed profile text: every include inlined, the system's and our own apparmor.d. */
async function flatten(profileText: string): Promise<string> {
  if (apparmorParser === undefined) throw new Error('apparmor_parser is not installed (apt-get install apparmor)');
  const result = await run(apparmorParser, ['-p', '-I', path.join(checkoutRoot, 'apparmor.d')], profileText);
  if (result.code !== 0) throw new Error(`apparmor_parser -p failed: ${result.stderr.trim()}`);
  return result.stdout;
}

/** The tunables every profile includes, for libvirt's own `@{multiarch}` rules. */
let sampleVariables: Promise<Variables> | undefined;
function libvirtVariables(): Promise<Variables> {
  sampleVariables ??= flatten('#include <tunables/global>\n').then((text) => {
    const variables = parseVariables(text);
    // As a sample, one real multiarch directory rather than `x-linux-gnu`.
    variables.set('multiarch', ['x86_64-linux-gnu']);
    return variables;
  });
  return sampleVariables;
}

const regexCache = new Map<string, RegExp>();
function matcher(rule: FileRule, variables: Variables, variablesKey: string): RegExp {
  const key = `${variablesKey}\0${rule.path}`;
  let regex = regexCache.get(key);
  if (regex === undefined) {
    regex = aareToRegExp(rule.path, variables);
    regexCache.set(key, regex);
  }
  return regex;
}

/** Permission letters that matter for the comparison; exec modes count as `x`. */
function letters(perms: string): Set<string> {
  return new Set(perms.replace(/[iuUpPcC]?x/g, 'x').split('').filter((c) => 'rwaklmx'.includes(c)));
}

interface OurProfile {
  /** Permission letters granted to a concrete path: allow rules minus deny rules. */
  grants(path: string): Set<string>;
}

function ourProfile(flat: string, profileName: string): OurProfile {
  const variables = parseVariables(flat);
  const key = JSON.stringify([...variables]);
  // An owner rule grants only files QEMU's user owns, which a profile cannot
  // promise: as a grant it does not count, as a deny it does.
  const rules = parseFileRules(flat)
    .filter((r) => r.profile === profileName && (r.deny || !r.owner))
    .map((r) => ({ rule: r, regex: matcher(r, variables, key) }));
  return {
    grants(target) {
      const allowed = new Set<string>();
      const denied = new Set<string>();
      for (const { rule, regex } of rules) {
        if (!regex.test(target)) continue;
        for (const c of letters(rule.perms)) (rule.deny ? denied : allowed).add(c);
      }
      for (const c of denied) allowed.delete(c);
      return allowed;
    },
  };
}

/** virt-aa-helper's granted rules from its dry-run output, duplicates merged. */
function libvirtRules(stderr: string): readonly { readonly rule: string; readonly perms: string }[] {
  const merged = new Map<string, string>();
  for (const r of parseFileRules(stderr)) {
    if (r.deny) continue;
    merged.set(r.path, [...new Set([...(merged.get(r.path) ?? ''), ...r.perms])].join(''));
  }
  return [...merged].map(([rule, perms]) => ({ rule, perms }));
}

/** Our verdict on one libvirt path: primary on r/w, secondary on every letter. */
function verdict(rule: string, perms: string, target: string, ours: Set<string>, xml: string): PathResult {
  const wanted = letters(perms);
  const lacking = [...wanted].filter((c) => !ours.has(c) && !(c === 'a' && ours.has('w')));
  const granted = !lacking.some((c) => c === 'r' || c === 'w' || c === 'a');
  const base = { rule, perms, path: target, ours: [...ours].sort().join(''), lacking: lacking.join('') };
  return granted ? { ...base, status: 'granted' } : { ...base, status: 'missing', category: classifyMissing(rule, target, xml)?.id };
}

const template = readFileSync(path.join(checkoutRoot, bundledTemplateRelative), 'utf8');
const templatePath = path.join(checkoutRoot, bundledTemplateRelative);

type Ours = { readonly text: string; readonly name: string } | { readonly refusal: string } | { readonly error: string };

function generateOurs(xml: string): Ours {
  try {
    const profile = synthesizeProfile(parseDomain(xml), { fs: localFs('/'), layout: defaultLayout });
    return { text: inlineProfileText(profile, renderRules(profile), template, templatePath), name: profile.name };
  } catch (error) {
    if (error instanceof DomainRefusedError) return { refusal: error.message };
    return { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}

export async function compareFile(file: CorpusFile): Promise<FileResult> {
  const xml = readFileSync(file.file, 'utf8');
  const uuid = canonicalUuid(/<uuid>\s*([^<]*?)\s*<\/uuid>/.exec(xml)?.[1] ?? '');
  if (uuid === undefined) return { name: file.name, helper: 'no-uuid', paths: [] };
  const helper = await run(virtAaHelper, ['-d', '-r', '-u', `libvirt-${uuid}`], xml);
  if (helper.code !== 0) {
    const lastError = helper.stderr.split('\n').filter((l) => l.trim() !== '' && !/warning/.test(l)).at(-1);
    const helperError = lastError?.replace(/^virt-aa-helper: (error: )?/, '') ?? (helper.signal !== null ? `killed by ${helper.signal}` : `exit ${helper.code}`);
    return { name: file.name, helper: 'failed', helperError, paths: [] };
  }
  const variables = await libvirtVariables();
  const wanted = libvirtRules(helper.stderr).flatMap(({ rule, perms }) => samplePaths(rule, variables).map((target) => ({ rule, perms, target })));
  const ours = generateOurs(xml);
  if ('refusal' in ours || 'error' in ours) {
    const paths = wanted.map(({ rule, perms, target }): PathResult => ({ rule, perms, path: target, status: 'refused', ours: '', lacking: '' }));
    return { name: file.name, helper: 'ok', ...ours, paths };
  }
  const profile = ourProfile(await flatten(ours.text), ours.name);
  return { name: file.name, helper: 'ok', paths: wanted.map(({ rule, perms, target }) => verdict(rule, perms, target, profile.grants(target), xml)) };
}

/** Runs `work` over `items` with at most `limit` in flight, results in input order. */
async function pool<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** The corpus's QEMU/KVM domains, or the named files. */
export function parityInputs(names: readonly string[] = []): readonly CorpusFile[] {
  const corpus = corpusFiles();
  if (names.length === 0) return corpus.filter((f) => f.domainType !== undefined && qemuTypes.has(f.domainType));
  const byPath = new Map(corpus.map((f) => [f.file, f]));
  return names.map((n) => byPath.get(path.resolve(n)) ?? { file: path.resolve(n), name: n, libvirtAccepts: false, domainType: undefined });
}

export function compareFiles(files: readonly CorpusFile[]): Promise<FileResult[]> {
  return pool(files, availableParallelism() * 2, compareFile);
}

export interface Summary {
  readonly files: number;
  readonly noUuid: number;
  readonly helperFailures: number;
  readonly helperErrors: Readonly<Record<string, number>>;
  readonly compared: number;
  readonly oursRefused: number;
  readonly refusals: Readonly<Record<string, number>>;
  readonly oursErrors: number;
  readonly paths: number;
  readonly refusedPaths: number;
  readonly granted: number;
  /** Granted paths that also have every other letter libvirt gives (k, l, m). */
  readonly grantedAllPerms: number;
  /** Granted paths lacking letters, by the letters lacking. */
  readonly grantedLacking: Readonly<Record<string, number>>;
  readonly missing: Readonly<Record<string, number>>;
  readonly unexplained: number;
}

const countBy = <T>(items: readonly T[], key: (item: T) => string): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a, x], [b, y]) => y - x || a.localeCompare(b)));
};

export function summarize(results: readonly FileResult[]): Summary {
  const compared = results.filter((r) => r.helper === 'ok');
  const paths = compared.flatMap((r) => r.paths);
  const granted = paths.filter((p) => p.status === 'granted');
  const missing = paths.filter((p) => p.status === 'missing');
  return {
    files: results.length,
    noUuid: results.filter((r) => r.helper === 'no-uuid').length,
    helperFailures: results.filter((r) => r.helper === 'failed').length,
    helperErrors: countBy(results.filter((r) => r.helper === 'failed'), (r) => r.helperError ?? ''),
    compared: compared.length,
    oursRefused: compared.filter((r) => r.refusal !== undefined).length,
    refusals: countBy(compared.filter((r) => r.refusal !== undefined), (r) => r.refusal ?? ''),
    oursErrors: compared.filter((r) => r.error !== undefined).length,
    paths: paths.length,
    refusedPaths: paths.filter((p) => p.status === 'refused').length,
    granted: granted.length,
    grantedAllPerms: granted.filter((p) => p.lacking === '').length,
    grantedLacking: countBy(granted.filter((p) => p.lacking !== ''), (p) => p.lacking),
    missing: countBy(missing, (p) => p.category ?? 'UNEXPLAINED'),
    unexplained: missing.filter((p) => p.category === undefined).length,
  };
}

/** The summary as the lines the script prints. */
export function formatSummary(summary: Summary): string[] {
  return [
    `files: ${summary.files} QEMU/KVM domains, ${summary.noUuid} without a uuid, ${summary.helperFailures} refused by virt-aa-helper, ${summary.compared} compared`,
    ...Object.entries(summary.helperErrors).map(([message, n]) => `  ${n}  virt-aa-helper: ${message}`),
    `ours refuses ${summary.oursRefused} of them${summary.oursErrors > 0 ? `, and FAILS on ${summary.oursErrors}` : ''}:`,
    ...Object.entries(summary.refusals).map(([message, n]) => `  ${n}  ${message}`),
    `libvirt paths: ${summary.paths}; in refused domains ${summary.refusedPaths}; granted ${summary.granted} (${summary.grantedAllPerms} with every letter libvirt gives)`,
    ...Object.entries(summary.grantedLacking).map(([lacking, n]) => `  granted without ${lacking}: ${n}`),
    `missing: ${summary.paths - summary.refusedPaths - summary.granted}`,
    ...Object.entries(summary.missing).map(([category, n]) => `  ${n}  ${category}`),
    `unexplained missing: ${summary.unexplained}`,
  ];
}

/** What needs fixing: our failures and every unexplained missing path. */
export function problems(results: readonly FileResult[]): string[] {
  return results.flatMap((r) => [
    ...(r.error === undefined ? [] : [`ERROR ${r.name}: ${r.error}`]),
    ...r.paths
      .filter((p) => p.status === 'missing' && p.category === undefined)
      .map((p) => `UNEXPLAINED ${r.name}: "${p.rule}" ${p.perms} (checked ${JSON.stringify(p.path)}, ours: ${p.ours || 'nothing'})`),
  ]);
}

async function main(argv: readonly string[]): Promise<number> {
  if (!existsSync(virtAaHelper)) {
    process.stderr.write(`parity: ${virtAaHelper} is not installed (Debian: apt-get install libvirt-daemon)\n`);
    return 64;
  }
  const json = argv.includes('--json');
  const results = await compareFiles(parityInputs(argv.filter((a) => a !== '--json')));
  const summary = summarize(results);
  process.stdout.write(json ? `${JSON.stringify({ summary, files: results }, null, 2)}\n` : `${[...formatSummary(summary), ...problems(results)].join('\n')}\n`);
  return summary.unexplained === 0 && summary.oursErrors === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
