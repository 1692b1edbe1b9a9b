// The emulator wrapper, run for real by /bin/sh (dash here, as on Debian) and
// the other shells a host may have, against a fake "real emulator" and fake
// /sys and /proc trees, with a PATH that holds only what the case allows.
// The shipped wrapper reads the kernel's /sys and /proc whatever its
// environment says (a guest's <qemu:env> sets that environment), so the fake
// trees reach a TEST-ONLY variant that this file renders, with its two
// constant lines rewritten.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import tmp from 'tmp';
import { UsageError } from '../lib/errors.ts';
import { emulatorSet, existingWrapperFor, isWrapperPath, renderWrapper, wrappedEmulator, wrapperPathFor } from '../lib/wrapper.ts';
import { checkoutRoot } from './helpers/apparmor-parser.ts';

const template = fs.readFileSync(path.join(checkoutRoot, 'scripts', 'qemu-wrapper'), 'utf8');
const uuid = '6c1d4f3a-5b7e-4a29-9d0c-2f8e1b3a7c55';
const profile = `libvirt-${uuid}`;
/** The start of a real libvirt 9.0 guest argv, with the -uuid in its usual place. */
const guestArgv = ['-name', 'guest=vm,debug-threads=on', '-S', '-object', '{"qom-type":"secret","id":"masterKey0","format":"raw"}', '-machine', 'pc-q35-7.2,usb=off', '-uuid', uuid, '-no-user-config', '-nodefaults'];
/** Arguments a shell could mangle. */
const awkward = ['with space', "it's", '"double"', '', '*', '$HOME', '-', 'a\nb', '\\', '-uuidx'];

/**
 * TEST-ONLY: the rendered wrapper with its constant `sysfs=` and `proc=`
 * lines pointed at fake trees. Each line must be there exactly once, so a
 * change to the template cannot turn this into a silent no-op.
 */
function testTreesVariant(script: string, sysfs: string, proc: string): string {
  const lines = script.split('\n');
  for (const line of ['sysfs=/sys', 'proc=/proc']) {
    if (lines.filter((l) => l === line).length !== 1) throw new Error(`the wrapper template must hold the line ${JSON.stringify(line)} exactly once`);
  }
  const quote = (p: string): string => `'${p.replaceAll("'", "'\\''")}'`;
  return lines.map((l) => (l === 'sysfs=/sys' ? `sysfs=${quote(sysfs)}` : l === 'proc=/proc' ? `proc=${quote(proc)}` : l)).join('\n');
}

interface Setup {
  /** Content of /sys/module/apparmor/parameters/enabled; a directory stands for an unreadable file. */
  readonly enabled?: 'Y\n' | 'N\n' | 'absent' | 'unreadable';
  /** Which exec attributes exist; 'refusing' ones fail every write, as the kernel does for a profile it does not know. */
  readonly apparmorAttr?: 'writable' | 'refusing' | 'absent';
  readonly legacyAttr?: 'writable' | 'absent';
  readonly aaExec?: boolean;
  /**
   * Run the wrapper as shipped (reading the kernel's /sys and /proc) instead
   * of the test-trees variant, with the variables it once obeyed, and which
   * <qemu:env> can set, naming this run's fake trees.
   */
  readonly shipped?: boolean;
}

interface Run {
  readonly status: number | null;
  readonly stderr: string;
  /** What the fake emulator saw, or undefined when it did not run. */
  readonly emulator: { readonly pid: number; readonly attrs: readonly string[]; readonly argv: readonly string[] } | undefined;
  readonly wrapperPid: number;
  readonly written: { readonly apparmor: string | undefined; readonly legacy: string | undefined };
  readonly aaExecProfile: string | undefined;
  /** The fake /proc, as messages name it. */
  readonly proc: string;
}

const which = (tool: string): string => {
  const found = ['/usr/bin', '/bin'].map((d) => path.join(d, tool)).find((p) => fs.existsSync(p));
  if (found === undefined) throw new Error(`${tool} not found`);
  return found;
};

function runWrapper(args: readonly string[], setup: Setup = {}, env: Readonly<Record<string, string>> = {}, shell?: readonly string[]): Run {
  const root = fs.realpathSync(tmp.dirSync({ unsafeCleanup: true }).name);
  const at = (...p: string[]): string => path.join(root, ...p);
  const write = (file: string, content: string, mode = 0o644): void => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content, { mode });
  };

  const enabled = setup.enabled ?? 'Y\n';
  const flag = at('sys/module/apparmor/parameters/enabled');
  if (enabled === 'unreadable') fs.mkdirSync(flag, { recursive: true });
  else if (enabled !== 'absent') write(flag, enabled);
  const apparmorAttr = at('proc/self/attr/apparmor/exec');
  const legacyAttr = at('proc/self/attr/exec');
  if ((setup.apparmorAttr ?? 'writable') === 'writable') write(apparmorAttr, '');
  if (setup.apparmorAttr === 'refusing') {
    fs.mkdirSync(path.dirname(apparmorAttr), { recursive: true });
    fs.symlinkSync('/dev/full', apparmorAttr);
  }
  if ((setup.legacyAttr ?? 'writable') === 'writable') write(legacyAttr, '');

  // A PATH with only what the wrapper and the fakes may use, so the host's own aa-exec stays out.
  const bin = at('path');
  fs.mkdirSync(bin);
  for (const tool of ['tr', 'cat']) fs.symlinkSync(which(tool), path.join(bin, tool));
  if (setup.aaExec === true) {
    write(path.join(bin, 'aa-exec'), `#!/bin/sh\n[ "$1" = -p ] && [ "$3" = -- ] || exit 64\nprintf '%s' "$2" > '${at('aa-exec-profile')}'\nshift 3\nexec "$@"\n`, 0o755);
  }

  // The fake emulator proves the attribute was written before it ran, and that it runs in the wrapper's process.
  const emulator = at('emulators', 'fake qemu $HOME');
  const printAttr = (file: string): string => `if [ -f '${file}' ] && [ ! -L '${file}' ]; then printf '%s\\0' "$(cat '${file}')"; else printf '%s\\0' -; fi`;
  write(emulator, ['#!/bin/sh', `: > '${at('ran')}'`, `printf '%s\\0' "$$"`, printAttr(apparmorAttr), printAttr(legacyAttr), `for arg in "$@"; do printf '%s\\0' "$arg"; done`, 'exit "${FAKE_EXIT:-0}"', ''].join('\n'), 0o755);
  const wrapper = at('usr/lib/virt-aa-hook/emulators/qemu-system-x86_64');
  const rendered = renderWrapper(template, emulator);
  write(wrapper, setup.shipped === true ? rendered : testTreesVariant(rendered, at('sys'), at('proc')), 0o755);

  const [command = wrapper, ...prefix] = shell === undefined ? [] : [...shell, wrapper];
  const result = spawnSync(command, [...prefix, ...args], {
    env: { PATH: bin, ...(setup.shipped === true ? { VIRT_AA_HOOK_TEST_SYSFS: at('sys'), VIRT_AA_HOOK_TEST_PROC: at('proc') } : {}), ...env },
    encoding: 'utf8',
  });
  const fields = result.stdout.split('\0').slice(0, -1);
  const [pid, apparmorSeen, legacySeen, ...argv] = fields;
  const read = (file: string): string | undefined => (fs.existsSync(file) && fs.statSync(file).isFile() && !fs.lstatSync(file).isSymbolicLink() ? fs.readFileSync(file, 'utf8') : undefined);
  return {
    status: result.status,
    stderr: result.stderr,
    emulator: fs.existsSync(at('ran')) ? { pid: Number(pid), attrs: [apparmorSeen ?? '', legacySeen ?? ''], argv } : undefined,
    wrapperPid: result.pid,
    written: { apparmor: read(apparmorAttr), legacy: read(legacyAttr) },
    aaExecProfile: read(at('aa-exec-profile')),
    proc: at('proc'),
  };
}

const confined = (uuidSeen = uuid): string => `exec libvirt-${uuidSeen}`;

test('the template and a rendered wrapper pass sh -n and dash -n', (t) => {
  const file = tmp.fileSync();
  fs.writeFileSync(file.name, renderWrapper(template, '/usr/bin/qemu-system-x86_64'));
  for (const shell of ['/bin/sh', which('dash')]) {
    for (const script of [path.join(checkoutRoot, 'scripts', 'qemu-wrapper'), file.name]) {
      const result = spawnSync(shell, ['-n', script], { encoding: 'utf8' });
      t.is(result.status, 0, `${shell} -n ${script}: ${result.stderr}`);
    }
  }
});

test('the template is shellcheck-clean', (t) => {
  const shellcheck = ['/usr/bin/shellcheck', '/bin/shellcheck'].find((p) => fs.existsSync(p));
  if (shellcheck === undefined) return t.pass('shellcheck is not installed');
  const result = spawnSync(shellcheck, ['-s', 'sh', path.join(checkoutRoot, 'scripts', 'qemu-wrapper')], { encoding: 'utf8' });
  t.is(result.status, 0, result.stdout);
});

test('the shipped wrapper reads the kernel\'s /sys and /proc, never trees named by its environment', (t) => {
  // The environment names fake trees that say "enabled" and take any profile
  // change. Whatever the kernel of this host says, the shipped wrapper must
  // not touch them.
  const run = runWrapper(guestArgv, { shipped: true });
  t.deepEqual(run.written, { apparmor: '', legacy: '' }, 'nothing was written to the fake exec attributes');
  t.false(run.stderr.includes(run.proc), run.stderr);
  t.regex(template, /^sysfs=\/sys$/m);
  t.regex(template, /^proc=\/proc$/m);
  t.false(template.includes('VIRT_AA_HOOK_TEST'), 'no test-only variable left in the template');
});

const passthrough = test.macro({
  exec(t, args: readonly string[]) {
    const run = runWrapper(args, {}, { FAKE_EXIT: '3' });
    t.is(run.status, 3);
    t.is(run.stderr, '');
    t.deepEqual(run.emulator?.argv, args);
    t.deepEqual(run.emulator?.attrs, ['', ''], 'no profile requested');
    t.deepEqual(run.written, { apparmor: '', legacy: '' });
    t.is(run.emulator?.pid, run.wrapperPid, 'exec, not a child');
  },
  title: (given) => `passes ${given ?? ''} through untouched`,
});
test('the capability probe', passthrough, ['-S', '-no-user-config', '-nodefaults', '-nographic', '-machine', 'none,accel=kvm:tcg', '-qmp', 'unix:/var/lib/libvirt/qemu/capabilities.monitor.sock,server=on,wait=off', '-pidfile', '/var/lib/libvirt/qemu/capabilities.pidfile', '-daemonize']);
test('-version', passthrough, ['-version']);
test('no arguments', passthrough, []);
test('awkward arguments', passthrough, awkward);

const enters = test.macro({
  exec(t, args: readonly string[], expectedProfile = profile) {
    const run = runWrapper(args);
    t.is(run.status, 0);
    t.is(run.stderr, '');
    t.deepEqual(run.emulator?.argv, args);
    t.deepEqual(run.emulator?.attrs, [`exec ${expectedProfile}`, ''], 'written before the emulator ran, to attr/apparmor/exec only');
    t.is(run.written.apparmor, `exec ${expectedProfile}`, 'no newline');
    t.is(run.emulator?.pid, run.wrapperPid, 'exec, not a child');
  },
  title: (given) => `enters the profile: ${given ?? ''}`,
});
test('a libvirt guest argv', enters, [...guestArgv, ...awkward]);
test('the uuid as the last argument', enters, ['-name', 'guest=vm', '-S', '-uuid', uuid]);
test('an upper-case uuid, lower-cased in the profile name only', enters, ['-uuid', uuid.toUpperCase(), '-S']);
test('--uuid, which QEMU reads as -uuid', enters, ['--uuid', uuid]);
test('the first -uuid wins over a later one from <qemu:commandline>', enters, [...guestArgv, '-uuid', '00000000-0000-0000-0000-000000000000']);

const refusesUuid = test.macro({
  exec(t, args: readonly string[]) {
    const run = runWrapper(args, { aaExec: true });
    t.is(run.status, 1);
    t.is(run.stderr, 'virt-aa-hook: cannot enter an AppArmor profile (-uuid is not followed by a UUID): refusing to start the emulator unconfined\n');
    t.is(run.emulator, undefined, 'the emulator did not run');
    t.deepEqual(run.written, { apparmor: '', legacy: '' });
    t.is(run.aaExecProfile, undefined);
  },
  title: (given) => `refuses ${given ?? ''}`,
});
test('a uuid that is not one', refusesUuid, ['-uuid', 'not-a-uuid']);
test('a uuid without dashes', refusesUuid, ['-uuid', uuid.replace(/-/g, '')]);
test('a uuid one digit short', refusesUuid, ['-uuid', uuid.slice(1)]);
test('a uuid with a non-hex digit', refusesUuid, ['-uuid', `g${uuid.slice(1)}`]);
test('a uuid with dashes in the wrong places', refusesUuid, ['-uuid', `${uuid.slice(0, 7)}-${uuid.slice(7, 8)}${uuid.slice(9)}`]);
test('a uuid with a newline', refusesUuid, ['-uuid', `${uuid}\n`]);
test('a uuid that tries a path', refusesUuid, ['-uuid', `../../${uuid.slice(6)}`]);
test('a uuid of dashes only', refusesUuid, ['-uuid', '-'.repeat(36)]);
test('a uuid with a glob character', refusesUuid, ['-uuid', `*${uuid.slice(1)}`]);
test('an empty uuid', refusesUuid, ['-uuid', '']);
test('-uuid without a value', refusesUuid, ['-S', '-uuid']);

test('the process that writes the attribute is the one that becomes the emulator', (t) => {
  // The attribute is per task: a write from a subshell or an external printf would confine nothing.
  const strace = ['/usr/bin/strace', '/bin/strace'].find((p) => fs.existsSync(p));
  if (strace === undefined) return t.pass('strace is not installed');
  const log = tmp.fileSync().name;
  runWrapper(['-uuid', uuid.toUpperCase()], {}, {}, [strace, '-f', '-qq', '-o', log, '-e', 'trace=openat,execve']);
  const lines = fs.readFileSync(log, 'utf8').split('\n');
  const pids = (pattern: RegExp): string[] => lines.filter((l) => pattern.test(l)).map((l) => l.split(' ')[0] ?? '');
  const writers = pids(/openat\(.*\/attr\/apparmor\/exec", O_WRONLY/);
  t.is(writers.length, 1);
  t.deepEqual(pids(/execve\("[^"]*\/emulators\/fake qemu/), writers);
});

const unconfined = test.macro({
  exec(t, enabled: NonNullable<Setup['enabled']>) {
    const run = runWrapper(guestArgv, { enabled });
    t.is(run.status, 0);
    t.is(run.stderr, `virt-aa-hook: AppArmor is not enabled: starting domain ${uuid} unconfined\n`);
    t.deepEqual(run.emulator?.argv, guestArgv);
    t.deepEqual(run.written, { apparmor: '', legacy: '' });
    t.is(run.emulator?.pid, run.wrapperPid);
  },
  title: (given) => `starts unconfined, saying so once, when ${given ?? ''}`,
});
test('the kernel says AppArmor is off', unconfined, 'N\n');
test('the kernel has no AppArmor module', unconfined, 'absent');

test('an unreadable AppArmor flag counts as enabled', (t) => {
  const run = runWrapper(guestArgv, { enabled: 'unreadable' });
  t.is(run.stderr, '');
  t.is(run.written.apparmor, confined());
});

test('falls back to attr/exec on kernels without attr/apparmor', (t) => {
  const run = runWrapper(guestArgv, { apparmorAttr: 'absent' });
  t.is(run.status, 0);
  t.is(run.stderr, '');
  t.deepEqual(run.emulator?.attrs, ['-', confined()]);
  t.is(run.emulator?.pid, run.wrapperPid);
});

const viaAaExec = test.macro({
  exec(t, setup: Setup) {
    const run = runWrapper(guestArgv, { ...setup, aaExec: true });
    t.is(run.status, 0);
    t.is(run.stderr, '');
    t.is(run.aaExecProfile, profile);
    t.deepEqual(run.emulator?.argv, guestArgv);
    t.is(run.written.legacy, setup.legacyAttr === 'absent' ? undefined : '', 'attr/exec is not used while attr/apparmor/exec exists');
    t.is(run.emulator?.pid, run.wrapperPid, 'aa-exec execs in place too');
  },
  title: (given) => `uses aa-exec when ${given ?? ''}`,
});
test('no exec attribute exists', viaAaExec, { apparmorAttr: 'absent', legacyAttr: 'absent' });
test('the kernel refuses the write', viaAaExec, { apparmorAttr: 'refusing' });

const failsClosed = test.macro({
  exec(t, setup: Setup, reason: string) {
    const run = runWrapper(guestArgv, setup);
    t.is(run.status, 1);
    const expected = reason.replaceAll('<proc>', run.proc);
    t.is(run.stderr, `virt-aa-hook: cannot enter AppArmor profile ${profile} (${expected}; no aa-exec on PATH): refusing to start the emulator unconfined\n`);
    t.is(run.emulator, undefined, 'the emulator did not run');
  },
  title: (given) => `fails closed when ${given ?? ''}`,
});
test('no exec attribute exists and there is no aa-exec', failsClosed, { apparmorAttr: 'absent', legacyAttr: 'absent' }, 'neither <proc>/self/attr/apparmor/exec nor <proc>/self/attr/exec exists');
test('the kernel refuses and there is no aa-exec', failsClosed, { apparmorAttr: 'refusing' }, '<proc>/self/attr/apparmor/exec refused the change, the profile may not be loaded');

// Debian's /bin/sh is dash, Fedora's is bash, Alpine's is busybox ash.
for (const shell of [['dash'], ['bash'], ['busybox', 'sh']]) {
  const [name] = shell;
  const binary = ['/usr/bin', '/bin'].map((d) => path.join(d, name ?? '')).find((p) => fs.existsSync(p));
  test(`${shell.join(' ')} runs the wrapper the same way`, (t) => {
    if (binary === undefined) return t.pass(`${name ?? ''} is not installed`);
    const command = [binary, ...shell.slice(1)];
    const entered = runWrapper([...guestArgv, ...awkward], { apparmorAttr: 'absent' }, {}, command);
    t.deepEqual(entered.emulator?.attrs, ['-', confined()]);
    t.deepEqual(entered.emulator?.argv, [...guestArgv, ...awkward]);
    t.is(entered.emulator?.pid, entered.wrapperPid);
    const closed = runWrapper(guestArgv, { apparmorAttr: 'refusing' }, {}, command);
    t.is(closed.status, 1);
    t.is(closed.emulator, undefined);
    t.is(closed.stderr.split('\n').length, 2, 'one line');
  });
}

test('renderWrapper puts the path between single quotes', (t) => {
  const script = renderWrapper(template, '/opt/qemu 8/bin/qemu-system-x86_64');
  t.true(script.includes("real='/opt/qemu 8/bin/qemu-system-x86_64'\n"));
  t.false(script.includes('@REAL_EMULATOR@'));
});

const badPath = test.macro({
  exec(t, emulator: string, reason: RegExp) {
    for (const call of [() => renderWrapper(template, emulator), () => wrapperPathFor('/usr/lib/virt-aa-hook/emulators', emulator, new Map())]) {
      const error = t.throws(call, { instanceOf: UsageError });
      t.regex(error?.message ?? '', reason);
      t.false((error?.message ?? '').includes('\n'));
    }
  },
  title: (given) => `refuses an emulator path ${given ?? ''}`,
});
test('with a single quote', badPath, "/opt/it's/qemu", /single quote or a control character/);
test('with a newline', badPath, '/opt/a\nb/qemu', /"\/opt\/a\\x0ab\/qemu": it contains a single quote or a control character/);
test('that is relative', badPath, 'qemu-system-x86_64', /not an absolute, normalised path/);
test('with ..', badPath, '/usr/bin/../bin/qemu', /not an absolute, normalised path/);
test('with a trailing slash', badPath, '/usr/bin/qemu/', /not an absolute, normalised path/);
test('that is a wrapper', badPath, '/usr/lib/virt-aa-hook/virt-aa-hook.qemu-system-x86_64', /is a virt-aa-hook wrapper itself/);

test('renderWrapper refuses a template without exactly one placeholder', (t) => {
  t.throws(() => renderWrapper('#!/bin/sh\n', '/usr/bin/qemu'), { message: /holds 0 @REAL_EMULATOR@ markers, expected 1/ });
  t.throws(() => renderWrapper(`${template}@REAL_EMULATOR@`, '/usr/bin/qemu'), { message: /holds 2 / });
});

const emulatorDir = '/usr/lib/virt-aa-hook/emulators';

test('the emulator set: per name the first in the daemon\'s PATH, qemu-kvm from /usr/libexec, nothing else', (t) => {
  const listing: Record<string, readonly string[]> = {
    '/usr/local/bin': ['qemu-system-x86_64'],
    '/usr/bin': ['qemu-system-x86_64', 'qemu-system-aarch64', 'qemu-system-x86_64-microvm', 'qemu-img', 'kvm', 'qemu-system-arm'],
    '/bin': ['qemu-system-aarch64'],
  };
  const executable = new Set(['/usr/local/bin/qemu-system-x86_64', '/usr/bin/qemu-system-x86_64', '/usr/bin/qemu-system-aarch64', '/usr/bin/qemu-system-x86_64-microvm', '/usr/bin/qemu-img', '/usr/bin/kvm', '/bin/qemu-system-aarch64', '/usr/libexec/qemu-kvm']);
  const set = emulatorSet((dir) => listing[dir] ?? [], (file) => executable.has(file));
  t.deepEqual(Object.fromEntries(set), {
    'qemu-system-x86_64': '/usr/local/bin/qemu-system-x86_64',
    'qemu-system-aarch64': '/usr/bin/qemu-system-aarch64',
    'qemu-system-x86_64-microvm': '/usr/bin/qemu-system-x86_64-microvm',
    'qemu-kvm': '/usr/libexec/qemu-kvm',
  }, 'qemu-system-arm is not executable; qemu-img and kvm are not emulators');
});

test('wrapperPathFor: the name for the emulator PATH finds, by-path for every other', (t) => {
  const set = new Map([['qemu-system-x86_64', '/usr/local/bin/qemu-system-x86_64'], ['qemu-kvm', '/usr/libexec/qemu-kvm']]);
  t.is(wrapperPathFor(emulatorDir, '/usr/local/bin/qemu-system-x86_64', set), `${emulatorDir}/qemu-system-x86_64`);
  t.is(wrapperPathFor(emulatorDir, '/usr/libexec/qemu-kvm', set), `${emulatorDir}/qemu-kvm`);
  t.is(wrapperPathFor(emulatorDir, '/usr/bin/qemu-system-x86_64', set), `${emulatorDir}/by-path/usr/bin/qemu-system-x86_64`, 'shadowed by /usr/local/bin: never the same wrapper');
  t.is(wrapperPathFor(emulatorDir, '/opt/qemu/bin/qemu-system-x86_64', set), `${emulatorDir}/by-path/opt/qemu/bin/qemu-system-x86_64`);
  t.throws(() => wrapperPathFor(emulatorDir, `${emulatorDir}/qemu-system-x86_64`, set), { instanceOf: UsageError, message: /is a virt-aa-hook wrapper itself/ });
});

test('wrappedEmulator reads back what renderWrapper wrote, and nothing from other files', (t) => {
  t.is(wrappedEmulator(renderWrapper(template, '/opt/qemu 8/bin/qemu-system-x86_64')), '/opt/qemu 8/bin/qemu-system-x86_64');
  t.is(wrappedEmulator("#!/bin/sh\nreal='/usr/bin/qemu-system-x86_64'\n"), undefined, 'not ours');
  t.is(wrappedEmulator('\x7fELF'), undefined);
});

test('isWrapperPath knows the emulator directory and the per-domain wrappers of earlier versions', (t) => {
  const paths = { emulatorDir, wrapperDir: '/usr/lib/libvirt' };
  t.true(isWrapperPath(`${emulatorDir}/qemu-system-x86_64`, paths));
  t.true(isWrapperPath(`${emulatorDir}/by-path/opt/q/qemu-system-x86_64`, paths));
  t.true(isWrapperPath('/usr/lib/libvirt/virt-aa-hook.qemu-system-x86_64', paths));
  t.false(isWrapperPath('/usr/bin/qemu-system-x86_64', paths));
  t.false(isWrapperPath(`${emulatorDir}-other/qemu-system-x86_64`, paths));
});

test('existingWrapperFor finds the wrapper that execs exactly that emulator', (t) => {
  const files = new Map([
    [`${emulatorDir}/qemu-system-x86_64`, renderWrapper(template, '/usr/bin/qemu-system-x86_64')],
    [`${emulatorDir}/by-path/opt/qemu/bin/qemu-system-x86_64`, renderWrapper(template, '/opt/qemu/bin/qemu-system-x86_64')],
  ]);
  const read = (file: string): string | undefined => files.get(file);
  t.is(existingWrapperFor(emulatorDir, '/usr/bin/qemu-system-x86_64', read), `${emulatorDir}/qemu-system-x86_64`);
  t.is(existingWrapperFor(emulatorDir, '/opt/qemu/bin/qemu-system-x86_64', read), `${emulatorDir}/by-path/opt/qemu/bin/qemu-system-x86_64`);
  t.is(existingWrapperFor(emulatorDir, '/usr/local/bin/qemu-system-x86_64', read), undefined, 'same name, another emulator');
  t.is(existingWrapperFor(emulatorDir, '/usr/bin/qemu-system-aarch64', read), undefined);
  t.is(existingWrapperFor(emulatorDir, `${emulatorDir}/qemu-system-x86_64`, read), undefined, 'a wrapper is not an emulator');
});
