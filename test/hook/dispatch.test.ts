import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dispatch, type HookDeps } from '../../lib/hook/dispatch.ts';
import { parseHookArgv } from '../../lib/hook/event.ts';
import { readState } from '../../lib/apparmor/state.ts';
import { compileProfile } from '../helpers/apparmor-parser.ts';
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
  t.deepEqual(outcome.stderr, ["virt-aa-hook: warning: domain 'web-01' runs unconfined: it is not enrolled (run 'virt-aa-hook enroll web-01')"]);
  t.false(fs.existsSync(warn.filesFile(uuid)));
  const require = hookEnv({ policy: 'require' });
  const refused = run(require, 'web-01 prepare begin -', domainXml(require, { enrolled: 'none' }), notLoaded);
  t.is(refused.exitCode, 2);
  t.regex(refused.stderr[0] ?? '', /^virt-aa-hook: error: domain 'web-01': refusing to start an unconfined domain: it is not enrolled/);
});

test("a domain libvirt's own driver labels is left alone", (t) => {
  const env = hookEnv({ libvirtDriver: 'active' });
  const xml = domainXml(env, { enrolled: 'none', seclabel: "<seclabel type='dynamic' model='apparmor' relabel='yes'/>" });
  for (const op of ['prepare begin -', 'release end -']) {
    const outcome = run(env, `web-01 ${op}`, xml);
    t.is(outcome.exitCode, 0);
    t.regex(outcome.log, /left to libvirt's AppArmor driver|not ours \(libvirt-dynamic\)/);
  }
  t.false(fs.existsSync(env.filesFile(uuid)));
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

test('started checks the QEMU label against the profile when profiles are really loaded', (t) => {
  const env = hookEnv({ loader: 'kernel', layout: { qemuRunDir: '/nonexistent' } });
  const runDir = fs.mkdtempSync(path.join(env.root, 'run-'));
  const withPid = hookEnv({ loader: 'kernel', layout: { qemuRunDir: runDir } });
  fs.writeFileSync(path.join(runDir, 'web-01.pid'), '4242\n');
  const kernel: Partial<HookDeps> = { appArmor: () => ({ enabled: true }) };
  const confined = run(withPid, 'web-01 started begin -', domainXml(withPid), { ...kernel, processLabel: (pid) => (pid === 4242 ? `libvirt-${uuid} (enforce)` : undefined) });
  t.is(confined.exitCode, 0);
  t.regex(confined.log, /pid=4242 .*outcome=confined/);
  const namespaced = run(withPid, 'web-01 started begin -', domainXml(withPid), { ...kernel, processLabel: () => `:guest-ns:libvirt-${uuid} (enforce)` });
  t.is(namespaced.exitCode, 0);
  const escaped = run(withPid, 'web-01 started begin -', domainXml(withPid), { ...kernel, processLabel: () => 'unconfined' });
  t.is(escaped.exitCode, 2);
  t.regex(escaped.stderr[0] ?? '', /QEMU \(pid 4242\) runs as "unconfined", not libvirt-/);
  const noPid = run(env, 'web-01 started begin -', domainXml(env), { ...kernel, processLabel: () => undefined });
  t.is(noPid.exitCode, 2);
});
