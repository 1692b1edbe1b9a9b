import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dispatch, type HookDeps } from '../../lib/hook/dispatch.ts';
import { parseHookArgv } from '../../lib/hook/event.ts';
import { readState } from '../../lib/apparmor/state.ts';
import { checkoutRoot, compileProfile } from '../helpers/apparmor-parser.ts';
import { renderWrapper } from '../../lib/wrapper.ts';
import { domainXml, hookEnv, type HookEnv } from '../helpers/hook-env.ts';

const uuid = '3a1f2b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b';

const run = (env: HookEnv, argv: string, xml: string, overrides: Partial<HookDeps> = {}) => dispatch(parseHookArgv(argv.split(' ')), xml, env.deps(overrides));
const notLoaded: Partial<HookDeps> = { loadedProfiles: () => new Map() };

test('prepare writes and compiles the profile; start finds it unchanged; release removes it, twice', (t) => {
  const env = hookEnv();
  const xml = domainXml(env);
  const prepare = run(env, 'web-01 prepare begin -', xml);
  t.is(prepare.exitCode, 0, prepare.stderr.join('\n'));
  t.is(prepare.stdout, '');
  t.regex(prepare.log, /event=prepare\/begin mode=wrapper rules=\d+ notices=0 outcome=compiled \(compile-only\)/);
  const files = fs.readFileSync(env.filesFile(uuid), 'utf8');
  t.regex(files, /"\/srv\/vms\/web-01\.img" rwk,/);
  // A short name is unique on the host: any id, so the text is the same at the next start.
  t.true(files.includes('"/var/lib/libvirt/qemu/domain-[0-9]{,[0-9]}{,[0-9]}{,[0-9]}{,[0-9]}{,[0-9]}{,[0-9]}{,[0-9]}{,[0-9]}{,[0-9]}-web-01/**" rwk,'), files);
  const profile = fs.readFileSync(env.profileFile(uuid), 'utf8');
  t.regex(profile, new RegExp(`profile libvirt-${uuid} flags=\\(attach_disconnected\\)`));
  t.regex(profile, new RegExp(`#include if exists <libvirt/libvirt-${uuid}\\.files>`));
  t.like(readState(env.config.paths.stateDir, uuid), { name: 'web-01', mode: 'wrapper', loaded: true });
  t.true(fs.readdirSync(env.config.paths.cacheDir).length > 0, 'the parser wrote its cache');

  const start = run(env, 'web-01 start begin -', xml);
  t.is(start.exitCode, 0);
  t.regex(start.log, /outcome=unchanged/);

  const started = run(env, 'web-01 started begin -', xml);
  t.regex(started.log, /outcome=label not checked/);

  for (const op of ['stopped end -', 'release end destroyed']) {
    const teardown = run(env, `web-01 ${op}`, domainXml(env, { id: undefined }));
    t.is(teardown.exitCode, 0);
  }
  t.false(fs.existsSync(env.filesFile(uuid)));
  t.false(fs.existsSync(env.profileFile(uuid)));
  t.is(readState(env.config.paths.stateDir, uuid), undefined);
  t.regex(run(env, 'web-01 release end -', xml).log, /mode=wrapper outcome=not-loaded/);
});

test('a domain started before compiles from the parser cache; a start that changes nothing writes nothing', (t) => {
  const env = hookEnv();
  const xml = domainXml(env);
  t.is(run(env, 'web-01 prepare begin -', xml).exitCode, 0);
  const cacheFiles = (): Map<string, fs.Stats> =>
    new Map(fs.readdirSync(env.config.paths.cacheDir, { recursive: true, encoding: 'utf8' }).map((f) => [f, fs.statSync(path.join(env.config.paths.cacheDir, f))] as const));
  const written = [env.filesFile(uuid), env.profileFile(uuid), path.join(env.config.paths.stateDir, 'domains', `${uuid}.json`)];
  const before = written.map((f) => fs.statSync(f));
  t.regex(run(env, 'web-01 start begin -', xml).log, /outcome=unchanged/);
  t.deepEqual(written.map((f) => [fs.statSync(f).ino, fs.statSync(f).mtimeMs]), before.map((s) => [s.ino, s.mtimeMs]), 'start rewrote nothing');
  const compiled = cacheFiles();
  run(env, 'web-01 stopped end -', xml);
  run(env, 'web-01 release end -', xml);
  t.false(fs.existsSync(env.filesFile(uuid)));
  // Written anew, with the mtime the cache was compiled against: apparmor_parser loads the cache instead of compiling.
  t.regex(run(env, 'web-01 prepare begin -', xml).log, /outcome=compiled/);
  t.deepEqual(
    [...cacheFiles()].filter(([, s]) => s.isFile()).map(([f, s]) => [f, s.ino, s.mtimeMs]),
    [...compiled].filter(([, s]) => s.isFile()).map(([f, s]) => [f, s.ino, s.mtimeMs]),
    'the cache was read, not written again',
  );
});

test('a refused disk fails prepare with one line; release after it leaves nothing behind', (t) => {
  const env = hookEnv();
  const xml = domainXml(env, { disk: '/etc/shadow' });
  const prepare = run(env, 'web-01 prepare begin -', xml);
  t.is(prepare.exitCode, 2);
  t.deepEqual(prepare.stderr, [`virt-aa-hook: error: domain 'web-01', disk 'vda', path "/etc/shadow": refusing to grant rwk access for the image: /etc is restricted`]);
  const release = run(env, 'web-01 release end failed', xml);
  t.is(release.exitCode, 0);
  t.false(fs.existsSync(env.filesFile(uuid)));
  t.false(fs.existsSync(env.profileFile(uuid)));
});

test('migrate and restore print nothing and load a profile for any domain id', (t) => {
  for (const op of ['migrate', 'restore']) {
    const env = hookEnv();
    const outcome = run(env, `web-01 ${op} begin -`, domainXml(env, { id: undefined }));
    t.is(outcome.exitCode, 0, outcome.stderr.join('\n'));
    t.is(outcome.stdout, '');
    t.regex(fs.readFileSync(env.filesFile(uuid), 'utf8'), /domain-\[0-9\]\{,\[0-9\]\}/);
  }
});

test('reconnect never fails, even on garbage', (t) => {
  const env = hookEnv();
  const outcome = run(env, 'web-01 reconnect begin -', '<domain');
  t.is(outcome.exitCode, 0);
  t.regex(outcome.stderr.join('\n'), /malformed/);
  const refused = run(env, 'web-01 reconnect begin -', domainXml(env, { disk: '/proc/kcore' }));
  t.is(refused.exitCode, 0);
});

test('attach and unknown operations change nothing and succeed', (t) => {
  const env = hookEnv();
  for (const argv of ['web-01 attach begin -', 'web-01 frobnicate begin -', '--version prepare-extended begin -']) {
    const outcome = run(env, argv, '');
    t.is(outcome.exitCode, 0);
    t.regex(outcome.log, /outcome=ignored/);
  }
  t.false(fs.existsSync(path.join(env.config.paths.apparmorDir, 'libvirt')));
});

test('a domain that is not enrolled starts with a warning, or is refused under the require policy', (t) => {
  const warn = hookEnv();
  const outcome = run(warn, 'web-01 prepare begin -', domainXml(warn, { enrolled: 'none' }), notLoaded);
  t.is(outcome.exitCode, 0);
  const fix = `run 'virt-aa-hook enroll web-01', or set "domains": {"web-01": {"confine": false}} in /etc/virt-aa-hook/config.json to run it unconfined on purpose`;
  t.deepEqual(outcome.stderr, [`virt-aa-hook: warning: domain 'web-01' runs unconfined: its emulator "/usr/bin/qemu-system-x86_64" is not virt-aa-hook's wrapper: ${fix}`]);
  t.regex(outcome.log, /outcome=unconfined \(not enrolled\)/);
  t.false(fs.existsSync(warn.filesFile(uuid)));
  const require = hookEnv({ policy: 'require' });
  const refused = run(require, 'web-01 prepare begin -', domainXml(require, { enrolled: 'none' }), notLoaded);
  t.is(refused.exitCode, 2);
  t.deepEqual(refused.stderr, [`virt-aa-hook: error: domain 'web-01': refusing to start it unconfined (the configuration requires confinement): its emulator "/usr/bin/qemu-system-x86_64" is not virt-aa-hook's wrapper: ${fix}`]);
});

test('the fix names a domain the way a shell and our command line read it back', (t) => {
  const env = hookEnv({ policy: 'require' });
  const refused = run(env, "--it's prepare begin -", domainXml(env, { name: "--it's", enrolled: 'none' }), notLoaded);
  t.regex(refused.stderr[0] ?? '', /run 'virt-aa-hook enroll -- '--it'\\''s''/);
});

test('"confine": false lets a domain through unconfined, by name or UUID, and says it was chosen', (t) => {
  for (const key of ['web-01', uuid]) {
    const env = hookEnv({ policy: 'require', domains: { [key]: { confine: false } } });
    const outcome = run(env, 'web-01 prepare begin -', domainXml(env, { enrolled: 'none' }), notLoaded);
    t.is(outcome.exitCode, 0);
    t.deepEqual(outcome.stderr, []);
    t.regex(outcome.log, /outcome=unconfined \(by choice: "confine": false\)$/);
    t.false(fs.existsSync(env.filesFile(uuid)));
  }
});

test('"confine": false on a domain that names the wrapper is refused with the fix, never silently confined', (t) => {
  const env = hookEnv({ domains: { 'web-01': { confine: false } } });
  const outcome = run(env, 'web-01 prepare begin -', domainXml(env), notLoaded);
  t.is(outcome.exitCode, 2);
  t.regex(outcome.stderr[0] ?? '', /"confine": false, but its emulator ".*" is virt-aa-hook's wrapper, which always confines: run 'virt-aa-hook unenroll web-01'/);
});

test('a domain naming a wrapper of the emulator directory is confined like an enrolled one', (t) => {
  const env = hookEnv({ policy: 'require' });
  const xml = domainXml(env, { enrolled: 'none' }).replace('/usr/bin/qemu-system-x86_64', `${env.config.paths.emulatorDir}/qemu-system-x86_64`);
  const outcome = run(env, 'web-01 prepare begin -', xml);
  t.is(outcome.exitCode, 0, outcome.stderr.join('\n'));
  t.regex(outcome.log, /mode=wrapper .*outcome=compiled/);
});

/** A wrapper of /usr/bin/qemu-system-x86_64 in the environment's emulator directory. */
function withWrapper(env: HookEnv): string {
  const wrapper = `${env.config.paths.emulatorDir}/qemu-system-x86_64`;
  fs.mkdirSync(path.dirname(wrapper), { recursive: true });
  fs.writeFileSync(wrapper, renderWrapper(fs.readFileSync(path.join(checkoutRoot, 'scripts/qemu-wrapper'), 'utf8'), '/usr/bin/qemu-system-x86_64'), { mode: 0o755 });
  return wrapper;
}

test('migrate and restore give an incoming domain naming a real emulator we wrap the wrapper, and change nothing else', (t) => {
  for (const op of ['migrate', 'restore']) {
    const env = hookEnv({ policy: 'require' });
    const wrapper = withWrapper(env);
    const xml = `<?xml version='1.0'?>\n<!-- <emulator>/usr/bin/qemu-system-x86_64</emulator> -->\n${domainXml(env, { enrolled: 'none', id: undefined })}\n`;
    const outcome = run(env, `web-01 ${op} begin -`, xml, notLoaded);
    t.is(outcome.exitCode, 0, outcome.stderr.join('\n'));
    t.is(outcome.stdout, xml.replace('<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>', `<devices><emulator>${wrapper}</emulator>`));
    t.regex(outcome.log, /mode=wrapper .*outcome=compiled \(compile-only\) emulator="/);
    t.true(fs.existsSync(env.filesFile(uuid)));
  }
});

test('migrate prints nothing when there is nothing to change: no wrapper for that emulator, "confine": false, or libvirt\'s driver active', (t) => {
  const cases: readonly [string, Record<string, unknown>, boolean][] = [
    ['no wrapper here', {}, false],
    ['"confine": false', { domains: { 'web-01': { confine: false } } }, true],
    ["libvirt's driver", { libvirtDriver: 'active' }, true],
  ];
  for (const [what, settings, wrapped] of cases) {
    const env = hookEnv(settings);
    if (wrapped) withWrapper(env);
    const outcome = run(env, 'web-01 migrate begin -', domainXml(env, { enrolled: 'none', id: undefined }), notLoaded);
    t.is(outcome.exitCode, 0, what);
    t.is(outcome.stdout, '', what);
  }
});

test("a domain libvirt's own driver labels is left to it (and to our virt-aa-helper): the hook writes nothing and removes nothing", (t) => {
  const env = hookEnv({ libvirtDriver: 'active' });
  const xml = domainXml(env, { enrolled: 'none' });
  const labelled = domainXml(env, { enrolled: 'none', seclabel: `<seclabel type='dynamic' model='apparmor' relabel='yes'><label>libvirt-${uuid}</label><imagelabel>libvirt-${uuid}</imagelabel></seclabel>` });
  t.regex(run(env, 'web-01 prepare begin -', xml).log, /mode=driver outcome=left to libvirt's AppArmor driver \(virt-aa-helper\)/);
  t.regex(run(env, 'web-01 start begin -', labelled).log, /mode=driver outcome=left to libvirt's AppArmor driver/);
  t.false(fs.existsSync(env.filesFile(uuid)));
  // The helper's -c made the profile; stopped and release leave it to -D.
  fs.mkdirSync(path.dirname(env.filesFile(uuid)), { recursive: true });
  fs.writeFileSync(env.filesFile(uuid), '# made by virt-aa-helper -c\n');
  for (const op of ['stopped end -', 'release end destroyed']) t.regex(run(env, `web-01 ${op}`, domainXml(env, { enrolled: 'none', id: undefined })).log, /outcome=left to libvirt's AppArmor driver \(virt-aa-helper -D\)/);
  t.true(fs.existsSync(env.filesFile(uuid)));
});

test("at start, a domain the driver should have labelled but did not is unconfined: refused under require, warned of and logged under warn", (t) => {
  const env = hookEnv({ libvirtDriver: 'active', policy: 'require' });
  const outcome = run(env, 'web-01 start begin -', domainXml(env, { enrolled: 'none' }));
  t.is(outcome.exitCode, 2);
  t.regex(outcome.stderr[0] ?? '', /^virt-aa-hook: error: domain 'web-01': refusing to start it unconfined \(the configuration requires confinement\): libvirt's AppArmor driver did not label it: the daemon started before its AppArmor profile was loaded/);
  const warned = hookEnv({ libvirtDriver: 'active', policy: 'warn' });
  const started = run(warned, 'web-01 start begin -', domainXml(warned, { enrolled: 'none' }));
  t.is(started.exitCode, 0);
  t.regex(started.stderr[0] ?? '', /^virt-aa-hook: warning: domain 'web-01' runs unconfined: libvirt's AppArmor driver did not label it/);
  t.regex(started.log, /outcome=unconfined \(not labelled by the driver\)/);
});

test("our emulator wrapper on a host where libvirt's driver labels every domain is refused with the fix", (t) => {
  const env = hookEnv({ libvirtDriver: 'active' });
  const outcome = run(env, 'web-01 prepare begin -', domainXml(env));
  t.is(outcome.exitCode, 2);
  t.regex(outcome.stderr[0] ?? '', /its <emulator> is virt-aa-hook's wrapper, but libvirt's AppArmor driver confines every domain on this host .*: run 'virt-aa-hook unenroll web-01'$/);
  // With <seclabel type='none'/> libvirt does not label it, and the wrapper is the way in.
  const none = run(env, 'web-01 prepare begin -', domainXml(env, { seclabel: "<seclabel type='none'/>" }));
  t.is(none.exitCode, 0, none.stderr.join('\n'));
  t.regex(none.log, /mode=wrapper/);
});

test('migrate and restore of a UUID whose QEMU runs here leave its profile alone', (t) => {
  const env = hookEnv();
  const xml = domainXml(env, { id: undefined });
  for (const op of ['migrate', 'restore']) {
    const outcome = run(env, `web-01 ${op} begin -`, xml, { tasksOf: () => [4242] });
    t.is(outcome.exitCode, 0);
    t.is(outcome.stdout, '');
    t.regex(outcome.log, /outcome=left alone \(tasks run in profile libvirt-/);
  }
  t.false(fs.existsSync(env.filesFile(uuid)));
});

test('teardown never unloads a profile that still confines tasks: the deny-all placeholder takes its place', (t) => {
  const env = hookEnv();
  const xml = domainXml(env);
  t.is(run(env, 'web-01 prepare begin -', xml).exitCode, 0);
  const stopped = run(env, 'web-01 stopped end -', xml, { tasksOf: () => [4242], isLoaded: () => true });
  t.regex(stopped.log, /mode=wrapper outcome=placeholder \(tasks still attached\)/);
  const placeholder = path.join(env.config.paths.apparmorDir, 'virt-aa-hook/placeholders', `libvirt-${uuid}`);
  t.true(compileProfile(fs.readFileSync(placeholder, 'utf8')).ok);
});

test('libvirt mode keeps a placeholder loaded after stopped and release', (t) => {
  const env = hookEnv();
  const xml = domainXml(env, { enrolled: 'libvirt' });
  t.is(run(env, 'web-01 prepare begin -', xml).exitCode, 0);
  const stopped = run(env, 'web-01 stopped end -', xml);
  t.regex(stopped.log, /mode=libvirt outcome=placeholder/);
  // libvirt's AppArmor driver drops the label before release (seen in an
  // AppArmor kernel): the XML no longer says libvirt mode, the placeholder does.
  const stripped = domainXml(env, { enrolled: 'none', id: undefined, seclabel: "<seclabel type='static' relabel='no'/>" });
  const release = run(env, 'web-01 release end -', stripped);
  t.regex(release.log, /mode=libvirt outcome=placeholder/);
  t.is(run(env, 'web-01 release end -', domainXml(env, { enrolled: 'libvirt', id: undefined })).exitCode, 0);
  const placeholder = path.join(env.config.paths.apparmorDir, 'virt-aa-hook/placeholders', `libvirt-${uuid}`);
  const text = fs.readFileSync(placeholder, 'utf8');
  t.true(compileProfile(text).ok);
  t.false(fs.existsSync(env.filesFile(uuid)));
});

test('an admin-edited profile is kept and used, and survives release', (t) => {
  const env = hookEnv();
  const xml = domainXml(env);
  t.is(run(env, 'web-01 prepare begin -', xml).exitCode, 0);
  const edited = `${fs.readFileSync(env.profileFile(uuid), 'utf8')}# edited by the admin\n`;
  fs.writeFileSync(env.profileFile(uuid), edited);
  const start = run(env, 'web-01 start begin -', xml);
  t.regex(start.log, /admin-edited profile kept/);
  run(env, 'web-01 release end -', xml);
  t.is(fs.readFileSync(env.profileFile(uuid), 'utf8'), edited);
  t.false(fs.existsSync(env.filesFile(uuid)));
});

test('per-domain rules and complain mode from the configuration', (t) => {
  const env = hookEnv({ domains: { 'web-01': { rules: ['/srv/extra/** r,'], complain: true } } });
  t.is(run(env, 'web-01 prepare begin -', domainXml(env)).exitCode, 0);
  t.regex(fs.readFileSync(env.filesFile(uuid), 'utf8'), /# configuration: domains\.web-01\.rules\n\/srv\/extra\/\*\* r,/);
});

test('domains named constructor, __proto__ and toString start, with or without configuration (issue 12, finding 5)', (t) => {
  for (const [withRule, settings] of [[false, {}], [false, { domains: { web: { complain: true } } }], [true, { domains: { constructor: { rules: ['/srv/c r,'] } } }]] as const) {
    const env = hookEnv(settings);
    for (const [i, name] of ['constructor', '__proto__', 'toString'].entries()) {
      const domainUuid = `3a1f2b4c-5d6e-4f70-8a9b-0c1d2e3f4a5${i}`;
      const prepare = run(env, `${name} prepare begin -`, domainXml(env, { name, uuid: domainUuid }));
      t.is(prepare.exitCode, 0, `${name}: ${prepare.stderr.join('\n')}`);
      t.regex(prepare.log, /outcome=compiled/);
      const files = fs.readFileSync(env.filesFile(domainUuid), 'utf8');
      t.is(files.includes('/srv/c r,'), withRule && name === 'constructor', name);
    }
  }
});

test('when AppArmor is off the domain starts unconfined, with a warning and nothing written', (t) => {
  const env = hookEnv({ loader: 'kernel' });
  const outcome = run(env, 'web-01 prepare begin -', domainXml(env), { appArmor: () => ({ enabled: false, reason: '/sys/module/apparmor/parameters/enabled is N' }) });
  t.is(outcome.exitCode, 0);
  t.deepEqual(outcome.stderr, ["virt-aa-hook: warning: AppArmor is not enabled (/sys/module/apparmor/parameters/enabled is N): domain 'web-01' runs unconfined"]);
  t.false(fs.existsSync(env.filesFile(uuid)));
});

test("started checks QEMU's label, taking its pid from libvirt's root-owned status file, never from the pid file QEMU can write", (t) => {
  const env = hookEnv({ loader: 'kernel', layout: { qemuRunDir: '/nonexistent' } });
  const runDir = fs.mkdtempSync(path.join(env.root, 'run-'));
  const withPid = hookEnv({ loader: 'kernel', layout: { qemuRunDir: runDir } });
  fs.writeFileSync(path.join(runDir, 'web-01.xml'), `<domstatus state='running' reason='booted' pid='4242'>\n  <monitor path='/x'/>\n  ${domainXml(withPid)}\n</domstatus>\n`);
  // A compromised QEMU rewrites its pid file to name an innocent confined process.
  fs.writeFileSync(path.join(runDir, 'web-01.pid'), '1\n');
  const kernel: Partial<HookDeps> = { appArmor: () => ({ enabled: true }) };
  const labels = (pid: number): string | undefined => (pid === 4242 ? `libvirt-${uuid} (enforce)` : pid === 1 ? `libvirt-${uuid} (enforce)` : undefined);
  const confined = run(withPid, 'web-01 started begin -', domainXml(withPid), { ...kernel, processLabel: labels });
  t.is(confined.exitCode, 0);
  t.regex(confined.log, /pid=4242 .*outcome=confined/);
  const namespaced = run(withPid, 'web-01 started begin -', domainXml(withPid), { ...kernel, processLabel: () => `:guest-ns:libvirt-${uuid} (enforce)` });
  t.is(namespaced.exitCode, 0);
  const escaped = run(withPid, 'web-01 started begin -', domainXml(withPid), { ...kernel, processLabel: (pid) => (pid === 1 ? `libvirt-${uuid} (enforce)` : 'unconfined') });
  t.is(escaped.exitCode, 2);
  t.regex(escaped.stderr[0] ?? '', /QEMU \(pid 4242\) runs as "unconfined", not libvirt-/);
  const noStatus = run(env, 'web-01 started begin -', domainXml(env), { ...kernel, processLabel: () => `libvirt-${uuid} (enforce)` });
  t.is(noStatus.exitCode, 2);
  t.regex(noStatus.stderr[0] ?? '', /QEMU \(pid unknown\) runs as "unknown"/);
});
