// `doctor` and `status` of the installed program against this host's real
// libvirtd: a healthy install (the emulator wrappers' path: this kernel has
// no AppArmor, so the configuration says compile-only and doctor warns), then
// broken one way at a time: the hook changed after the daemon started, a
// running domain that nothing confines, and AppArmor off under the kernel
// loader. Asserts what they print and their exit codes.

import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkoutRoot } from '../helpers/apparmor-parser.ts';
import { defineGuest, removeGuest, type Guest } from './helpers/guests.ts';
import { cli, configFile, hookLog, hookPath, imageDir, missingPrerequisite, must, mustVirsh, run, startDaemons, writeConfig, type Run } from './helpers/host.ts';
import { defaultPaths } from '../../lib/config.ts';
import { daemonPath } from '../../lib/daemon-path.ts';

const missing = missingPrerequisite();
const guests: Guest[] = [];
const saved = new Map<string, Buffer | undefined>();
const wrapper = `${defaultPaths.emulatorDir}/qemu-system-x86_64`;

interface Check {
  readonly id: string;
  readonly state: string;
  readonly detail: string;
  readonly fix: readonly string[];
}

function doctor(): { readonly run: Run; readonly checks: ReadonlyMap<string, Check> } {
  const result = cli('doctor', '--json');
  const json = JSON.parse(result.stdout) as { checks: Check[]; exitCode: number };
  if (json.exitCode !== result.code) throw new Error(`doctor says exit ${json.exitCode}, exited ${result.code}`);
  return { run: result, checks: new Map(json.checks.map((c) => [c.id, c])) };
}

/** The checks that are neither ok nor skipped, as `id: state: detail`. */
const notOk = (checks: ReadonlyMap<string, Check>): string[] => [...checks.values()].filter((c) => c.state !== 'ok' && c.state !== 'skip').map((c) => `${c.id}: ${c.state}: ${c.detail}`);

const libvirtdPid = (): number => Number(fs.readFileSync('/run/libvirtd.pid', 'utf8').trim());

function enrolledGuest(name: string): Guest {
  const guest = defineGuest(name);
  guests.push(guest);
  const enroll = cli('enroll', '--', guest.uuid);
  if (enroll.code !== 0) throw new Error(`enroll failed: ${enroll.stderr}`);
  return guest;
}

if (missing !== undefined) {
  test.skip(`doctor and status with a real libvirtd: ${missing}`, () => {});
} else {
  test.before(() => {
    for (const file of [configFile, hookPath]) saved.set(file, fs.existsSync(file) ? fs.readFileSync(file) : undefined);
    fs.rmSync(hookLog, { force: true });
    writeConfig({});
    must(path.join(checkoutRoot, 'scripts/install'), []);
    // What earlier runs may have left: not this test's to judge.
    cli('gc');
    startDaemons();
  });

  test.after.always(() => {
    for (const guest of guests) removeGuest(guest);
    run(path.join(checkoutRoot, 'scripts/uninstall'), ['--force']);
    for (const [file, content] of saved) {
      if (content === undefined) fs.rmSync(file, { force: true });
      else fs.writeFileSync(file, content);
    }
    fs.rmSync(imageDir, { recursive: true, force: true });
  });

  test.serial('a healthy install with a confined guest running: doctor exits 0, warning only that AppArmor is off (compile-only)', (t) => {
    const guest = enrolledGuest('vah-it-doctor');
    mustVirsh('start', '--', guest.uuid);
    const { run: result, checks } = doctor();
    t.log(cli('doctor').stdout);
    t.is(result.code, 0, result.stdout);
    t.deepEqual(notOk(checks), [notOk(checks).find((l) => l.startsWith('apparmor: warn: AppArmor is not enabled')) ?? 'apparmor: a warning'], 'only the AppArmor warning');
    t.regex(checks.get('daemon')?.detail ?? '', new RegExp(`^libvirtd \\(pid ${libvirtdPid()}\\), unconfined, started `));
    t.regex(checks.get('confinement-path')?.detail ?? '', /^the emulator wrappers first in the daemon's PATH/);
    t.regex(checks.get('hook-seen')?.detail ?? '', /started after \/etc\/libvirt\/hooks\/qemu last changed/);
    t.regex(checks.get('node')?.detail ?? '', /^\/\S+node v\d+\.\d+\.\d+$/);
    t.is(checks.get('daemon-path')?.state, 'ok');
    t.regex(checks.get('capabilities')?.detail ?? '', new RegExp(wrapper));
    t.regex(checks.get('running-domains')?.detail ?? '', /^on a confinement path \(their labels say nothing: AppArmor is not enabled\): .*vah-it-doctor/);
    t.is(checks.get('helper')?.state, 'skip');

    const status = cli('status', 'vah-it-doctor');
    t.is(status.code, 0, status.stderr);
    t.log(status.stdout);
    const lines = status.stdout.split('\n');
    t.is(lines[0], `domain 'vah-it-doctor' ${guest.uuid}: running (pid ${fs.readFileSync('/run/libvirt/qemu/vah-it-doctor.pid', 'utf8').trim()})`);
    t.regex(lines[1] ?? '', new RegExp(`^ {2}confinement: not confined: AppArmor is not enabled \\(.*\\); through virt-aa-hook's emulator wrapper ${wrapper} once it is$`));
    t.regex(lines[2] ?? '', new RegExp(`^ {2}profile: {5}libvirt-${guest.uuid} not loaded \\("loader": "compile-only": compiled, never loaded\\), \\d+ rule\\(s\\), made from our template$`));
    t.is(lines[3], '  QEMU label:  cannot be read');
    t.regex(lines[4] ?? '', /^ {2}last event: {2}\d{4}-\d\d-\d\dT\S+ event=started\/begin: label not checked \(profiles are not loaded into a kernel\)$/);
    t.regex(lines[5] ?? '', /^ {2}denials: {5}(0 in \S+|unknown \(.*\))$/);
    t.regex(lines[6] ?? '', new RegExp(`^# hook and helper events from ${hookLog}; `));
    const json = JSON.parse(cli('status', '--json', guest.uuid.toUpperCase()).stdout) as { domains: { name: string; confinement: { by: string; cause: string } }[] };
    t.like(json.domains, [{ name: 'vah-it-doctor', confinement: { by: 'none', cause: 'apparmor-off' } }]);
  });

  test.serial('the hook changed after the daemon started: doctor fails hook-seen with the restart; after it, all is well again', (t) => {
    const now = new Date();
    fs.utimesSync(hookPath, now, now);
    const { run: result, checks } = doctor();
    t.is(result.code, 1);
    const seen = checks.get('hook-seen');
    t.is(seen?.state, 'fail');
    t.regex(seen?.detail ?? '', new RegExp(`^libvirtd \\(pid ${libvirtdPid()}\\) started \\S+, before /etc/libvirt/hooks/qemu last changed \\(\\S+\\): libvirt finds hooks only when it starts, so it may not run this one$`));
    t.deepEqual(seen?.fix, [`kill ${libvirtdPid()}; PATH=${daemonPath(defaultPaths.emulatorDir)} libvirtd -d`]);
    const text = cli('doctor');
    t.is(text.code, 1);
    t.regex(text.stdout, /^FAIL {2}hook-seen +the running daemon sees the hook: /m);
    t.regex(text.stdout, /^ +fix: kill \d+; PATH=\S+ libvirtd -d$/m);
    // What the fix does (no systemd here): the daemon again, with the PATH our drop-in declares.
    startDaemons();
    const after = doctor();
    t.is(after.checks.get('hook-seen')?.state, 'ok');
    t.is(after.run.code, 0, notOk(after.checks).join('\n'));
  });

  test.serial('a running domain nothing confines: doctor fails running-domains with enroll; status says why', (t) => {
    const guest = defineGuest('vah-it-unconfined');
    guests.push(guest);
    // The default policy ("warn") lets it start unconfined, with a warning.
    mustVirsh('start', '--', guest.uuid);
    const { run: result, checks } = doctor();
    t.is(result.code, 1);
    const running = checks.get('running-domains');
    t.is(running?.state, 'fail');
    t.regex(running?.detail ?? '', /'vah-it-unconfined' not confined: its emulator "\/usr\/bin\/qemu-system-x86_64" is not virt-aa-hook's wrapper: run 'virt-aa-hook enroll vah-it-unconfined'/);
    t.deepEqual(running?.fix, ['virt-aa-hook enroll vah-it-unconfined   # or "confine": false for it in /etc/virt-aa-hook/config.json', 'virsh shutdown vah-it-unconfined', 'virsh start vah-it-unconfined   # once it is shut off']);
    const status = cli('status', 'vah-it-unconfined');
    t.is(status.code, 0);
    t.regex(status.stdout, /^ {2}confinement: not confined: its emulator "\/usr\/bin\/qemu-system-x86_64" is not virt-aa-hook's wrapper: run 'virt-aa-hook enroll vah-it-unconfined'/m);
    t.regex(status.stdout, /^ {2}last event: {2}\S+ event=started\/begin: not ours \(unenrolled\)$/m);
    t.regex(status.stdout, /^ {2}profile: {5}libvirt-\S+ not loaded \(.*\), no rules file, no profile file$/m);
    // Both domains, in one listing.
    const all = cli('status');
    t.is((all.stdout.match(/^domain '/gm) ?? []).length >= 2, true, all.stdout);
    mustVirsh('destroy', '--', guest.uuid);
    t.is(doctor().run.code, 0, 'nothing unconfined runs any more');
  });

  test.serial('AppArmor off under the kernel loader: doctor fails apparmor with the kernel command line', (t) => {
    writeConfig({ loader: 'kernel' });
    const { run: result, checks } = doctor();
    t.is(result.code, 1);
    t.like(checks.get('apparmor'), { state: 'fail' });
    t.regex(checks.get('apparmor')?.detail ?? '', /^AppArmor is not enabled \(.*\): every domain runs unconfined$/);
    t.deepEqual(checks.get('apparmor')?.fix, ['boot a kernel with AppArmor (Debian\'s linux-image-amd64) with "apparmor=1 security=apparmor" on its command line: add them to GRUB_CMDLINE_LINUX in /etc/default/grub, run update-grub, reboot']);
    t.regex(cli('status', 'vah-it-doctor').stdout, /^ {2}confinement: not confined: AppArmor is not enabled /m);
    writeConfig({});
  });

  test.serial('an invalid configuration: doctor fails its config check and checks the rest with the defaults', (t) => {
    writeConfig({ mode: 'sideways' });
    const { run: result, checks } = doctor();
    t.is(result.code, 1);
    t.like(checks.get('config'), { state: 'fail', fix: ['correct /etc/virt-aa-hook/config.json as the message says'] });
    t.regex(checks.get('config')?.detail ?? '', /^invalid configuration \/etc\/virt-aa-hook\/config\.json: "mode" must be one of wrapper, libvirt \(got "sideways"\): the hook refuses every start with it/);
    t.is(checks.get('hook')?.state, 'ok');
    writeConfig({});
  });

  test.serial('status of a domain libvirt does not have: one line, exit 64', (t) => {
    const result = cli('status', 'no-such-domain');
    t.is(result.code, 64);
    t.is(result.stderr, "virt-aa-hook: error: no domain 'no-such-domain': libvirt has no definition or status file of that name or UUID (in /etc/libvirt/qemu and /run/libvirt/qemu)\n");
    t.is(result.stdout, '');
  });
}
