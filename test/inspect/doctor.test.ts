// Every doctor check over literal facts: each healthy on both confinement
// paths (or skipped where it does not apply), and broken one fact at a time,
// with the exact fix it prints.

import test from 'ava';
import { parseConfig } from '../../lib/config.ts';
import { daemonPath } from '../../lib/daemon-path.ts';
import { checks, runChecks, type Check } from '../../lib/inspect/doctor.ts';
import type { InspectFacts } from '../../lib/inspect/facts.ts';
import { doctorExitCode, doctorJson, doctorText } from '../../lib/inspect/render.ts';
import { domain, driverHost, emulatorDir, otherUuid, t0, uuid, wrapper, wrapperHost } from '../helpers/inspect-facts.ts';

const check = (facts: InspectFacts, id: string): Check => {
  const found = runChecks(facts).find((c) => c.id === id);
  if (found === undefined) throw new Error(`no check ${id}`);
  return found;
};

const restart = 'systemctl daemon-reload && systemctl restart libvirtd';
const reinstall = 'run scripts/install from the virt-aa-hook checkout again (or reinstall its package)';
const noSystemd = (facts: InspectFacts): InspectFacts => ({ ...facts, service: { systemd: false, initScripts: new Map() } });

test('both healthy hosts: every check ok or skipped, exit 0; each check has a unique id', (t) => {
  for (const [host, facts] of [
    ['wrapper', wrapperHost()],
    ['driver', driverHost()],
  ] as const) {
    const results = runChecks(facts);
    t.deepEqual(
      results.filter((c) => c.state !== 'ok' && c.state !== 'skip').map((c) => `${c.id}: ${c.detail}`),
      [],
      host,
    );
    t.is(doctorExitCode(results), 0);
    t.true(results.every((c) => c.state !== 'ok' || c.fix.length === 0));
  }
  t.is(new Set(runChecks(wrapperHost()).map((c) => c.id)).size, checks.length);
  t.deepEqual(
    runChecks(wrapperHost()).filter((c) => c.state === 'skip').map((c) => c.id),
    ['helper', 'helper-profile', 'wrappers-under-driver'],
  );
  t.deepEqual(
    runChecks(driverHost()).filter((c) => c.state === 'skip').map((c) => c.id),
    [],
  );
});

test('config: an invalid configuration fails (the hook refuses every start with it); the rest is checked with the defaults', (t) => {
  t.like(check(wrapperHost(), 'config'), { state: 'ok', detail: '/etc/virt-aa-hook/config.json: "policy": "require", "loader": "kernel", "libvirtDriver": "auto"' });
  const bad = check({ ...wrapperHost(), configProblem: 'invalid configuration /etc/virt-aa-hook/config.json: "mode" must be one of wrapper, libvirt (got "x")' }, 'config');
  t.like(bad, { state: 'fail', detail: 'invalid configuration /etc/virt-aa-hook/config.json: "mode" must be one of wrapper, libvirt (got "x"): the hook refuses every start with it, and doctor checked the rest with the defaults' });
  t.deepEqual(bad.fix, ['correct /etc/virt-aa-hook/config.json as the message says']);
});

test('apparmor: off is a failure with the kernel command line; under compile-only a warning; securityfs unmounted gets the mount', (t) => {
  t.like(check(wrapperHost(), 'apparmor'), { state: 'ok', detail: 'AppArmor is enabled (/sys/kernel/security/apparmor)' });
  const off: InspectFacts = { ...wrapperHost(), appArmor: { enabled: false, reason: '/sys/module/apparmor/parameters/enabled reads "N": AppArmor is disabled in the kernel' } };
  const failed = check(off, 'apparmor');
  t.is(failed.state, 'fail');
  t.is(failed.detail, 'AppArmor is not enabled (/sys/module/apparmor/parameters/enabled reads "N": AppArmor is disabled in the kernel): every domain runs unconfined');
  t.deepEqual(failed.fix, ['boot a kernel with AppArmor (Debian\'s linux-image-amd64) with "apparmor=1 security=apparmor" on its command line: add them to GRUB_CMDLINE_LINUX in /etc/default/grub, run update-grub, reboot']);
  t.is(doctorExitCode(runChecks(off)), 1);
  const compileOnly: InspectFacts = { ...off, config: parseConfig('{"loader": "compile-only"}') };
  t.like(check(compileOnly, 'apparmor'), { state: 'warn' });
  t.regex(check(compileOnly, 'apparmor').detail, /"loader": "compile-only" in \/etc\/virt-aa-hook\/config\.json: profiles are compiled, never loaded, and no domain is confined$/);
  const unmounted: InspectFacts = { ...wrapperHost(), appArmor: { enabled: false, reason: '/sys/kernel/security/apparmor is not a directory: securityfs is not mounted' } };
  t.deepEqual(check(unmounted, 'apparmor').fix, ['mount -t securityfs securityfs /sys/kernel/security']);
});

test('parser: missing or older than 3.0 fails with the package to install', (t) => {
  t.like(check(wrapperHost(), 'parser'), { state: 'ok', detail: '/sbin/apparmor_parser version 3.0.8' });
  const missing = check({ ...wrapperHost(), parser: { path: '/sbin/apparmor_parser', version: undefined, problem: 'spawnSync /sbin/apparmor_parser ENOENT' } }, 'parser');
  t.like(missing, { state: 'fail', detail: 'cannot run /sbin/apparmor_parser: spawnSync /sbin/apparmor_parser ENOENT' });
  t.deepEqual(missing.fix, ['apt-get install apparmor']);
  t.like(check({ ...wrapperHost(), parser: { path: '/sbin/apparmor_parser', version: '2.13.6', problem: undefined } }, 'parser'), { state: 'fail', detail: "/sbin/apparmor_parser is version 2.13.6; virt-aa-hook's profiles need 3.0 or newer" });
});

test('abi: the template, its abi file, the kernel features or the features file', (t) => {
  t.like(check(wrapperHost(), 'abi'), { state: 'ok', detail: 'abi <abi/3.0> (/etc/apparmor.d/abi/3.0); the kernel has caps, domain, file, network, policy' });
  const host = wrapperHost();
  const noFile = check({ ...host, abi: { ...host.abi, file: undefined } }, 'abi');
  t.like(noFile, { state: 'fail', detail: 'abi <abi/3.0> is in neither /etc/apparmor.d nor the include directories: apparmor_parser cannot compile our profiles' });
  t.deepEqual(noFile.fix, ['apt-get install apparmor (3.0 or newer: it ships /etc/apparmor.d/abi/3.0)']);
  const noTemplate = check({ ...host, abi: { ...host.abi, template: undefined } }, 'abi');
  t.like(noTemplate, { state: 'fail', fix: [reinstall] });
  const features = check({ ...host, abi: { ...host.abi, featuresFile: { path: '/srv/features', exists: false } } }, 'abi');
  t.like(features, { state: 'fail', detail: 'paths.featuresFile names /srv/features, which does not exist' });
  t.deepEqual(features.fix, ['set "paths": {"featuresFile": null} in /etc/virt-aa-hook/config.json, or point it at an existing features file']);
  t.like(check({ ...host, abi: { ...host.abi, featuresFile: { path: '/srv/features', exists: true } } }, 'abi'), { state: 'ok' });
  t.like(check({ ...host, abi: { ...host.abi, kernelFeatures: undefined } }, 'abi'), { state: 'fail', fix: ['mount -t securityfs securityfs /sys/kernel/security'] });
});

test('daemon: which one runs and whether it is confined; none is a failure with the start command of this host', (t) => {
  t.like(check(wrapperHost(), 'daemon'), { state: 'ok', detail: 'libvirtd (pid 700), unconfined, started 2026-12-07T10:01:00.000Z' });
  t.like(check(driverHost(), 'daemon'), { state: 'ok', detail: 'libvirtd (pid 700), confined as "libvirtd (enforce)", started 2026-12-07T10:01:00.000Z' });
  const none = { ...wrapperHost(), daemons: [] };
  t.like(check(none, 'daemon'), { state: 'fail', fix: ['systemctl start libvirtd (or virtqemud, on a modular libvirt)'] });
  t.deepEqual(check({ ...none, service: { systemd: false, initScripts: new Map([['libvirtd', '/etc/init.d/libvirtd']]) } }, 'daemon').fix, ['/etc/init.d/libvirtd start']);
  t.deepEqual(check(noSystemd(none), 'daemon').fix, [`PATH=${daemonPath(emulatorDir)} libvirtd -d`]);
});

test("confinement-path: ours and libvirt's agree on each host; a daemon started before its profile, or a configuration that says otherwise, fails", (t) => {
  t.like(check(wrapperHost(), 'confinement-path'), { state: 'ok', detail: "the emulator wrappers first in the daemon's PATH (libvirt's AppArmor driver is not active: no AppArmor profile of libvirtd or virtqemud is loaded)" });
  t.like(check(driverHost(), 'confinement-path'), { state: 'ok', detail: "libvirt's AppArmor driver, which runs virt-aa-hook's virt-aa-helper for every domain" });
  const stale = check({ ...driverHost(), capabilities: wrapperHost().capabilities }, 'confinement-path');
  t.is(stale.state, 'fail');
  t.regex(stale.detail, /the running daemon does not use it \(virsh capabilities names no apparmor secmodel: it started before its profile was loaded\)/);
  t.deepEqual(stale.fix, [restart]);
  const forced = check({ ...wrapperHost(), config: parseConfig('{"libvirtDriver": "active"}'), capabilities: wrapperHost().capabilities }, 'confinement-path');
  t.deepEqual(forced.fix, ['set "libvirtDriver": "auto" in /etc/virt-aa-hook/config.json']);
  const missed = check({ ...wrapperHost(), capabilities: driverHost().capabilities }, 'confinement-path');
  t.like(missed, { state: 'fail', fix: ['set "libvirtDriver": "active" in /etc/virt-aa-hook/config.json'] });
  t.like(check({ ...wrapperHost(), capabilities: { problem: 'virsh capabilities failed: error: failed to connect' } }, 'confinement-path'), { state: 'ok' });
});

test('hook: missing, not ours, or not executable', (t) => {
  t.like(check(wrapperHost(), 'hook'), { state: 'ok', detail: '/etc/libvirt/hooks/qemu, changed 2026-12-07T10:00:00.000Z' });
  const host = wrapperHost();
  t.like(check({ ...host, hook: { ...host.hook, changedAtMs: undefined } }, 'hook'), { state: 'fail', detail: 'there is no /etc/libvirt/hooks/qemu: libvirt runs no virt-aa-hook hook', fix: [reinstall] });
  t.like(check({ ...host, hook: { ...host.hook, mentionsUs: false, shebang: '#!/bin/sh' } }, 'hook'), { state: 'fail', detail: "/etc/libvirt/hooks/qemu is not virt-aa-hook's hook" });
  t.like(check({ ...host, hook: { ...host.hook, executable: false } }, 'hook'), { state: 'fail', fix: ['chmod 0755 /etc/libvirt/hooks/qemu'] });
});

test('hook-seen: a hook changed after the daemon started is one it may never have seen; the restart of this host', (t) => {
  t.like(check(wrapperHost(), 'hook-seen'), { state: 'ok', detail: 'libvirtd (pid 700) started after /etc/libvirt/hooks/qemu last changed (2026-12-07T10:00:00.000Z)' });
  const host = wrapperHost();
  const changed = { ...host, hook: { ...host.hook, changedAtMs: t0 + 120_000 } };
  const blind = check(changed, 'hook-seen');
  t.is(blind.state, 'fail');
  t.is(blind.detail, 'libvirtd (pid 700) started 2026-12-07T10:01:00.000Z, before /etc/libvirt/hooks/qemu last changed (2026-12-07T10:02:00.000Z): libvirt finds hooks only when it starts, so it may not run this one');
  t.deepEqual(blind.fix, [restart]);
  t.deepEqual(check(noSystemd(changed), 'hook-seen').fix, [`kill 700; PATH=${daemonPath(emulatorDir)} libvirtd -d`]);
  t.deepEqual(check({ ...noSystemd(driverHost()), hook: changed.hook }, 'hook-seen').fix, ['kill 700; libvirtd -d'], "no PATH of ours where libvirt's driver confines");
  t.like(check({ ...host, hook: { ...host.hook, changedAtMs: undefined } }, 'hook-seen'), { state: 'skip' });
  t.like(check({ ...host, daemons: [] }, 'hook-seen'), { state: 'skip' });
});

test("node: the hook's shebang names node 18.19 or newer, by absolute path", (t) => {
  t.like(check(wrapperHost(), 'node'), { state: 'ok', detail: '/usr/bin/node v20.19.2' });
  const fix = ['install Node.js 18.19 or newer, then run scripts/install --node /path/to/node from the virt-aa-hook checkout (it writes the shebang)'];
  t.like(check({ ...wrapperHost(), node: { path: '/usr/bin/node', version: 'v18.18.2', problem: undefined } }, 'node'), { state: 'fail', detail: 'the hook runs on /usr/bin/node v18.18.2; virt-aa-hook needs Node.js 18.19 or newer', fix });
  t.like(check({ ...wrapperHost(), node: { path: '/usr/bin/node', version: 'v18.19.0', problem: undefined } }, 'node'), { state: 'ok' });
  t.like(check({ ...wrapperHost(), node: { path: '/usr/bin/env', version: undefined, problem: 'runs node through env' } }, 'node'), { state: 'fail', detail: '/etc/libvirt/hooks/qemu runs node through /usr/bin/env: under a confined libvirtd it would run unconfined' });
  t.like(check({ ...wrapperHost(), node: { path: '/opt/node/bin/node', version: undefined, problem: 'spawnSync /opt/node/bin/node ENOENT' } }, 'node'), { state: 'fail', detail: "the hook's shebang names /opt/node/bin/node, which does not run: spawnSync /opt/node/bin/node ENOENT" });
  t.like(check({ ...wrapperHost(), node: undefined }, 'node'), { state: 'fail', detail: '/etc/libvirt/hooks/qemu has no "#!" line' });
});

test("helper: ours at libvirt's path, libvirt's diverted aside (driver hosts only)", (t) => {
  t.like(check(wrapperHost(), 'helper'), { state: 'skip' });
  t.like(check(driverHost(), 'helper'), { state: 'ok', detail: "ours at /usr/lib/libvirt/virt-aa-helper, libvirt's at /usr/lib/libvirt/virt-aa-helper.distrib (local diversion of /usr/lib/libvirt/virt-aa-helper to /usr/lib/libvirt/virt-aa-helper.distrib)" });
  const host = driverHost();
  const libvirts = { ...host, helper: { ...host.helper, atLibvirtPath: { ...host.helper.atLibvirtPath, mentionsUs: false, shebang: undefined } } };
  t.like(check(libvirts, 'helper'), { state: 'fail', detail: "/usr/lib/libvirt/virt-aa-helper is libvirt's own virt-aa-helper: domains get libvirt's profiles, not virt-aa-hook's", fix: [reinstall] });
  t.like(check({ ...host, helper: { ...host.helper, original: { ...host.helper.original, changedAtMs: undefined } } }, 'helper'), { state: 'warn' });
  const undiverted = check({ ...host, helper: { ...host.helper, diversion: '' } }, 'helper');
  t.is(undiverted.state, 'warn');
  t.deepEqual(undiverted.fix, ['dpkg-divert --local --divert /usr/lib/libvirt/virt-aa-helper.distrib --add /usr/lib/libvirt/virt-aa-helper']);
  t.like(check({ ...host, helper: { ...host.helper, diversion: undefined } }, 'helper'), { state: 'ok', detail: "ours at /usr/lib/libvirt/virt-aa-helper, libvirt's at /usr/lib/libvirt/virt-aa-helper.distrib" });
});

test("helper-profile: our block in libvirt's local override, loaded after it changed", (t) => {
  t.like(check(wrapperHost(), 'helper-profile'), { state: 'skip' });
  t.like(check(driverHost(), 'helper-profile'), { state: 'ok', detail: 'the block is in /etc/apparmor.d/local/usr.lib.libvirt.virt-aa-helper; virt-aa-helper is loaded, exactly as its files compile now' });
  const host = driverHost();
  const reload = ['apparmor_parser -r /etc/apparmor.d/usr.lib.libvirt.virt-aa-helper'];
  t.like(check({ ...host, helper: { ...host.helper, override: { ...host.helper.override, hasBlock: false } } }, 'helper-profile'), { state: 'fail', fix: [reinstall] });
  t.like(check({ ...host, helper: { ...host.helper, override: { ...host.helper.override, hasBlock: undefined } } }, 'helper-profile'), { state: 'fail', detail: "/etc/apparmor.d/local/usr.lib.libvirt.virt-aa-helper does not exist: libvirt's profile denies our helper node and our files" });
  const unloaded = new Map([...host.loadedProfiles].filter(([name]) => name !== 'virt-aa-helper'));
  t.like(check({ ...host, loadedProfiles: unloaded }, 'helper-profile'), { state: 'fail', fix: reload });
  const stale = check({ ...host, helper: { ...host.helper, profileIsCurrent: false } }, 'helper-profile');
  t.like(stale, { state: 'fail', fix: reload, detail: "the kernel's virt-aa-helper is not what /etc/apparmor.d/usr.lib.libvirt.virt-aa-helper compiles to now: it was loaded before our block (or another change) went in" });
  t.like(check({ ...host, helper: { ...host.helper, profileIsCurrent: undefined } }, 'helper-profile'), { state: 'ok', detail: 'the block is in /etc/apparmor.d/local/usr.lib.libvirt.virt-aa-helper; virt-aa-helper is loaded (whether as its files compile now, the kernel does not say)' });
  t.like(check({ ...host, appArmor: { enabled: false, reason: 'off' } }, 'helper-profile'), { state: 'skip' });
});

test('setup: what virt-aa-hook setup would change is a failure, fixed by running it', (t) => {
  t.like(check(wrapperHost(), 'setup'), { state: 'ok', detail: `${emulatorDir} wraps every emulator; the PATH drop-in is in place` });
  t.like(check(driverHost(), 'setup'), { state: 'ok', detail: `${emulatorDir} wraps every emulator; the PATH drop-in is absent (libvirt's driver is active)` });
  const changes = { changes: [{ kind: 'touch', path: wrapper, why: '/usr/bin/qemu-system-x86_64 changed since: libvirt probes its capabilities again' } as const] };
  t.like(check({ ...wrapperHost(), setup: changes }, 'setup'), { state: 'fail', detail: `would touch ${wrapper}: /usr/bin/qemu-system-x86_64 changed since: libvirt probes its capabilities again`, fix: ['virt-aa-hook setup'] });
  t.like(check({ ...wrapperHost(), setup: { problem: 'cannot read the emulator wrapper template' } }, 'setup'), { state: 'fail', detail: 'cannot tell: cannot read the emulator wrapper template' });
});

test("daemon-path: the wrappers first where libvirt's driver is off, not where it is on", (t) => {
  t.like(check(wrapperHost(), 'daemon-path'), { state: 'ok', detail: `libvirtd (pid 700): ${emulatorDir} first in PATH` });
  t.like(check(driverHost(), 'daemon-path'), { state: 'ok' });
  const host = wrapperHost();
  const plain = check({ ...host, daemons: host.daemons.map((d) => ({ ...d, path: '/usr/sbin:/usr/bin:/sbin:/bin' })) }, 'daemon-path');
  t.like(plain, { state: 'fail', detail: 'libvirtd (pid 700) runs with PATH=/usr/sbin:/usr/bin:/sbin:/bin: libvirt finds the real emulators, and new domains are not confined', fix: [restart] });
  const driver = driverHost();
  const wrapped = check({ ...driver, daemons: driver.daemons.map((d) => ({ ...d, path: daemonPath(emulatorDir) })) }, 'daemon-path');
  t.is(wrapped.state, 'fail');
  t.regex(wrapped.detail, /libvirt names the wrappers in new domains, which its AppArmor driver cannot run$/);
  t.like(check({ ...host, daemons: host.daemons.map((d) => ({ ...d, path: undefined })) }, 'daemon-path'), { state: 'skip' });
});

test('capabilities: virsh names the wrappers where they are the path, the real emulators where the driver is', (t) => {
  t.like(check(wrapperHost(), 'capabilities'), { state: 'ok', detail: wrapper });
  t.like(check(driverHost(), 'capabilities'), { state: 'ok', detail: '/usr/bin/qemu-system-x86_64' });
  const real = check({ ...wrapperHost(), capabilities: { text: "<secmodel><model>none</model></secmodel><emulator>/usr/bin/qemu-system-x86_64</emulator><emulator>/usr/bin/qemu-system-i386</emulator>" } }, 'capabilities');
  t.like(real, { state: 'fail', detail: '/usr/bin/qemu-system-x86_64, /usr/bin/qemu-system-i386: these are not our wrappers: new domains name them and run unconfined (or are refused)', fix: [restart] });
  t.like(check({ ...driverHost(), capabilities: wrapperHost().capabilities }, 'capabilities'), { state: 'fail' });
  t.like(check({ ...wrapperHost(), capabilities: { text: '<capabilities/>' } }, 'capabilities'), { state: 'warn' });
  t.like(check({ ...wrapperHost(), capabilities: { problem: 'virsh capabilities failed: error: no connection' } }, 'capabilities'), { state: 'fail' });
  t.like(check({ ...wrapperHost(), daemons: [], capabilities: { problem: 'virsh capabilities failed' } }, 'capabilities'), { state: 'skip' });
});

test('running-domains: a QEMU outside its profile fails with the commands that confine its next start', (t) => {
  t.like(check(wrapperHost(), 'running-domains'), { state: 'ok', detail: 'in their profiles: web' });
  t.like(check(driverHost(), 'running-domains'), { state: 'ok' });
  const before = check({ ...wrapperHost(), domains: [domain({ label: 'unconfined' })] }, 'running-domains');
  t.is(before.state, 'fail');
  t.is(before.detail, `'web' not confined: QEMU (pid 4242) runs as "unconfined", although virt-aa-hook's emulator wrapper ${wrapper} confines it from its next start: restart it (virsh shutdown web, then virsh start web)`);
  t.deepEqual(before.fix, ['virsh shutdown web', 'virsh start web   # once it is shut off']);
  const plain = check({ ...wrapperHost(), domains: [domain({ name: 'plain', emulator: '/usr/bin/qemu-system-x86_64', label: 'unconfined' })] }, 'running-domains');
  t.regex(plain.detail, /^'plain' not confined: its emulator "\/usr\/bin\/qemu-system-x86_64" is not virt-aa-hook's wrapper: run 'virt-aa-hook enroll plain', or set "domains": \{"plain": \{"confine": false\}\} in \/etc\/virt-aa-hook\/config\.json/);
  t.deepEqual(plain.fix, ['virt-aa-hook enroll plain   # or "confine": false for it in /etc/virt-aa-hook/config.json', 'virsh shutdown plain', 'virsh start plain   # once it is shut off']);
  const choice = { ...wrapperHost(), config: parseConfig('{"domains": {"free": {"confine": false}}}'), domains: [domain(), domain({ name: 'free', uuid: otherUuid, emulator: '/usr/bin/qemu-system-x86_64', label: 'unconfined' })] };
  t.like(check(choice, 'running-domains'), { state: 'ok', detail: 'in their profiles: web; unconfined by choice: free' });
  const driver = driverHost();
  const unlabelled = check({ ...driver, domains: [domain({ emulator: '/usr/bin/qemu-system-x86_64', label: 'unconfined' })] }, 'running-domains');
  t.regex(unlabelled.detail, /libvirt's AppArmor driver did not label it/);
  t.deepEqual(unlabelled.fix, [restart, 'virsh shutdown web', 'virsh start web   # once it is shut off']);
  const noneLabel = check({ ...driver, domains: [domain({ emulator: '/usr/bin/qemu-system-x86_64', seclabel: "<seclabel type='none'/>", label: 'unconfined' })] }, 'running-domains');
  t.deepEqual(noneLabel.fix, ["virsh edit web   # remove <seclabel type='none'/>", 'virsh shutdown web', 'virsh start web   # once it is shut off']);
  const underDriver = check({ ...driver, domains: [domain()] }, 'running-domains');
  t.deepEqual(underDriver.fix, ['virt-aa-hook unenroll web', 'virsh shutdown web', 'virsh start web   # once it is shut off']);
  t.like(check({ ...wrapperHost(), domains: [] }, 'running-domains'), { state: 'ok', detail: 'no domain runs' });
});

test('running-domains with AppArmor off: the path is judged (AppArmor itself is its own check); a domain on no path still fails', (t) => {
  const off = { enabled: false, reason: 'the kernel has no AppArmor' } as const;
  t.like(check({ ...wrapperHost(), appArmor: off, domains: [domain({ label: undefined })] }, 'running-domains'), { state: 'ok', detail: 'on a confinement path (their labels say nothing: AppArmor is not enabled): web' });
  t.like(check({ ...wrapperHost(), appArmor: off, domains: [domain({ emulator: '/usr/bin/qemu-system-x86_64', label: undefined })] }, 'running-domains'), { state: 'fail' });
});

test('stale-profiles: profiles, rules and state of domains libvirt no longer has, and profiles loaded for domains that do not run', (t) => {
  t.like(check(wrapperHost(), 'stale-profiles'), { state: 'ok', detail: '1 profile(s), each of a domain libvirt has' });
  const host = wrapperHost();
  const gone = check({ ...host, domains: [] }, 'stale-profiles');
  t.like(gone, { state: 'fail', detail: `libvirt-${uuid} (loaded, files in /etc/apparmor.d/libvirt, state of 'web'): libvirt has no such domain`, fix: ['virt-aa-hook gc'] });
  const foreign = check({ ...host, domains: [], states: [], loadedProfiles: new Map([[`libvirt-${otherUuid}`, 'enforce']]), profileFiles: [uuid] }, 'stale-profiles');
  t.deepEqual(foreign.fix, [`rm -f /etc/apparmor.d/libvirt/libvirt-${uuid} /etc/apparmor.d/libvirt/libvirt-${uuid}.files`, `printf '%s' libvirt-${otherUuid} > /sys/kernel/security/apparmor/.remove`]);
  const stopped = check({ ...host, domains: [domain({ running: false })], states: [] }, 'stale-profiles');
  t.like(stopped, { state: 'fail', detail: `libvirt-${uuid} (loaded, files in /etc/apparmor.d/libvirt): its domain does not run`, fix: [`apparmor_parser -R /etc/apparmor.d/libvirt/libvirt-${uuid}`] });
  const placeholder = check({ ...host, domains: [domain({ running: false, seclabel: `<seclabel type='static' model='apparmor' relabel='no'><label>libvirt-${uuid}</label></seclabel>` })], states: [] }, 'stale-profiles');
  t.is(placeholder.state, 'ok', 'a static label keeps its placeholder loaded on purpose');
});

test('static-labels: a static label of an earlier version cannot start without the driver, and is retired with it', (t) => {
  const label = `<seclabel type='static' model='apparmor' relabel='no'><label>libvirt-${uuid}</label></seclabel>`;
  t.like(check(wrapperHost(), 'static-labels'), { state: 'ok', detail: 'none' });
  const wrapperSide = check({ ...wrapperHost(), domains: [domain({ emulator: '/usr/bin/qemu-system-x86_64', seclabel: label, running: false })] }, 'static-labels');
  t.like(wrapperSide, { state: 'fail', detail: "'web' carry a static AppArmor label, which libvirt cannot honour without its AppArmor driver: they do not start", fix: ['virt-aa-hook unenroll web'] });
  t.like(check({ ...driverHost(), domains: [domain({ emulator: '/usr/bin/qemu-system-x86_64', seclabel: label, running: false })] }, 'static-labels'), { state: 'warn', fix: ['virt-aa-hook unenroll web'] });
  t.deepEqual(check({ ...wrapperHost(), domains: [domain({ name: '--version', emulator: '/usr/bin/qemu-system-x86_64', seclabel: label, running: false })] }, 'static-labels').fix, ['virt-aa-hook unenroll -- --version']);
});

test("wrappers-under-driver: a domain naming our wrapper cannot start where libvirt's driver is active", (t) => {
  t.like(check(wrapperHost(), 'wrappers-under-driver'), { state: 'skip' });
  t.like(check(driverHost(), 'wrappers-under-driver'), { state: 'ok' });
  const named = check({ ...driverHost(), domains: [domain({ running: false })] }, 'wrappers-under-driver');
  t.like(named, { state: 'fail', fix: ['virt-aa-hook unenroll web'] });
  t.regex(named.detail, new RegExp(`^'web' \\(${wrapper}\\): libvirt's driver would run the wrapper inside the domain's profile`));
});

test('config-pins: a name-keyed entry without a pin is a warning with its UUID', (t) => {
  t.like(check({ ...wrapperHost(), nameKeyedEntries: [] }, 'config-pins'), { state: 'ok', detail: 'no entry is keyed by a name' });
  t.like(check({ ...wrapperHost(), nameKeyedEntries: [{ key: 'web', uuid }] }, 'config-pins'), { state: 'ok', detail: 'every name-keyed entry names its UUID' });
  const unpinned = check({ ...wrapperHost(), nameKeyedEntries: [{ key: 'web', uuid: undefined }, { key: 'gone', uuid: undefined }] }, 'config-pins');
  t.like(unpinned, { state: 'warn', detail: '"web", "gone": a domain defined later under a freed name would get these settings' });
  t.deepEqual(unpinned.fix, [`add "uuid": "${uuid}" to domains."web" in /etc/virt-aa-hook/config.json`, `key domains."gone" by its domain's UUID in /etc/virt-aa-hook/config.json`]);
  t.is(doctorExitCode(runChecks({ ...wrapperHost(), nameKeyedEntries: [{ key: 'web', uuid: undefined }] })), 0, 'a warning does not fail doctor');
});

test('the text: a line per check, its fixes below it, a summary with the exit code; the JSON the same', (t) => {
  const host = wrapperHost();
  const results = runChecks({ ...host, hook: { ...host.hook, changedAtMs: t0 + 120_000 } });
  const text = doctorText(results, '/etc/virt-aa-hook/config.json').split('\n');
  t.is(text[0], '# virt-aa-hook doctor, configuration /etc/virt-aa-hook/config.json');
  const seen = text.findIndex((l) => l.startsWith('FAIL  hook-seen '));
  t.regex(text[seen] ?? '', /^FAIL {2}hook-seen {14}the running daemon sees the hook: libvirtd \(pid 700\) started /);
  t.is(text[seen + 1], `${' '.repeat(29)}fix: ${restart}`);
  t.regex(text[2] ?? '', /^ok {4}apparmor {15}AppArmor is enabled: AppArmor is enabled/);
  t.is(text.at(-2), '# 15 ok, 0 warning(s), 1 failed, 3 skipped: exit 1');
  const json = JSON.parse(doctorJson(results, '/etc/virt-aa-hook/config.json')) as { ok: boolean; exitCode: number; checks: Check[] };
  t.like(json, { ok: false, exitCode: 1 });
  t.like(json.checks.find((c) => c.id === 'hook-seen'), { state: 'fail', fix: [restart] });
});
