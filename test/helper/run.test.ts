// virt-aa-helper's commands against a temp AppArmor directory with the real
// apparmor_parser (compile-only: this kernel has no AppArmor; which tasks run
// in a profile is a stand-in where a test says so).

import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readState } from '../../lib/apparmor/state.ts';
import { parseHelperArgv } from '../../lib/helper/argv.ts';
import { runHelper, type HelperDeps, type HelperOutcome } from '../../lib/helper/run.ts';
import { compileProfile } from '../helpers/apparmor-parser.ts';
import { domainXml, hookEnv, type HookEnv } from '../helpers/hook-env.ts';

const uuid = '3a1f2b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b';
const profile = `libvirt-${uuid}`;

function helper(env: HookEnv, argv: string, xml = '', overrides: Partial<HelperDeps> = {}): Extract<HelperOutcome, { kind: 'done' }> {
  const outcome = runHelper(parseHelperArgv(argv.split(' ').filter((a) => a !== '')), { ...env.deps(), readXml: () => xml, ...overrides });
  if (outcome.kind !== 'done') throw new Error(`passed through: ${outcome.reason}`);
  return outcome;
}

/** A domain of libvirt's dynamic driver: no <emulator> of ours, no seclabel. */
const driverXml = (env: HookEnv, extra: Parameters<typeof domainXml>[1] = {}): string => domainXml(env, { enrolled: 'none', ...extra });

test('-c creates the profile from our template and loads it; a second -c says the profile exists, as libvirt does', (t) => {
  const env = hookEnv();
  const created = helper(env, `-c -u ${profile}`, driverXml(env));
  t.is(created.exitCode, 0, created.stderr.join('\n'));
  t.regex(created.log, /domain="web-01" profile=libvirt-\S+ helper="-c" mode=driver rules=\d+ appended=0 notices=0 outcome=compiled/);
  const text = fs.readFileSync(env.profileFile(uuid), 'utf8');
  t.regex(text, /#include <abstractions\/virt-aa-hook\/qemu>/);
  t.regex(fs.readFileSync(env.filesFile(uuid), 'utf8'), /"\/srv\/vms\/web-01\.img" rwk,/);
  t.like(readState(env.config.paths.stateDir, uuid), { mode: 'driver', appended: [], domainId: 4 });
  const again = helper(env, `-c -u ${profile}`, driverXml(env));
  t.is(again.exitCode, 1);
  t.deepEqual(again.stderr, [`virt-aa-hook: error: path "${env.profileFile(uuid)}": profile exists`]);
});

test('-r -F adds a hotplugged disk through our policy; /etc/shadow is refused with one line and changes nothing', (t) => {
  const env = hookEnv();
  helper(env, `-c -u ${profile}`, driverXml(env));
  const added = helper(env, `-r -u ${profile} -F /srv/vms/hot.qcow2`, driverXml(env));
  t.is(added.exitCode, 0, added.stderr.join('\n'));
  const files = fs.readFileSync(env.filesFile(uuid), 'utf8');
  t.regex(files, /# libvirt at run time: path added with virt-aa-helper -F\n"\/srv\/vms\/hot\.qcow2" rwk,/);
  const refused = helper(env, `-r -u ${profile} -F /etc/shadow`, driverXml(env));
  t.is(refused.exitCode, 1);
  t.deepEqual(refused.stderr, [`virt-aa-hook: error: domain 'web-01', libvirt at run time, path "/etc/shadow": refusing to grant rwk access for the path added with virt-aa-helper -F: /etc is restricted`]);
  t.is(fs.readFileSync(env.filesFile(uuid), 'utf8'), files);
  t.deepEqual(readState(env.config.paths.stateDir, uuid)?.appended, [{ path: '/srv/vms/hot.qcow2', subtree: false }]);
});

test('globs in an appended path are literal; libvirt\'s DIR/{,**} is its subtree', (t) => {
  const env = hookEnv();
  helper(env, `-c -u ${profile}`, driverXml(env));
  t.is(helper(env, `-r -u ${profile} -F /srv/vms/*`, driverXml(env)).exitCode, 0);
  t.is(helper(env, `-r -u ${profile} -F /dev/hugepages/libvirt/qemu/4-web-01/{,**}`, driverXml(env)).exitCode, 0);
  const files = fs.readFileSync(env.filesFile(uuid), 'utf8');
  t.regex(files, /^"\/srv\/vms\/\\\*" rwk,$/m);
  t.regex(files, /^"\/dev\/hugepages\/libvirt\/qemu\/4-web-01\/" r,$/m);
  t.regex(files, /^"\/dev\/hugepages\/libvirt\/qemu\/4-web-01\/\*\*" rwk,$/m);
  t.true(compileProfile(`profile t {\n${files}\n}\n`).ok);
});

test('-r after an unplug drops device paths libvirt added but keeps its run-time directories; -F never drops', (t) => {
  const env = hookEnv();
  helper(env, `-c -u ${profile}`, driverXml(env));
  for (const file of ['/srv/vms/hot.qcow2', '/var/lib/libvirt/qemu/domain-4-web-01/master-key.aes', '/dev/hugepages/libvirt/qemu/4-web-01/{,**}']) {
    t.is(helper(env, `-r -u ${profile} -F ${file}`, driverXml(env)).exitCode, 0);
  }
  t.is(readState(env.config.paths.stateDir, uuid)?.appended.length, 3);
  const replaced = helper(env, `-r -u ${profile}`, driverXml(env));
  t.is(replaced.exitCode, 0);
  const files = fs.readFileSync(env.filesFile(uuid), 'utf8');
  t.false(files.includes('hot.qcow2'), 'the unplugged disk is gone');
  t.true(files.includes('"/dev/hugepages/libvirt/qemu/4-web-01/**" rwk,'), 'the hugepage directory stays');
  t.deepEqual(readState(env.config.paths.stateDir, uuid)?.appended, [
    { path: '/var/lib/libvirt/qemu/domain-4-web-01/master-key.aes', subtree: false },
    { path: '/dev/hugepages/libvirt/qemu/4-web-01', subtree: true },
  ]);
  // -f regenerates like -r, plus its file.
  t.is(helper(env, `-r -u ${profile} -f /srv/vms/other.img`, driverXml(env)).exitCode, 0);
  t.is(readState(env.config.paths.stateDir, uuid)?.appended.length, 3);
});

test('an append that a broader rule already covers changes no text, so nothing is recompiled', (t) => {
  const env = hookEnv();
  helper(env, `-c -u ${profile}`, driverXml(env));
  const before = fs.readFileSync(env.filesFile(uuid), 'utf8');
  const covered = helper(env, `-r -u ${profile} -F /var/lib/libvirt/qemu/domain-4-web-01/{,**}`, driverXml(env));
  t.regex(covered.log, /appended=1 .*outcome=unchanged/);
  t.is(fs.readFileSync(env.filesFile(uuid), 'utf8'), before);
});

test('appends of an earlier run of the domain (another id) do not carry over', (t) => {
  const env = hookEnv();
  helper(env, `-c -u ${profile}`, driverXml(env));
  helper(env, `-r -u ${profile} -F /dev/hugepages/libvirt/qemu/4-web-01/{,**}`, driverXml(env));
  const nextRun = helper(env, `-r -u ${profile}`, driverXml(env, { id: 9 }));
  t.regex(nextRun.log, /appended=0/);
});

test('a descriptor libvirt resolved to a pipe names no file: skipped with a warning, as libvirt\'s helper does', (t) => {
  const env = hookEnv();
  helper(env, `-c -u ${profile}`, driverXml(env));
  const piped = helper(env, `-r -u ${profile} -F pipe:[4242]`, driverXml(env));
  t.is(piped.exitCode, 0);
  t.deepEqual(piped.stderr, ['virt-aa-helper: warning: skipped "pipe:[4242]": not an absolute path']);
  t.deepEqual(readState(env.config.paths.stateDir, uuid)?.appended, []);
});

test('-D unloads and removes what we generated; an admin-edited profile stays', (t) => {
  const env = hookEnv();
  helper(env, `-c -u ${profile}`, driverXml(env));
  const deleted = helper(env, `-D -u ${profile}`);
  t.is(deleted.exitCode, 0);
  t.regex(deleted.log, /domain="web-01" .*helper="-D" mode=driver outcome=not-loaded/);
  t.false(fs.existsSync(env.profileFile(uuid)));
  t.false(fs.existsSync(env.filesFile(uuid)));
  t.is(readState(env.config.paths.stateDir, uuid), undefined);
  t.is(helper(env, `-D -u ${profile}`).exitCode, 0, 'twice is fine');

  helper(env, `-c -u ${profile}`, driverXml(env));
  const edited = `${fs.readFileSync(env.profileFile(uuid), 'utf8')}# mine\n`;
  fs.writeFileSync(env.profileFile(uuid), edited);
  const replaced = helper(env, `-r -u ${profile}`, driverXml(env));
  t.regex(replaced.log, /admin-edited profile kept/);
  helper(env, `-D -u ${profile}`);
  t.is(fs.readFileSync(env.profileFile(uuid), 'utf8'), edited);
});

test("a profile libvirt's own helper made from its TEMPLATE.qemu is replaced by ours at the next -r", (t) => {
  const env = hookEnv();
  const libvirtDir = path.join(env.config.paths.apparmorDir, 'libvirt');
  fs.mkdirSync(libvirtDir, { recursive: true });
  const template = '#\n# This profile is for the domain whose UUID matches this file.\n#\n\n#include <tunables/global>\n\nprofile LIBVIRT_TEMPLATE flags=(attach_disconnected) {\n  #include <abstractions/libvirt-qemu>\n}\n';
  fs.writeFileSync(path.join(libvirtDir, 'TEMPLATE.qemu'), template);
  // What libvirt 9.0's create_profile wrote.
  fs.writeFileSync(env.profileFile(uuid), template.replace('profile LIBVIRT_TEMPLATE', `profile ${profile}`).replace('\n}', `\n  #include <libvirt/${profile}.files>\n\n}`));
  const replaced = helper(env, `-r -u ${profile}`, driverXml(env));
  t.is(replaced.exitCode, 0, replaced.stderr.join('\n'));
  t.regex(replaced.log, /libvirt's virt-aa-helper profile replaced/);
  t.regex(fs.readFileSync(env.profileFile(uuid), 'utf8'), /abstractions\/virt-aa-hook\/qemu/);
});

test('-R refuses to unload a profile tasks still run in; -R and -a of a profile that does not exist fail', (t) => {
  const env = hookEnv();
  helper(env, `-c -u ${profile}`, driverXml(env));
  const busy = helper(env, `-R -u ${profile}`, '', { tasksOf: () => [4242] });
  t.is(busy.exitCode, 1);
  t.regex(busy.stderr[0] ?? '', /not unloading libvirt-\S+: 1 task\(s\) still run in it \(pid 4242\)/);
  t.is(helper(env, `-R -u ${profile}`).exitCode, 0);
  t.is(helper(env, `-a -u ${profile}`).exitCode, 0);
  const missing = 'libvirt-00000000-0000-0000-0000-000000000001';
  t.is(helper(env, `-R -u ${missing}`).exitCode, 1);
  t.is(helper(env, `-a -u ${missing}`).exitCode, 1);
});

test('-D of a domain whose QEMU still runs puts the deny-all placeholder in place instead of leaving it unconfined', (t) => {
  const env = hookEnv();
  helper(env, `-c -u ${profile}`, driverXml(env));
  const deleted = helper(env, `-D -u ${profile}`, '', { tasksOf: () => [4242], isLoaded: () => true });
  t.regex(deleted.log, /outcome=placeholder \(tasks still attached\)/);
  t.true(fs.existsSync(path.join(env.config.paths.apparmorDir, 'virt-aa-hook/placeholders', profile)));
});

test('what is not ours goes to libvirt\'s helper: LXC domains and options we do not know', (t) => {
  const env = hookEnv();
  const lxc = `<domain type='lxc'><name>c1</name><uuid>${uuid}</uuid><os><type>exe</type><init>/sbin/init</init></os></domain>`;
  const outcome = runHelper(parseHelperArgv(['-c', '-u', profile]), { ...env.deps(), readXml: () => lxc });
  t.deepEqual(outcome, { kind: 'pass-through', reason: "domain type 'lxc' is not one virt-aa-hook confines", xml: lxc });
  t.like(runHelper(parseHelperArgv(['-p', '1', '-r', '-u', profile]), { ...env.deps(), readXml: () => '' }), { kind: 'pass-through' });
  t.false(fs.existsSync(env.filesFile(uuid)));
});

test('bad input: one line and exit 1, nothing written', (t) => {
  const env = hookEnv();
  const cases: readonly (readonly [string, string, RegExp])[] = [
    ['-c', driverXml(env), /^virt-aa-hook: error: invalid UUID ""$/],
    [`-c -u ${profile.slice(0, -1)}x`, driverXml(env), /invalid UUID/],
    [`-c -u libvirt-00000000-0000-0000-0000-00000000000a`, driverXml(env), /given uuid does not match XML uuid \(libvirt-3a1f2b4c/],
    [`-c -u ${profile}`, '<domain', /malformed/],
    [`-c -u ${profile}`, driverXml(env, { disk: '/etc/passwd' }), /^virt-aa-hook: error: domain 'web-01', disk 'vda', path "\/etc\/passwd": refusing to grant rwk access/],
    ['-u x', '', /bad command/],
  ];
  for (const [argv, xml, line] of cases) {
    const outcome = helper(env, argv, xml);
    t.is(outcome.exitCode, 1, argv);
    t.is(outcome.stderr.length, 1, argv);
    t.regex(outcome.stderr[0] ?? '', line);
  }
  t.false(fs.existsSync(env.filesFile(uuid)));
  t.false(fs.existsSync(env.profileFile(uuid)));
});

test('-d prints what would be written, on stderr as libvirt\'s helper does, and writes nothing', (t) => {
  const env = hookEnv();
  const dry = helper(env, `-d -c -u ${profile}`, driverXml(env));
  t.is(dry.exitCode, 0);
  t.is(dry.stderr[0], 'virt-aa-helper:');
  t.is(dry.stderr[1], env.filesFile(uuid));
  t.regex(dry.stderr[3] ?? '', /"\/srv\/vms\/web-01\.img" rwk,/);
  t.is(dry.stderr[5], env.profileFile(uuid));
  t.false(fs.existsSync(env.filesFile(uuid)));
  t.false(fs.existsSync(env.config.paths.stateDir));
});
