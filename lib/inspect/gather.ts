// The imperative shell of `doctor` and `status`: everything they know about
// the host is read here, once, into InspectFacts. Nothing here judges; the
// checks and status lines (lib/inspect/doctor.ts, status.ts) do, over these
// facts alone. Reads /proc, securityfs, libvirt's files, our files and logs,
// and runs apparmor_parser --version, node --version, dpkg-divert --list and
// `virsh capabilities` (doctor may ask libvirt: it is not a hook).

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDenials } from '../apparmor/denials.ts';
import { runCommand } from '../apparmor/runner.ts';
import { listStates, readState } from '../apparmor/state.ts';
import { appArmorEnabled, loadedProfiles, processLabel } from '../apparmor/status.ts';
import { definedDomains, domainsIn } from '../cli/maintenance.ts';
import { readLogs } from '../cli/denials.ts';
import { gatherSetupFacts } from '../cli/setup.ts';
import type { Config, DomainSettings } from '../config.ts';
import { canonicalUuid } from '../domain/parse-values.ts';
import type { Domain } from '../domain/types.ts';
import { describeError } from '../errors.ts';
import { planSetup } from '../host-setup.ts';
import { statusFilePid } from '../hook/deps.ts';
import { readDriverFacts, type DriverFacts } from '../hook/libvirt-driver.ts';
import { localFs } from '../host/host-fs.ts';
import { hasPlaceholder, profileFromTemplate, profilePaths, readText } from '../profile-store.ts';
import { storeContext } from '../store-deps.ts';
import type { Virsh } from '../virsh.ts';
import { daemonNames, helperProfileNames, type AbiFacts, type DaemonFact, type DaemonName, type DenialsFact, type DomainFacts, type FileFact, type HelperFacts, type InspectFacts, type LogFact, type NameKeyedEntry, type ProgramFact, type ServiceFacts } from './facts.ts';

export interface GatherOptions {
  readonly virsh: Virsh;
  /** Why the configuration file could not be used (config is then the defaults). */
  readonly configProblem?: string | undefined;
  /** Read the hook's log and the kernel's (status needs them; doctor does not). */
  readonly logs: boolean;
}

function fileFact(file: string): FileFact {
  let stats: fs.Stats;
  try {
    stats = fs.statSync(file);
  } catch {
    return { path: file, changedAtMs: undefined, executable: false, shebang: undefined, mentionsUs: false };
  }
  const text = stats.isFile() ? (readText(file) ?? '') : '';
  const first = text.slice(0, text.indexOf('\n') === -1 ? text.length : text.indexOf('\n'));
  return { path: file, changedAtMs: stats.ctimeMs, executable: stats.isFile() && (stats.mode & 0o111) !== 0, shebang: first.startsWith('#!') ? first : undefined, mentionsUs: text.includes('virt-aa-hook') };
}

/** A program's `--version`, the first match of `pattern` in what it printed. */
function programFact(program: string, pattern: RegExp): ProgramFact {
  const run = runCommand(program, ['--version']);
  const output = `${run.stdout}\n${run.stderr}`;
  const version = run.code === 0 ? pattern.exec(output)?.[1] : undefined;
  const problem = version !== undefined ? undefined : run.code === 0 ? `no version in "${output.trim().split('\n')[0] ?? ''}"` : (run.stderr.trim().split('\n')[0] ?? `exit ${run.code}`);
  return { path: program, version, problem };
}

function readDir(dir: string): readonly string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function abiFacts(config: Config): AbiFacts {
  const { paths } = config;
  const template = readText(path.join(paths.apparmorDir, 'virt-aa-hook', 'TEMPLATE.qemu'));
  const abi = template === undefined ? undefined : /^\s*abi\s+<([^>]+)>\s*,/m.exec(template)?.[1];
  const file = abi === undefined ? undefined : [paths.apparmorDir, ...paths.includeDirs].map((dir) => path.join(dir, abi)).find((f) => fs.existsSync(f));
  const features = path.join(paths.securityfs, 'features');
  return {
    template: abi,
    file,
    kernelFeatures: fs.existsSync(features) ? readDir(features) : undefined,
    featuresFile: paths.featuresFile === null ? undefined : { path: paths.featuresFile, exists: fs.existsSync(paths.featuresFile) },
  };
}

/** /proc/<pid>/comm of a process that runs, or undefined. */
const commOf = (pid: number): string | undefined => readText(`/proc/${pid}/comm`)?.trim();

/**
 * The system daemon of that name: the pid its pid file names (a daemon in
 * another mount namespace, such as a test's second libvirtd, has its own),
 * else a root process of that name in our mount namespace.
 */
function daemonPid(name: DaemonName): number | undefined {
  const fromFile = Number.parseInt(readText(`/run/${name}.pid`) ?? '', 10);
  if (Number.isInteger(fromFile) && commOf(fromFile) === name) return fromFile;
  const ownNamespace = readLink('/proc/self/ns/mnt');
  return readDir('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .find((pid) => commOf(pid) === name && /^Uid:\s+0\s/m.test(readText(`/proc/${pid}/status`) ?? '') && readLink(`/proc/${pid}/ns/mnt`) === ownNamespace);
}

function readLink(file: string): string | undefined {
  try {
    return fs.readlinkSync(file);
  } catch {
    return undefined;
  }
}

/**
 * When a process started, from its start time in clock ticks after boot
 * (/proc/<pid>/stat, field 22) and the uptime read now: precise to the tick,
 * where btime would round the boot to the second. Linux reports ticks in
 * USER_HZ, which is 100 on every architecture Debian builds libvirt for.
 */
function startedAt(pid: number, nowMs: number): number | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  const uptime = Number.parseFloat(readText('/proc/uptime') ?? '');
  // The command name may hold spaces and parentheses: fields count from the last ')'.
  const ticks = Number(stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  if (!Number.isFinite(ticks) || !Number.isFinite(uptime)) return undefined;
  return Math.round(nowMs - (uptime - ticks / 100) * 1000);
}

function daemonFacts(nowMs: number): readonly DaemonFact[] {
  return daemonNames.flatMap((name) => {
    const pid = daemonPid(name);
    if (pid === undefined) return [];
    const environ = readText(`/proc/${pid}/environ`);
    const pathEntry = environ?.split('\0').find((e) => e.startsWith('PATH='));
    return [{ name, pid, startedAtMs: startedAt(pid, nowMs), label: processLabel(pid), path: environ === undefined ? undefined : (pathEntry?.slice(5) ?? '') }];
  });
}

function serviceFacts(): ServiceFacts {
  const initScripts = new Map<DaemonName, string>();
  for (const name of daemonNames) if (fs.existsSync(`/etc/init.d/${name}`)) initScripts.set(name, `/etc/init.d/${name}`);
  return { systemd: fs.existsSync('/run/systemd/system'), initScripts };
}

/** The node a `#!` line names, asked for its version (not for `#!/usr/bin/env node`: that is the finding). */
function nodeFact(shebang: string | undefined): ProgramFact | undefined {
  if (shebang === undefined) return undefined;
  const program = shebang.slice(2).trim().split(/\s+/)[0] ?? '';
  if (program.endsWith('/env')) return { path: program, version: undefined, problem: 'runs node through env' };
  return programFact(program, /^(v\d+\.\d+\.\d+)/m);
}

/**
 * Whether the kernel has a profile exactly as its file compiles now. The
 * kernel keeps the SHA-1 of the policy it was given (securityfs `raw_sha1`),
 * and `apparmor_parser -S` writes the same bytes for the same text and
 * features (measured in the e2e guest). The time securityfs shows does not
 * tell: the kernel keeps the raw data of an identical reload, with its first
 * time. undefined when either side cannot be read.
 */
function profileIsCurrent(config: Config, profileFile: string, names: readonly string[]): boolean | undefined {
  const dir = path.join(config.paths.securityfs, 'policy', 'profiles');
  const entry = readDir(dir).find((e) => names.includes(readText(path.join(dir, e, 'name'))?.trim() ?? ''));
  const loaded = entry === undefined ? undefined : readText(path.join(dir, entry, 'raw_sha1'))?.trim();
  if (loaded === undefined || !/^[0-9a-f]{40}$/.test(loaded)) return undefined;
  // Binary output: not through runCommand, which reads text.
  const compiled = spawnSync(config.paths.apparmorParser, ['-S', '-K', profileFile], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 1024 * 1024 });
  if (compiled.status !== 0 || compiled.stdout.length === 0) return undefined;
  return createHash('sha1').update(compiled.stdout).digest('hex') === loaded;
}

function helperFacts(config: Config): HelperFacts {
  const { paths } = config;
  const divert = runCommand('dpkg-divert', ['--list', paths.libvirtHelper]);
  const overridePath = path.join(paths.apparmorDir, 'local', 'usr.lib.libvirt.virt-aa-helper');
  const override = readText(overridePath);
  return {
    atLibvirtPath: fileFact(paths.libvirtHelper),
    original: fileFact(paths.originalHelper),
    // 127: no dpkg-divert here.
    diversion: divert.code === 127 ? undefined : divert.stdout.trim(),
    override: { path: overridePath, hasBlock: override === undefined ? undefined : override.split('\n').includes('# BEGIN virt-aa-hook') },
    profileIsCurrent: override?.includes('# BEGIN virt-aa-hook') === true ? profileIsCurrent(config, path.join(paths.apparmorDir, 'usr.lib.libvirt.virt-aa-helper'), helperProfileNames) : undefined,
  };
}

function setupFacts(config: Config, driverFacts: DriverFacts): InspectFacts['setup'] {
  try {
    return { changes: planSetup(config.paths, gatherSetupFacts('', config, () => driverFacts), false) };
  } catch (error) {
    return { problem: describeError(error) };
  }
}

function domainFacts(config: Config): readonly DomainFacts[] {
  const store = storeContext(config);
  const hostFs = localFs('/');
  const byUuid = new Map<string, { definition?: Domain; live?: Domain }>();
  for (const definition of definedDomains(config)) byUuid.set(definition.uuid, { definition });
  for (const live of domainsIn(config.layout.qemuRunDir)) byUuid.set(live.uuid, { ...byUuid.get(live.uuid), live });
  const libvirtTemplate = store.libvirtTemplate();
  return [...byUuid].flatMap(([uuid, { definition, live }]) => {
    const name = live?.name ?? definition?.name;
    if (name === undefined) return [];
    const pid = live === undefined ? undefined : statusFilePid(hostFs, config.layout.qemuRunDir, name);
    const files = profilePaths(config.paths.apparmorDir, uuid);
    let fromTemplate: string | undefined;
    try {
      fromTemplate = profileFromTemplate(uuid, store);
    } catch {
      fromTemplate = undefined;
    }
    return [
      {
        name,
        uuid,
        definition,
        live,
        pid,
        label: pid === undefined ? undefined : processLabel(pid),
        profile: { text: readText(files.profile), files: readText(files.files), fromTemplate, libvirtTemplate, state: readState(config.paths.stateDir, uuid), placeholder: hasPlaceholder(uuid, store) },
      },
    ];
  }).sort((a, b) => a.name.localeCompare(b.name));
}

/** UUIDs with a profile or rules file of ours (or libvirt's) in `<apparmorDir>/libvirt`. */
function profileFileUuids(apparmorDir: string): readonly string[] {
  const uuids = readDir(path.join(apparmorDir, 'libvirt')).flatMap((entry) => {
    const uuid = /^libvirt-([0-9a-f-]{36})(\.files)?$/.exec(entry)?.[1];
    return uuid !== undefined && canonicalUuid(uuid) === uuid ? [uuid] : [];
  });
  return [...new Set(uuids)];
}

/** The configuration's entries keyed by a domain name, with their UUID pin. */
function nameKeyedEntries(domains: ReadonlyMap<string, DomainSettings>): readonly NameKeyedEntry[] {
  return [...domains].flatMap(([key, settings]): NameKeyedEntry[] => (canonicalUuid(key) !== undefined ? [] : [{ key, uuid: settings.uuid }]));
}

/**
 * The hook's and our helper's lines: `paths.logFile` when set, else the
 * system log (journald, then the files syslog daemons write). Says what it
 * read, or what it tried.
 */
function readHookLog(config: Config): LogFact {
  const tried: string[] = [];
  const logFile = config.paths.logFile;
  if (logFile !== null) {
    const text = readText(logFile);
    if (text !== undefined) return { source: logFile, lines: text.split('\n') };
    tried.push(`${logFile}: cannot be read`);
  }
  const journal = runCommand('journalctl', ['-t', 'virt-aa-hook', '-o', 'short-iso', '--no-pager', '-q']);
  if (journal.code === 0 && journal.stdout.trim() !== '') return { source: 'journalctl -t virt-aa-hook', lines: journal.stdout.split('\n') };
  tried.push(`journalctl: ${journal.code === 0 ? 'no lines' : (journal.stderr.trim().split('\n')[0] ?? `exit ${journal.code}`)}`);
  for (const file of ['/var/log/syslog', '/var/log/messages']) {
    const text = readText(file);
    if (text === undefined) continue;
    const lines = text.split('\n').filter((l) => /\bvirt-aa-hook(\[\d+\])?: /.test(l));
    if (lines.length > 0) return { source: file, lines };
    tried.push(`${file}: no lines of virt-aa-hook`);
  }
  return { source: undefined, problem: `tried ${tried.join('; ')}` };
}

function readDenials(): DenialsFact {
  try {
    const { source, text } = readLogs(undefined);
    return { source, denials: parseDenials(text) };
  } catch (error) {
    return { source: undefined, problem: describeError(error) };
  }
}

export function gatherFacts(config: Config, configFile: string, options: GatherOptions): InspectFacts {
  const nowMs = Date.now();
  const loaded = loadedProfiles(config.paths);
  const driverFacts = readDriverFacts(localFs('/'), config.paths.libvirtConfigDir, loaded);
  const hook = fileFact(path.join(config.paths.libvirtConfigDir, 'hooks', 'qemu'));
  let capabilities: InspectFacts['capabilities'];
  try {
    capabilities = { text: options.virsh.run(['capabilities']) };
  } catch (error) {
    capabilities = { problem: describeError(error) };
  }
  const notRead = { source: undefined, problem: 'not read' } as const;
  return {
    nowMs,
    root: process.getuid?.() === 0,
    configFile,
    config,
    configProblem: options.configProblem,
    appArmor: appArmorEnabled(config.paths),
    parser: programFact(config.paths.apparmorParser, /version (\d+\.\d+(?:\.\d+)?)/),
    abi: abiFacts(config),
    loadedProfiles: loaded,
    driverFacts,
    daemons: daemonFacts(nowMs),
    service: serviceFacts(),
    capabilities,
    hook,
    node: nodeFact(hook.shebang),
    helper: helperFacts(config),
    setup: setupFacts(config, driverFacts),
    domains: domainFacts(config),
    states: listStates(config.paths.stateDir),
    profileFiles: profileFileUuids(config.paths.apparmorDir),
    nameKeyedEntries: nameKeyedEntries(config.domains),
    hookLog: options.logs ? readHookLog(config) : notRead,
    denials: options.logs ? readDenials() : notRead,
  };
}
