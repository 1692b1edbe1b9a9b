// The built hook, run as libvirt runs it: argv by position, XML on stdin,
// an environment with nearly nothing in it.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkoutRoot } from '../helpers/apparmor-parser.ts';
import { domainXml, hookEnv, type HookEnv } from '../helpers/hook-env.ts';

const hook = path.join(checkoutRoot, 'dist/hooks/qemu');
const uuid = '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a';

function runHook(env: HookEnv, argv: readonly string[], input: string, configFile = env.configFile) {
  return spawnSync(hook, argv, { input, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LC_ALL: 'C', HOME: '/root', VIRT_AA_HOOK_CONFIG: configFile } });
}

const xmlFor = (env: HookEnv, name: string): string => domainXml(env, { name, uuid, id: 3, disk: '/srv/vms/a.img' });

for (const name of ['--version', '-x', '--help', '--']) {
  test(`a domain named ${name} is handled by position, not parsed as an option`, (t) => {
    const env = hookEnv();
    const run = runHook(env, [name, 'prepare', 'begin', '-'], xmlFor(env, name));
    t.is(run.status, 0, run.stderr);
    t.is(run.stdout, '');
    t.regex(fs.readFileSync(env.filesFile(uuid), 'utf8'), new RegExp(`"/run/libvirt/qemu/${name.replace(/-/g, '\\-')}\\.pid" rwk,`));
    const log = fs.readFileSync(env.config.paths.logFile ?? '', 'utf8');
    t.regex(log, new RegExp(`domain=${JSON.stringify(name)} profile=libvirt-${uuid} event=prepare/begin mode=wrapper rules=\\d+ notices=0 outcome=compiled \\(compile-only\\) ms=\\d+ wall=\\d+`));
  });
}

test('migrate and restore write nothing to stdout', (t) => {
  const env = hookEnv();
  for (const op of ['migrate', 'restore']) {
    const run = runHook(env, ['vm', op, 'begin', '-'], domainXml(env, { name: 'vm', uuid, id: undefined, disk: '/srv/vms/a.img' }));
    t.is(run.status, 0, run.stderr);
    t.is(run.stdout, '');
  }
});

test('an unknown operation exits 0 and changes nothing', (t) => {
  const env = hookEnv();
  const run = runHook(env, ['vm', 'teleport', 'begin', '-'], xmlFor(env, 'vm'));
  t.is(run.status, 0);
  t.is(run.stdout, '');
  t.false(fs.existsSync(env.filesFile(uuid)));
});

test('a bad configuration refuses prepare with one line naming the key, and never fails reconnect', (t) => {
  const env = hookEnv();
  const bad = path.join(env.root, 'bad.json');
  fs.writeFileSync(bad, JSON.stringify({ policy: 'sometimes', paths: { apparmorDir: env.config.paths.apparmorDir } }));
  const prepare = runHook(env, ['vm', 'prepare', 'begin', '-'], xmlFor(env, 'vm'), bad);
  t.is(prepare.status, 64);
  t.is(prepare.stderr, `virt-aa-hook: error: invalid configuration ${bad}: "policy" must be one of warn, require (got "sometimes")\n`);
  const reconnect = runHook(env, ['vm', 'reconnect', 'begin', '-'], xmlFor(env, 'vm'), bad);
  t.is(reconnect.status, 0);
  fs.writeFileSync(bad, JSON.stringify({ polcy: 'require' }));
  const typo = runHook(env, ['vm', 'prepare', 'begin', '-'], xmlFor(env, 'vm'), bad);
  t.regex(typo.stderr, /"polcy" is not a known setting/);
});

test('oversized input is refused without reading it all', (t) => {
  const env = hookEnv();
  const run = runHook(env, ['vm', 'prepare', 'begin', '-'], `<domain>${' '.repeat(11 * 1024 * 1024)}</domain>`);
  t.is(run.status, 2);
  t.is(run.stderr, 'virt-aa-hook: error: cannot read standard input: larger than 10 MiB\n');
});

test('a qemu:///session daemon (not root) runs the hook as its user: nothing stands in its way, whatever the policy', (t) => {
  if (process.getuid?.() !== 0) return t.pass('needs root to run the hook as another user');
  const env = hookEnv({ policy: 'require' });
  fs.chmodSync(env.root, 0o755);
  for (const op of ['prepare begin -', 'migrate begin -', 'release end -']) {
    const run = spawnSync(process.execPath, [hook, 'vm', ...op.split(' ')], {
      input: domainXml(env, { name: 'vm', uuid, enrolled: 'none' }),
      encoding: 'utf8',
      uid: 65534,
      gid: 65534,
      env: { PATH: '/usr/bin:/bin', LC_ALL: 'C', HOME: '/nonexistent', VIRT_AA_HOOK_CONFIG: env.configFile },
    });
    t.is(run.status, 0, `${op}: ${run.stderr}`);
    t.is(run.stdout, '');
  }
  t.false(fs.existsSync(env.filesFile(uuid)));
});
