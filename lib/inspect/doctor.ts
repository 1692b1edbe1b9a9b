// `virt-aa-hook doctor`: every precondition of confinement on this host,
// each a pure function of the gathered facts, with its state and, when it
// fails, the exact command or line that fixes it.

import { daemonPath } from '../daemon-path.ts';
import { enrolledMode } from '../hook/confinement.ts';
import { driverIsActive } from '../hook/libvirt-driver.ts';
import { profileName } from '../profile/synthesize.ts';
import { commandLine, programLine, shellWord } from '../shell-words.ts';
import { helperProfileNames, type DaemonFact, type InspectFacts } from './facts.ts';
import { domainConfinement, helperIsOurs, type UnconfinedCause } from './status.ts';

/** fail: not confined as it should be (exit 1); warn: works, but look; skip: does not apply here. */
export type CheckState = 'ok' | 'warn' | 'fail' | 'skip';

export interface Check {
  readonly id: string;
  /** What is checked. */
  readonly title: string;
  readonly state: CheckState;
  /** What was found, one line. */
  readonly detail: string;
  /** The exact commands or lines that fix it; empty unless it failed or warns. */
  readonly fix: readonly string[];
}

const result = (id: string, title: string) => (state: CheckState, detail: string, fix: readonly string[] = []): Check => ({ id, title, state, detail, fix });

const reinstall = 'run scripts/install from the virt-aa-hook checkout again (or reinstall its package)';

/** The daemons' path the hook and setup decide on. */
const driverActive = (facts: InspectFacts): boolean => driverIsActive(facts.config, () => facts.driverFacts);

/**
 * The command that restarts a daemon so that it reads its hooks and its PATH
 * again (running guests survive it). A SIGHUP would do for the hooks, but
 * leaves no trace doctor can see; without the driver the PATH must have the
 * wrappers first.
 */
export function restartCommand(facts: InspectFacts, daemon: DaemonFact): string {
  if (facts.service.systemd) return `systemctl daemon-reload && systemctl restart ${daemon.name}`;
  const script = facts.service.initScripts.get(daemon.name);
  if (script !== undefined) return `${script} restart`;
  const path = driverActive(facts) ? '' : `PATH=${daemonPath(facts.config.paths.emulatorDir)} `;
  return `kill ${daemon.pid}; ${path}${daemon.name} -d`;
}

function startCommand(facts: InspectFacts): string {
  if (facts.service.systemd) return 'systemctl start libvirtd (or virtqemud, on a modular libvirt)';
  const script = facts.service.initScripts.get('libvirtd');
  if (script !== undefined) return `${script} start`;
  return `${driverActive(facts) ? '' : `PATH=${daemonPath(facts.config.paths.emulatorDir)} `}libvirtd -d`;
}

const describeDaemon = (d: DaemonFact): string => `${d.name} (pid ${d.pid})`;
const when = (ms: number): string => new Date(ms).toISOString();

export function checkConfig(facts: InspectFacts): Check {
  const check = result('config', 'the configuration is valid');
  if (facts.configProblem !== undefined) return check('fail', `${facts.configProblem}: the hook refuses every start with it, and doctor checked the rest with the defaults`, [`correct ${facts.configFile} as the message says`]);
  const { policy, loader, libvirtDriver } = facts.config;
  return check('ok', `${facts.configFile}: "policy": "${policy}", "loader": "${loader}", "libvirtDriver": "${libvirtDriver}"`);
}

export function checkAppArmor(facts: InspectFacts): Check {
  const check = result('apparmor', 'AppArmor is enabled');
  if (facts.appArmor.enabled) return check('ok', `AppArmor is enabled (${facts.config.paths.securityfs})`);
  const { reason } = facts.appArmor;
  const fix = reason.includes('securityfs')
    ? [`mount -t securityfs securityfs ${facts.config.paths.securityfs.replace(/\/apparmor$/, '')}`]
    : ['boot a kernel with AppArmor (Debian\'s linux-image-amd64) with "apparmor=1 security=apparmor" on its command line: add them to GRUB_CMDLINE_LINUX in /etc/default/grub, run update-grub, reboot'];
  if (facts.config.loader === 'compile-only') {
    return check('warn', `AppArmor is not enabled (${reason}); "loader": "compile-only" in ${facts.configFile}: profiles are compiled, never loaded, and no domain is confined`, fix);
  }
  return check('fail', `AppArmor is not enabled (${reason}): every domain runs unconfined`, fix);
}

export function checkParser(facts: InspectFacts): Check {
  const check = result('parser', 'apparmor_parser runs');
  const { parser } = facts;
  if (parser.version === undefined) return check('fail', `cannot run ${parser.path}: ${parser.problem ?? 'no version'}`, ['apt-get install apparmor']);
  const major = Number(/^(\d+)\./.exec(parser.version)?.[1] ?? '0');
  // The template's `abi <abi/3.0>,` and `include if exists` need AppArmor 3.
  if (major < 3) return check('fail', `${parser.path} is version ${parser.version}; virt-aa-hook's profiles need 3.0 or newer`, ['apt-get install apparmor (3.0 or newer)']);
  return check('ok', `${parser.path} version ${parser.version}`);
}

export function checkAbi(facts: InspectFacts): Check {
  const check = result('abi', 'the feature ABI of our template');
  const { abi } = facts;
  if (abi.template === undefined) return check('fail', `our template ${facts.config.paths.apparmorDir}/virt-aa-hook/TEMPLATE.qemu names no "abi <...>," or cannot be read`, [reinstall]);
  if (abi.file === undefined) return check('fail', `abi <${abi.template}> is in neither ${facts.config.paths.apparmorDir} nor the include directories: apparmor_parser cannot compile our profiles`, ['apt-get install apparmor (3.0 or newer: it ships /etc/apparmor.d/abi/3.0)']);
  const kernel = abi.kernelFeatures === undefined ? 'the kernel lists no features' : `the kernel has ${abi.kernelFeatures.join(', ')}`;
  if (abi.featuresFile !== undefined) {
    if (!abi.featuresFile.exists) return check('fail', `paths.featuresFile names ${abi.featuresFile.path}, which does not exist`, [`set "paths": {"featuresFile": null} in ${facts.configFile}, or point it at an existing features file`]);
    return check('ok', `abi <${abi.template}> (${abi.file}); profiles are compiled for the features in ${abi.featuresFile.path}; ${kernel}`);
  }
  if (abi.kernelFeatures === undefined && facts.appArmor.enabled) return check('fail', `abi <${abi.template}> (${abi.file}), but ${kernel}: apparmor_parser cannot tell what to compile for`, [`mount -t securityfs securityfs /sys/kernel/security`]);
  return check('ok', `abi <${abi.template}> (${abi.file}); ${kernel}`);
}

export function checkDaemon(facts: InspectFacts): Check {
  const check = result('daemon', 'a libvirt daemon runs');
  if (facts.daemons.length === 0) return check('fail', 'neither libvirtd nor virtqemud runs (or their processes cannot be read: run as root)', [startCommand(facts)]);
  const described = facts.daemons.map((d) => `${describeDaemon(d)}, ${d.label === undefined || d.label === 'unconfined' ? 'unconfined' : `confined as ${JSON.stringify(d.label)}`}${d.startedAtMs === undefined ? '' : `, started ${when(d.startedAtMs)}`}`);
  return check('ok', described.join('; '));
}

/** Why libvirt's driver counts as off here, for an admin. */
function driverOffReason(facts: InspectFacts): string {
  if (facts.config.libvirtDriver === 'inactive') return `"libvirtDriver": "inactive" in ${facts.configFile}`;
  const confined = ['libvirtd', '/usr/sbin/libvirtd', 'virtqemud', '/usr/sbin/virtqemud'].some((p) => facts.driverFacts.loadedProfiles.has(p));
  return confined ? 'qemu.conf\'s security_driver leaves AppArmor out' : 'no AppArmor profile of libvirtd or virtqemud is loaded';
}

export function checkConfinementPath(facts: InspectFacts): Check {
  const check = result('confinement-path', 'the confinement path');
  const ours = driverActive(facts);
  const described = ours ? "libvirt's AppArmor driver, which runs virt-aa-hook's virt-aa-helper for every domain" : `the emulator wrappers first in the daemon's PATH (libvirt's AppArmor driver is not active: ${driverOffReason(facts)})`;
  if (!('text' in facts.capabilities)) return check(facts.daemons.length === 0 ? 'skip' : 'ok', `${described}; libvirt itself not asked (virsh capabilities: ${facts.capabilities.problem})`);
  const libvirts = /<secmodel>\s*<model>apparmor<\/model>/.test(facts.capabilities.text);
  if (ours === libvirts) return check('ok', described);
  const daemons = facts.daemons.map((d) => restartCommand(facts, d));
  if (ours) {
    const fix = facts.config.libvirtDriver === 'active' ? [`set "libvirtDriver": "auto" in ${facts.configFile}`] : daemons;
    return check('fail', "virt-aa-hook takes libvirt's AppArmor driver as active, but the running daemon does not use it (virsh capabilities names no apparmor secmodel: it started before its profile was loaded): domains start unconfined, or are refused", fix);
  }
  const fix = facts.config.libvirtDriver === 'inactive' ? [`set "libvirtDriver": "auto" in ${facts.configFile}`] : [`set "libvirtDriver": "active" in ${facts.configFile}`];
  return check('fail', `libvirt's AppArmor driver labels domains (virsh capabilities names the apparmor secmodel), but virt-aa-hook takes it as inactive (${driverOffReason(facts)}): the hook and setup act for the wrong path`, fix);
}

export function checkHook(facts: InspectFacts): Check {
  const check = result('hook', 'the hook is installed');
  const { hook } = facts;
  if (hook.changedAtMs === undefined) return check('fail', `there is no ${hook.path}: libvirt runs no virt-aa-hook hook`, [reinstall]);
  if (!hook.mentionsUs || hook.shebang === undefined) return check('fail', `${hook.path} is not virt-aa-hook's hook`, [reinstall]);
  if (!hook.executable) return check('fail', `${hook.path} is not executable: libvirt skips it`, [`chmod 0755 ${shellWord(hook.path)}`]);
  return check('ok', `${hook.path}, changed ${when(hook.changedAtMs)}`);
}

export function checkHookSeen(facts: InspectFacts): Check {
  const check = result('hook-seen', 'the running daemon sees the hook');
  const changed = facts.hook.changedAtMs;
  if (changed === undefined) return check('skip', `there is no ${facts.hook.path}`);
  if (facts.daemons.length === 0) return check('skip', 'no libvirt daemon runs');
  // libvirt looks for hooks when it starts (and on SIGHUP): a hook that changed since may be one it never saw.
  const blind = facts.daemons.filter((d) => d.startedAtMs === undefined || d.startedAtMs < changed);
  if (blind.length === 0) return check('ok', `${facts.daemons.map(describeDaemon).join(', ')} started after ${facts.hook.path} last changed (${when(changed)})`);
  const detail = blind.map((d) => (d.startedAtMs === undefined ? `${describeDaemon(d)}: its start time cannot be read` : `${describeDaemon(d)} started ${when(d.startedAtMs)}, before ${facts.hook.path} last changed (${when(changed)})`));
  return check('fail', `${detail.join('; ')}: libvirt finds hooks only when it starts, so it may not run this one`, blind.map((d) => restartCommand(facts, d)));
}

/** `v20.11.1` to [20, 11, 1]. */
const versionParts = (version: string): readonly number[] => (/^v?(\d+)\.(\d+)\.(\d+)/.exec(version)?.slice(1) ?? []).map(Number);

export function checkNode(facts: InspectFacts): Check {
  const check = result('node', "the hook's Node.js (18.19 or newer)");
  const { node, hook } = facts;
  if (hook.changedAtMs === undefined) return check('skip', `there is no ${hook.path}`);
  const fix = ['install Node.js 18.19 or newer, then run scripts/install --node /path/to/node from the virt-aa-hook checkout (it writes the shebang)'];
  if (node === undefined) return check('fail', `${hook.path} has no "#!" line`, fix);
  // `#!/usr/bin/env node` would run node through a confined libvirtd's `/usr/bin/* PUx` rule, unconfined.
  if (/\/env$/.test(node.path)) return check('fail', `${hook.path} runs node through ${node.path}: under a confined libvirtd it would run unconfined`, fix);
  if (node.version === undefined) return check('fail', `the hook's shebang names ${node.path}, which does not run: ${node.problem ?? 'no version'}`, fix);
  const [major = 0, minor = 0] = versionParts(node.version);
  if (major < 18 || (major === 18 && minor < 19)) return check('fail', `the hook runs on ${node.path} ${node.version}; virt-aa-hook needs Node.js 18.19 or newer`, fix);
  return check('ok', `${node.path} ${node.version}`);
}

const driverOnly = (facts: InspectFacts, id: string, title: string): Check | undefined =>
  driverActive(facts) ? undefined : result(id, title)('skip', "libvirt's AppArmor driver is not active: domains are confined through the wrappers");

export function checkHelper(facts: InspectFacts): Check {
  const title = "virt-aa-hook's virt-aa-helper in libvirt's place";
  const skipped = driverOnly(facts, 'helper', title);
  if (skipped !== undefined) return skipped;
  const check = result('helper', title);
  const { helper } = facts;
  const at = helper.atLibvirtPath.path;
  if (!helperIsOurs(helper)) {
    const what = helper.atLibvirtPath.changedAtMs === undefined ? `there is no virt-aa-helper at ${at}: libvirt's driver cannot start any domain` : `${at} is libvirt's own virt-aa-helper: domains get libvirt's profiles, not virt-aa-hook's`;
    return check('fail', what, [reinstall]);
  }
  const aside = helper.diversion === undefined ? undefined : helper.diversion === '' ? undefined : helper.diversion.trim();
  if (helper.original.changedAtMs === undefined) {
    return check('warn', `ours is at ${at}, but libvirt's own is not at ${helper.original.path}: LXC domains, which ours hands to it, cannot start`, [reinstall]);
  }
  if (helper.diversion === '') {
    return check('warn', `ours is at ${at} and libvirt's at ${helper.original.path}, but dpkg has no diversion of ${at}: a libvirt upgrade puts libvirt's back`, [`dpkg-divert --local --divert ${shellWord(helper.original.path)} --add ${shellWord(at)}`]);
  }
  return check('ok', `ours at ${at}, libvirt's at ${helper.original.path}${aside === undefined ? '' : ` (${aside})`}`);
}

export function checkHelperProfile(facts: InspectFacts): Check {
  const title = "libvirt's profile for virt-aa-helper has our block, loaded";
  const skipped = driverOnly(facts, 'helper-profile', title);
  if (skipped !== undefined) return skipped;
  const check = result('helper-profile', title);
  const { override, profileIsCurrent } = facts.helper;
  const profile = `${facts.config.paths.apparmorDir}/usr.lib.libvirt.virt-aa-helper`;
  if (override.hasBlock !== true) return check('fail', `${override.path} ${override.hasBlock === undefined ? 'does not exist' : 'has no virt-aa-hook block'}: libvirt's profile denies our helper node and our files`, [reinstall]);
  if (!facts.appArmor.enabled) return check('skip', `the block is in ${override.path}; AppArmor is not enabled, so nothing is loaded`);
  const loaded = helperProfileNames.find((name) => facts.loadedProfiles.has(name));
  const reload = `apparmor_parser -r ${profile}`;
  if (loaded === undefined) return check('fail', `the block is in ${override.path}, but no virt-aa-helper profile is loaded: libvirt cannot run the helper`, [reload]);
  if (profileIsCurrent === false) return check('fail', `the kernel's ${loaded} is not what ${profile} compiles to now: it was loaded before our block (or another change) went in`, [reload]);
  return check('ok', `the block is in ${override.path}; ${loaded} is loaded${profileIsCurrent === true ? ', exactly as its files compile now' : ' (whether as its files compile now, the kernel does not say)'}`);
}

export function checkSetup(facts: InspectFacts): Check {
  const check = result('setup', "the emulator wrappers and the daemons' PATH drop-in are in line");
  if (!('changes' in facts.setup)) return check('fail', `cannot tell: ${facts.setup.problem}`, [reinstall]);
  const { changes } = facts.setup;
  if (changes.length === 0) return check('ok', `${facts.config.paths.emulatorDir} wraps every emulator; the PATH drop-in is ${driverActive(facts) ? 'absent (libvirt\'s driver is active)' : 'in place'}`);
  const verbs = { write: 'would write', touch: 'would touch', remove: 'would remove' } as const;
  return check('fail', changes.map((c) => `${verbs[c.kind]} ${c.path}: ${c.why}`).join('; '), ['virt-aa-hook setup']);
}

export function checkDaemonPath(facts: InspectFacts): Check {
  const check = result('daemon-path', "the daemon's PATH");
  if (facts.daemons.length === 0) return check('skip', 'no libvirt daemon runs');
  const dir = facts.config.paths.emulatorDir;
  const want = !driverActive(facts);
  const unread = facts.daemons.filter((d) => d.path === undefined);
  const wrong = facts.daemons.filter((d) => d.path !== undefined && (d.path.split(':')[0] === dir) !== want);
  if (wrong.length === 0 && unread.length === facts.daemons.length) return check('skip', "the daemons' environment cannot be read (run as root)");
  if (wrong.length === 0) {
    return check('ok', `${facts.daemons.filter((d) => d.path !== undefined).map(describeDaemon).join(', ')}: ${want ? `${dir} first in PATH` : `PATH without ${dir} first (libvirt's driver is active)`}`);
  }
  const detail = wrong.map((d) => `${describeDaemon(d)} runs with PATH=${d.path ?? ''}`).join('; ');
  const effect = want ? `: libvirt finds the real emulators, and new domains are not confined` : `: libvirt names the wrappers in new domains, which its AppArmor driver cannot run`;
  return check('fail', detail + effect, wrong.map((d) => restartCommand(facts, d)));
}

export function checkCapabilities(facts: InspectFacts): Check {
  const check = result('capabilities', 'virsh capabilities names the emulators new domains get');
  if (!('text' in facts.capabilities)) return check(facts.daemons.length === 0 ? 'skip' : 'fail', `virsh capabilities failed: ${facts.capabilities.problem}`, facts.daemons.length === 0 ? [] : ['virsh --connect qemu:///system capabilities (as root) to see why']);
  const emulators = [...new Set([...facts.capabilities.text.matchAll(/<emulator>([^<]+)<\/emulator>/g)].map((m) => m[1] ?? ''))];
  const dir = `${facts.config.paths.emulatorDir}/`;
  const want = !driverActive(facts);
  const wrong = emulators.filter((e) => e.startsWith(dir) !== want);
  if (emulators.length === 0) return check('warn', 'virsh capabilities names no emulator: libvirt found no QEMU', ['apt-get install qemu-system-x86 (or the emulators of the guests)']);
  if (wrong.length === 0) return check('ok', emulators.join(', '));
  const effect = want ? 'these are not our wrappers: new domains name them and run unconfined (or are refused)' : "these are our wrappers: new domains name them, and libvirt's driver cannot run them";
  return check('fail', `${wrong.join(', ')}: ${effect}`, facts.daemons.map((d) => restartCommand(facts, d)));
}

export function checkRunningDomains(facts: InspectFacts): Check {
  const check = result('running-domains', 'running domains are confined');
  const running = facts.domains.filter((d) => d.live !== undefined);
  if (running.length === 0) return check('ok', 'no domain runs');
  const views = running.map((d) => ({ d, view: domainConfinement(facts, d) }));
  // With AppArmor off every QEMU is unconfined: the apparmor check says so; here only what AppArmor alone would not fix.
  const bad = views.filter(({ view }) => view.by === 'none' && view.cause !== 'apparmor-off');
  const byChoice = views.filter(({ view }) => view.by === 'none-by-choice').map(({ d }) => d.name);
  const note = byChoice.length === 0 ? '' : `; unconfined by choice: ${byChoice.join(', ')}`;
  if (bad.length === 0) {
    const onPath = views.filter(({ view }) => view.by !== 'none-by-choice').map(({ d }) => d.name);
    const how = facts.appArmor.enabled ? 'in their profiles' : 'on a confinement path (their labels say nothing: AppArmor is not enabled)';
    return check('ok', `${how}: ${onPath.length === 0 ? 'none' : onPath.join(', ')}${note}`);
  }
  return check('fail', bad.map(({ d, view }) => `'${d.name}' ${view.text}`).join('; ') + note, bad.flatMap(({ d, view }) => unconfinedFix(facts, d.name, view.cause)));
}

/** The exact commands for an unconfined running domain; its next start must go through a confinement path. */
function unconfinedFix(facts: InspectFacts, name: string, cause: UnconfinedCause | undefined): readonly string[] {
  const restart = [programLine('virsh', 'shutdown', [name]), `${programLine('virsh', 'start', [name])}   # once it is shut off`];
  switch (cause) {
    case 'not-enrolled':
      return [`${commandLine('enroll', [name])}   # or "confine": false for it in ${facts.configFile}`, ...restart];
    case 'wrapper-under-driver':
      return [commandLine('unenroll', [name]), ...restart];
    case 'seclabel-none':
      return [`${programLine('virsh', 'edit', [name])}   # remove <seclabel type='none'/>`, ...restart];
    case 'not-labelled':
      return [...facts.daemons.map((d) => restartCommand(facts, d)), ...restart];
    default:
      return restart;
  }
}

export function checkStaleProfiles(facts: InspectFacts): Check {
  const check = result('stale-profiles', 'no profiles of domains that no longer exist');
  const known = new Set(facts.domains.map((d) => d.uuid));
  const running = new Set(facts.domains.filter((d) => d.live !== undefined).map((d) => d.uuid));
  const staticLabel = new Set(facts.domains.filter((d) => d.definition !== undefined && enrolledMode(d.definition, facts.config) === 'libvirt').map((d) => d.uuid));
  const loaded = [...facts.loadedProfiles.keys()].flatMap((p) => /^libvirt-([0-9a-f-]{36})$/.exec(p)?.[1] ?? []);
  const stateOf = new Map(facts.states.map((s) => [s.uuid, s] as const));
  const uuids = [...new Set([...facts.states.map((s) => s.uuid), ...facts.profileFiles, ...loaded])].sort();
  const lines: string[] = [];
  const fix: string[] = [];
  const dir = `${facts.config.paths.apparmorDir}/libvirt`;
  for (const uuid of uuids) {
    const isLoaded = loaded.includes(uuid);
    const gone = !known.has(uuid);
    // A static label needs a profile of its name loaded while the domain is down: the placeholder.
    const stopped = !gone && !running.has(uuid) && isLoaded && !staticLabel.has(uuid);
    if (!gone && !stopped) continue;
    const state = stateOf.get(uuid);
    const what = [isLoaded ? 'loaded' : undefined, facts.profileFiles.includes(uuid) ? `files in ${dir}` : undefined, state === undefined ? undefined : `state of '${state.name}'`].filter((w) => w !== undefined).join(', ');
    lines.push(`${profileName(uuid)} (${what}): ${gone ? 'libvirt has no such domain' : 'its domain does not run'}`);
    if (state !== undefined) fix.push('virt-aa-hook gc');
    else {
      const file = `${dir}/${profileName(uuid)}`;
      if (isLoaded) fix.push(facts.profileFiles.includes(uuid) ? `apparmor_parser -R ${file}` : `printf '%s' ${profileName(uuid)} > ${facts.config.paths.securityfs}/.remove`);
      if (gone && facts.profileFiles.includes(uuid)) fix.push(`rm -f ${file} ${file}.files`);
    }
  }
  if (lines.length === 0) return check('ok', `${uuids.length} profile(s), each of a domain libvirt has`);
  return check('fail', lines.join('; '), [...new Set(fix)]);
}

export function checkStaticLabels(facts: InspectFacts): Check {
  const check = result('static-labels', 'no static-label domains of earlier versions');
  const labelled = facts.domains.filter((d) => d.definition !== undefined && enrolledMode(d.definition, facts.config) === 'libvirt');
  if (labelled.length === 0) return check('ok', 'none');
  const names = labelled.map((d) => `'${d.name}'`).join(', ');
  const fix = labelled.map((d) => commandLine('unenroll', [d.name]));
  // Without libvirt's driver libvirt refuses the label's model at start; with it the label still confines, in a retired mode.
  if (!driverActive(facts)) return check('fail', `${names} carry a static AppArmor label, which libvirt cannot honour without its AppArmor driver: they do not start`, fix);
  return check('warn', `${names} carry a static AppArmor label (enroll --mode libvirt of an earlier version, a retired mode); libvirt's driver and our helper confine them without it`, fix);
}

export function checkWrappersUnderDriver(facts: InspectFacts): Check {
  const title = "no domain names a wrapper where libvirt's driver is active";
  const check = result('wrappers-under-driver', title);
  if (!driverActive(facts)) return check('skip', "libvirt's AppArmor driver is not active: the wrappers are the path");
  const named = facts.domains.filter((d) => d.definition !== undefined && enrolledMode(d.definition, facts.config) === 'wrapper');
  if (named.length === 0) return check('ok', 'none');
  return check('fail', `${named.map((d) => `'${d.name}' (${d.definition?.emulator ?? ''})`).join(', ')}: libvirt's driver would run the wrapper inside the domain's profile, which runs no shell; the hook refuses their start`, named.map((d) => commandLine('unenroll', [d.name])));
}

export function checkConfigPins(facts: InspectFacts): Check {
  const check = result('config-pins', 'name-keyed configuration entries are pinned to a UUID');
  const unpinned = facts.nameKeyedEntries.filter((e) => e.uuid === undefined);
  if (unpinned.length === 0) return check('ok', facts.nameKeyedEntries.length === 0 ? 'no entry is keyed by a name' : 'every name-keyed entry names its UUID');
  const fix = unpinned.map((e) => {
    const uuid = facts.domains.find((d) => d.name === e.key)?.uuid;
    return uuid === undefined ? `key domains.${JSON.stringify(e.key)} by its domain's UUID in ${facts.configFile}` : `add "uuid": "${uuid}" to domains.${JSON.stringify(e.key)} in ${facts.configFile}`;
  });
  return check('warn', `${unpinned.map((e) => JSON.stringify(e.key)).join(', ')}: a domain defined later under a freed name would get these settings`, fix);
}

/** Every check, in the order an admin fixes them: the configuration, the kernel, the daemon, our files, then the domains. */
export const checks: readonly ((facts: InspectFacts) => Check)[] = [
  checkConfig,
  checkAppArmor,
  checkParser,
  checkAbi,
  checkDaemon,
  checkConfinementPath,
  checkHook,
  checkHookSeen,
  checkNode,
  checkHelper,
  checkHelperProfile,
  checkSetup,
  checkDaemonPath,
  checkCapabilities,
  checkRunningDomains,
  checkStaleProfiles,
  checkStaticLabels,
  checkWrappersUnderDriver,
  checkConfigPins,
];

export function runChecks(facts: InspectFacts): readonly Check[] {
  return checks.map((check) => check(facts));
}
