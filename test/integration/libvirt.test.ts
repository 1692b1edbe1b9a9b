// The hook against a real libvirtd on this machine: installed with our own
// installer, or with the Debian package when VIRT_AA_HOOK_INSTALL=deb (and
// VIRT_AA_HOOK_DEB names it: .ci/run runs the suite that way too), driven
// through virsh. This kernel has no AppArmor, so the
// configuration says `loader: compile-only` (profiles are compiled by the real
// apparmor_parser and cached, never loaded); everything else is real.

import test from 'ava';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkoutRoot } from '../helpers/apparmor-parser.ts';
import { defineGuest, removeGuest, type Guest } from './helpers/guests.ts';
import { cli, configFile, daemonPathFromDropIn, hookLog, hookPath, imageDir, logOffset, logSince, missingPrerequisite, must, mustVirsh, run, startDaemons, virsh, writeConfig } from './helpers/host.ts';
import { defaultPaths } from '../../lib/config.ts';
import { renderWrapper } from '../../lib/wrapper.ts';
import { startSecondLibvirtd } from './helpers/second-libvirtd.ts';

/** How the suite installs: scripts/install, or the .deb (dpkg -i, and dpkg -P at the end). */
const installMethod = process.env['VIRT_AA_HOOK_INSTALL'] === 'deb' ? 'deb' : 'script';
const deb = process.env['VIRT_AA_HOOK_DEB'];
const missing = missingPrerequisite() ?? (installMethod === 'deb' && (deb === undefined || !fs.existsSync(deb)) ? 'VIRT_AA_HOOK_INSTALL=deb needs VIRT_AA_HOOK_DEB naming the built package (scripts/build-packages --deb)' : undefined);
const dpkg = (...args: string[]): ReturnType<typeof run> => run('dpkg', args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
/** What `dpkg-divert --list` says of our helper's diversion: the package's, or the installer's local one. */
const diversionLine = (helper: string, aside: string): string => (installMethod === 'deb' ? `diversion of ${helper} to ${aside} by virt-aa-hook` : `local diversion of ${helper} to ${aside}`);
const adminHookLog = '/tmp/virt-aa-hook-it-admin-hook.log';
const adminHook = `#!/bin/sh\n# an admin's own hook, kept by virt-aa-hook's installer\necho "$*" >> ${adminHookLog}\n`;
const profileOf = (uuid: string): string => `/etc/apparmor.d/libvirt/libvirt-${uuid}`;
const filesOf = (uuid: string): string => `${profileOf(uuid)}.files`;
const guests: Guest[] = [];
const saved = new Map<string, Buffer | undefined>();
const timings = new Map<string, number[]>();
const libvirtHelper = '/usr/lib/libvirt/virt-aa-helper';
const divertedHelper = `${libvirtHelper}.distrib`;
let libvirtHelperSha = '';
const sha256 = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function define(name: string): Guest {
  const guest = defineGuest(name);
  guests.push(guest);
  return guest;
}

function enroll(guest: Guest): void {
  const result = cli('enroll', '--', guest.uuid);
  if (result.code !== 0) throw new Error(`enroll failed: ${result.stderr}`);
}

function start(guest: Guest): void {
  mustVirsh('start', '--', guest.uuid);
}

/** Hook events of one domain in the log since an offset, with their timings recorded. */
function events(offset: number, guest: Guest): string[] {
  const lines = logSince(offset)
    .split('\n')
    .filter((l) => l.includes(`profile=libvirt-${guest.uuid}`));
  for (const line of lines) {
    const event = /event=([a-z]+)/.exec(line)?.[1];
    const wall = /wall=(\d+)/.exec(line)?.[1];
    if (event !== undefined && wall !== undefined) timings.set(event, [...(timings.get(event) ?? []), Number(wall)]);
  }
  return lines;
}

const emulatorDir = defaultPaths.emulatorDir;
const realEmulator = '/usr/bin/qemu-system-x86_64';
const wrapper = `${emulatorDir}/qemu-system-x86_64`;
/** libvirt's capability cache file of an emulator binary: named by the SHA-256 of its path. */
const capsCacheFile = (binary: string): string => `/var/cache/libvirt/qemu/capabilities/${createHash('sha256').update(binary).digest('hex')}.xml`;
const cachedCtime = (binary: string): string | undefined => /<qemuctime>(\d+)<\/qemuctime>/.exec(fs.existsSync(capsCacheFile(binary)) ? fs.readFileSync(capsCacheFile(binary), 'utf8') : '')?.[1];

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

if (missing !== undefined) {
  test.skip(`integration with a real libvirtd: ${missing}`, () => {});
} else {
  test.before(() => {
    for (const file of [configFile, hookPath]) saved.set(file, fs.existsSync(file) ? fs.readFileSync(file) : undefined);
    fs.rmSync(adminHookLog, { force: true });
    fs.rmSync(hookLog, { force: true });
    fs.mkdirSync(path.dirname(hookPath), { recursive: true });
    fs.writeFileSync(hookPath, adminHook, { mode: 0o755 });
    libvirtHelperSha = sha256(libvirtHelper);
    if (installMethod === 'deb') {
      // The package ships the configuration as a conffile: ours is written over it afterwards.
      const installed = dpkg('-i', deb ?? '');
      if (installed.code !== 0) throw new Error(`dpkg -i ${deb ?? ''} failed: ${installed.stdout}${installed.stderr}`);
      writeConfig({});
    } else {
      writeConfig({});
      must(path.join(checkoutRoot, 'scripts/install'), []);
    }
    startDaemons();
  });

  test.after.always(() => {
    for (const guest of guests) removeGuest(guest);
    if (installMethod === 'deb') dpkg('-P', 'virt-aa-hook');
    else run(path.join(checkoutRoot, 'scripts/uninstall'), ['--force']);
    for (const [file, content] of saved) {
      if (content === undefined) fs.rmSync(file, { force: true });
      else fs.writeFileSync(file, content);
    }
    fs.rmSync(imageDir, { recursive: true, force: true });
    fs.rmSync('/etc/virt-aa-hook-it-disk.qcow2', { force: true });
  });

  test.serial("install wrote the wrappers and the daemon's PATH drop-in; libvirtd runs with that PATH", (t) => {
    const declared = daemonPathFromDropIn();
    if (declared === undefined) return t.fail('no PATH drop-in of ours');
    t.log(`no systemd here: libvirtd was started with PATH=${declared.path}, as declared in ${declared.file}`);
    t.true(declared.path.startsWith(`${emulatorDir}:`));
    t.regex(fs.readFileSync(wrapper, 'utf8'), new RegExp(`^real='${realEmulator}'$`, 'm'));
    const environ = fs.readFileSync(`/proc/${fs.readFileSync('/run/libvirtd.pid', 'utf8').trim()}/environ`, 'utf8').split('\0');
    t.true(environ.includes(`PATH=${declared.path}`));
  });

  test.serial('virsh capabilities names the wrapper, and a domain defined without <emulator> saves its path', (t) => {
    const caps = mustVirsh('capabilities');
    t.regex(caps, new RegExp(`<arch name='x86_64'>\\s*<wordsize>64</wordsize>\\s*<emulator>${wrapper}</emulator>`));
    const guest = define('vah-it-no-emulator');
    const file = path.join(imageDir, 'vah-it-no-emulator.xml');
    fs.writeFileSync(file, mustVirsh('dumpxml', '--inactive', '--', guest.uuid).replace(/\s*<emulator>[^<]*<\/emulator>/, ''));
    mustVirsh('define', '--file', file);
    t.regex(mustVirsh('dumpxml', '--inactive', '--', guest.uuid), new RegExp(`<emulator>${wrapper}</emulator>`));
    writeConfig({ policy: 'require' });
    const offset = logOffset();
    start(guest);
    const lines = events(offset, guest);
    t.true(lines.some((l) => l.includes('event=prepare/begin mode=wrapper') && l.includes('outcome=compiled (compile-only)')), lines.join('\n'));
    t.true(fs.readFileSync(filesOf(guest.uuid), 'utf8').includes(`"${realEmulator}" ix,`), 'the profile runs the real emulator the wrapper execs');
    mustVirsh('destroy', '--', guest.uuid);
    writeConfig({});
  });

  test.serial('a QEMU upgrade (the real binary touched) plus the trigger, virt-aa-hook sync: libvirt probes again', (t) => {
    mustVirsh('domcapabilities', '--emulatorbin', wrapper, '--virttype', 'qemu');
    const before = cachedCtime(wrapper);
    t.truthy(before, `libvirt cached the wrapper's capabilities in ${capsCacheFile(wrapper)}`);
    const { atime, mtime } = fs.statSync(realEmulator);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1100);
    // What a package upgrade does to the binary: a new ctime (the mtime is put back as dpkg would keep the package's).
    fs.utimesSync(realEmulator, atime, mtime);
    const sync = cli('sync');
    t.is(sync.code, 0, sync.stderr);
    t.regex(sync.stdout, new RegExp(`touched ${wrapper}: ${realEmulator} changed since`));
    mustVirsh('domcapabilities', '--emulatorbin', wrapper, '--virttype', 'qemu');
    const after = cachedCtime(wrapper);
    t.not(after, before, 'the cache was rebuilt');
    t.is(after, String(Math.floor(fs.statSync(wrapper).ctimeMs / 1000)), "keyed on the wrapper's new ctime");
  });

  test.serial('what the wrapper adds to a capability probe, measured', (t) => {
    // A QEMU of its own, so that the host's is not touched for every probe. Debian's
    // QEMU is relocatable: it finds its modules and firmware relative to its own
    // directory, so the copy gets lib/ and share/ beside it.
    const dir = path.join(imageDir, 'probe');
    fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
    for (const tree of ['lib', 'share']) if (!fs.existsSync(path.join(dir, tree))) fs.symlinkSync(`/usr/${tree}`, path.join(dir, tree));
    const copy = path.join(dir, 'bin', 'qemu-system-x86_64');
    fs.copyFileSync(realEmulator, copy);
    fs.chmodSync(copy, 0o755);
    const probeWrapper = path.join(dir, 'wrapper', 'qemu-system-x86_64');
    fs.mkdirSync(path.dirname(probeWrapper), { recursive: true });
    fs.writeFileSync(probeWrapper, renderWrapper(fs.readFileSync(path.join(checkoutRoot, 'scripts/qemu-wrapper'), 'utf8'), copy), { mode: 0o755 });
    const probe = (binary: string): number => {
      // A new ctime makes libvirt probe again.
      const { atime, mtime } = fs.statSync(binary);
      fs.utimesSync(binary, atime, mtime);
      const t0 = process.hrtime.bigint();
      mustVirsh('domcapabilities', '--emulatorbin', binary, '--virttype', 'qemu');
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    probe(copy);
    probe(probeWrapper);
    const direct: number[] = [];
    const wrapped: number[] = [];
    for (let i = 0; i < 5; i++) {
      direct.push(probe(copy));
      wrapped.push(probe(probeWrapper));
    }
    const exec = (binary: string): number => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < 20; i++) must(binary, ['-version']);
      return Number(process.hrtime.bigint() - t0) / 1e6 / 20;
    };
    const execDirect = exec(copy);
    const execWrapped = exec(probeWrapper);
    t.log(`capability probe (virsh domcapabilities after a new ctime), median of 5: direct ${median(direct).toFixed(0)} ms, through the wrapper ${median(wrapped).toFixed(0)} ms (${(median(wrapped) - median(direct)).toFixed(0)} ms); all: direct ${direct.map((v) => v.toFixed(0)).join(', ')}; wrapped ${wrapped.map((v) => v.toFixed(0)).join(', ')}`);
    t.log(`one exec of "qemu-system-x86_64 -version", mean of 20: direct ${execDirect.toFixed(1)} ms, through the wrapper ${execWrapped.toFixed(1)} ms`);
    t.true(median(wrapped) > 0);
  });

  test.serial('install kept the admin hook running from qemu.d', (t) => {
    t.true(fs.readFileSync(hookPath, 'utf8').startsWith('#!/'));
    t.not(fs.readFileSync(hookPath, 'utf8'), adminHook);
    const moved = fs.readdirSync(`${hookPath}.d`).map((f) => path.join(`${hookPath}.d`, f));
    t.true(moved.some((f) => fs.readFileSync(f, 'utf8') === adminHook), moved.join(', '));
  });

  test.serial("our virt-aa-helper replaces libvirt's through a dpkg diversion, and a libvirt package reinstall keeps it there", (t) => {
    t.regex(fs.readFileSync(libvirtHelper, 'utf8').split('\n')[0] ?? '', /^#!\/.*node$/);
    t.regex(must('dpkg-divert', ['--list', libvirtHelper]), new RegExp(diversionLine(libvirtHelper, divertedHelper)));
    t.is(sha256(divertedHelper), libvirtHelperSha, "libvirt's own helper, byte for byte, aside");
    // What a libvirt upgrade does: dpkg unpacks the package's helper again.
    const version = must('dpkg-query', ['-W', '-f=${Version}', 'libvirt-daemon']).trim();
    const cached = `/var/cache/apt/archives/libvirt-daemon_${version.replace(':', '%3a')}_amd64.deb`;
    const deb = fs.existsSync(cached) ? cached : path.join(imageDir, `libvirt-daemon_${version}.deb`);
    if (deb !== cached) {
      fs.mkdirSync(imageDir, { recursive: true });
      must('sh', ['-c', `cd '${imageDir}' && apt-get download 'libvirt-daemon=${version}' && mv libvirt-daemon_*.deb '${deb}'`]);
    }
    const reinstall = run('dpkg', ['-i', deb], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    t.is(reinstall.code, 0, reinstall.stderr);
    t.regex(fs.readFileSync(libvirtHelper, 'utf8'), /virt-aa-hook/, 'ours is still at libvirt\'s path');
    t.is(sha256(divertedHelper), libvirtHelperSha, "the package's helper went aside again");
  });

  test.serial("libvirt's helper command line against the installed helper: create, append, delete; LXC goes to libvirt's own", (t) => {
    const guest = define('vah-it-helper');
    const xml = mustVirsh('dumpxml', '--', guest.uuid);
    const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LIBVIRT_LOG_OUTPUTS: '3:stderr' };
    const helper = (...args: string[]): ReturnType<typeof run> => run(libvirtHelper, args, { input: xml, env });
    const profile = `libvirt-${guest.uuid}`;
    const created = helper('-c', '-u', profile);
    t.is(created.code, 0, created.stderr);
    t.regex(fs.readFileSync(profileOf(guest.uuid), 'utf8'), /abstractions\/virt-aa-hook\/qemu/);
    t.true(fs.readFileSync(filesOf(guest.uuid), 'utf8').includes(`"${guest.top}" rwk,`));
    const hot = path.join(imageDir, 'vah-it-helper-hot.qcow2');
    t.is(helper('-r', '-u', profile, '-F', hot).code, 0);
    t.true(fs.readFileSync(filesOf(guest.uuid), 'utf8').includes(`"${hot}" rwk,`));
    const refused = helper('-r', '-u', profile, '-F', '/etc/shadow');
    t.is(refused.code, 1);
    t.regex(refused.stderr, /^virt-aa-hook: error: domain 'vah-it-helper', libvirt at run time, path "\/etc\/shadow": refusing to grant rwk access .*: \/etc is restricted\n$/);
    t.is(helper('-D', '-u', profile).code, 0);
    t.false(fs.existsSync(filesOf(guest.uuid)));
    t.false(fs.existsSync(profileOf(guest.uuid)));
    t.true(logSince(0).includes(`profile=${profile} helper="-D"`), 'each call is logged');
    // An LXC domain is libvirt's own helper's: in dry run it prints its rules and writes nothing.
    const lxc = `<domain type='lxc'><name>vah-it-lxc</name><uuid>${guest.uuid}</uuid><memory>65536</memory><os><type>exe</type><init>/sbin/init</init></os><devices/></domain>`;
    const passed = run(libvirtHelper, ['-d', '-c', '-u', profile], { input: lxc, env });
    t.is(passed.code, 0, passed.stderr);
    t.regex(passed.stderr, /virt-aa-helper:/);
    t.true(logSince(0).includes(`outcome=passed to ${divertedHelper} (domain type 'lxc' is not one virt-aa-hook confines) exit=0`));
  });

  test.serial('define, enroll, start and destroy: the profile is written and compiled at prepare and gone after release', (t) => {
    const guest = define('vah-it-basic');
    enroll(guest);
    t.regex(mustVirsh('dumpxml', '--inactive', '--', guest.uuid), new RegExp(`<emulator>${wrapper}</emulator>`));
    const offset = logOffset();
    start(guest);
    const files = fs.readFileSync(filesOf(guest.uuid), 'utf8');
    t.true(files.includes(`"${guest.top}" rwk,`), files);
    t.true(files.includes(`"${guest.base}" rk,`), 'the backing file, read from the qcow2 header at prepare');
    t.true(files.includes(`"${guest.iso}" rk,`));
    t.regex(fs.readFileSync(profileOf(guest.uuid), 'utf8'), new RegExp(`profile libvirt-${guest.uuid} `));
    t.is(mustVirsh('domstate', '--', guest.uuid).trim(), 'running');
    const lines = events(offset, guest);
    for (const event of ['prepare', 'start', 'started']) t.true(lines.some((l) => l.includes(`event=${event}/begin`)), `${event} in ${lines.join('\n')}`);
    t.true(lines.some((l) => l.includes('event=prepare/begin') && l.includes('outcome=compiled (compile-only)')));
    t.regex(fs.readFileSync(adminHookLog, 'utf8'), /vah-it-basic prepare begin -/, 'the admin hook still runs');
    const destroyOffset = logOffset();
    mustVirsh('destroy', '--', guest.uuid);
    t.false(fs.existsSync(filesOf(guest.uuid)));
    t.false(fs.existsSync(profileOf(guest.uuid)));
    const teardown = events(destroyOffset, guest);
    t.true(teardown.some((l) => l.includes('event=release/end')), teardown.join('\n'));
  });

  test.serial('a second start of the unchanged guest hits the parser cache', (t) => {
    const guest = guests[0];
    if (guest === undefined) return t.fail('no guest');
    const offset = logOffset();
    start(guest);
    const lines = events(offset, guest);
    mustVirsh('destroy', '--', guest.uuid);
    const prepare = lines.find((l) => l.includes('event=prepare/begin'));
    t.truthy(prepare);
    t.log(`prepare on a second start: ${/wall=(\d+)/.exec(prepare ?? '')?.[1] ?? '?'} ms wall (first start: ${timings.get('prepare')?.[0] ?? '?'} ms)`);
    const cacheFiles = fs.readdirSync('/var/cache/apparmor/virt-aa-hook', { recursive: true }) as string[];
    t.true(cacheFiles.some((f) => f.endsWith(`libvirt-${guest.uuid}`)), cacheFiles.join(', '));
  });

  test.serial('save and restore, managedsave and start: confined again every time', (t) => {
    const guest = define('vah-it-save');
    enroll(guest);
    start(guest);
    const saveFile = path.join(imageDir, 'vah-it-save.save');
    mustVirsh('save', '--', guest.uuid, saveFile);
    t.false(fs.existsSync(filesOf(guest.uuid)), 'released after save');
    const offset = logOffset();
    const restore = virsh('restore', saveFile);
    t.is(restore.code, 0, restore.stderr);
    t.true(fs.existsSync(filesOf(guest.uuid)));
    const lines = events(offset, guest);
    t.true(lines.some((l) => l.includes('event=restore/begin')), lines.join('\n'));
    mustVirsh('managedsave', '--', guest.uuid);
    t.false(fs.existsSync(filesOf(guest.uuid)));
    start(guest);
    t.true(fs.existsSync(filesOf(guest.uuid)));
    t.is(mustVirsh('domstate', '--', guest.uuid).trim(), 'running');
    mustVirsh('destroy', '--', guest.uuid);
  });

  test.serial('libvirtd restarted while the guest runs: reconnect keeps the profile', (t) => {
    const guest = define('vah-it-reconnect');
    enroll(guest);
    start(guest);
    const offset = logOffset();
    startDaemons();
    t.is(mustVirsh('domstate', '--', guest.uuid).trim(), 'running');
    const lines = events(offset, guest);
    t.true(lines.some((l) => l.includes('event=reconnect/begin') && /outcome=(unchanged|compiled)/.test(l)), lines.join('\n'));
    t.true(fs.existsSync(filesOf(guest.uuid)));
    mustVirsh('destroy', '--', guest.uuid);
  });

  test.serial('a disk under /etc: virsh start fails with our one-line message naming the disk', (t) => {
    writeConfig({ policy: 'require' });
    const top = '/etc/virt-aa-hook-it-disk.qcow2';
    const guest = define('vah-it-etc');
    // enroll refuses a domain whose profile would be refused, so the disk moves afterwards.
    enroll(guest);
    must('qemu-img', ['create', '-q', '-f', 'qcow2', top, '16M']);
    const moved = path.join(imageDir, 'vah-it-etc.xml');
    fs.writeFileSync(moved, mustVirsh('dumpxml', '--inactive', '--', guest.uuid).replace(guest.top, top));
    mustVirsh('define', '--file', moved);
    const result = virsh('start', '--', guest.uuid);
    t.not(result.code, 0);
    t.true(result.stderr.includes(`virt-aa-hook: error: domain 'vah-it-etc', disk 'vda', path "${top}": refusing to grant rwk access for the image: /etc is restricted`), result.stderr);
    t.is(mustVirsh('domstate', '--', guest.uuid).trim(), 'shut off');
    t.false(fs.existsSync(filesOf(guest.uuid)), 'nothing left after the failed start');
    writeConfig({});
  });

  test.serial('under the require policy a guest that is not enrolled is refused; by default it starts with a warning', (t) => {
    const guest = define('vah-it-unenrolled');
    writeConfig({ policy: 'require' });
    const refused = virsh('start', '--', guest.uuid);
    t.not(refused.code, 0);
    t.regex(refused.stderr, /virt-aa-hook: error: domain 'vah-it-unenrolled': refusing to start it unconfined \(the configuration requires confinement\): its emulator "\/usr\/bin\/qemu-system-x86_64" is not virt-aa-hook's wrapper: run 'virt-aa-hook enroll vah-it-unenrolled'/);
    writeConfig({});
    const offset = logOffset();
    t.is(virsh('start', '--', guest.uuid).code, 0);
    t.regex(logSince(offset), /domain="vah-it-unenrolled" profile=libvirt-[0-9a-f-]+ event=prepare\/begin outcome=unconfined \(not enrolled\)/);
    mustVirsh('destroy', '--', guest.uuid);
  });

  test.serial('the installed hook prints nothing for migrate and restore', (t) => {
    const guest = guests[0];
    if (guest === undefined) return t.fail('no guest');
    const xml = mustVirsh('dumpxml', '--migratable', '--', guest.uuid);
    for (const op of ['migrate', 'restore']) {
      const result = run(hookPath, [guest.name, op, 'begin', '-'], { input: xml, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', HOME: '/root' } });
      t.is(result.code, 0, result.stderr);
      t.is(result.stdout, '');
    }
    run(hookPath, [guest.name, 'release', 'end', '-'], { input: xml });
  });

  test.serial('migrate and restore give an incoming domain that names the real emulator the wrapper, nothing else changed', (t) => {
    const guest = define('vah-it-incoming');
    const xml = mustVirsh('dumpxml', '--migratable', '--', guest.uuid);
    t.true(xml.includes(`<emulator>${realEmulator}</emulator>`));
    for (const op of ['migrate', 'restore']) {
      const result = run(hookPath, [guest.name, op, 'begin', '-'], { input: xml, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', HOME: '/root' } });
      t.is(result.code, 0, result.stderr);
      t.is(result.stdout, xml.replace(`<emulator>${realEmulator}</emulator>`, `<emulator>${wrapper}</emulator>`));
    }
    run(hookPath, [guest.name, 'release', 'end', '-'], { input: xml });
  });

  test.serial('attach-device, detach-device and update-device through virt-aa-hook change the profile', (t) => {
    const guest = define('vah-it-hotplug');
    enroll(guest);
    start(guest);
    const extra = path.join(imageDir, 'hotplug-extra.img');
    must('qemu-img', ['create', '-q', '-f', 'raw', extra, '8M']);
    const device = path.join(imageDir, 'hotplug-disk.xml');
    fs.writeFileSync(device, `<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${extra}'/><target dev='sdb' bus='usb'/></disk>\n`);
    const attach = cli('attach-device', '--live', '--', guest.uuid, device);
    t.is(attach.code, 0, attach.stderr);
    t.true(fs.readFileSync(filesOf(guest.uuid), 'utf8').includes(`"${extra}" rwk,`));
    t.regex(mustVirsh('domblklist', '--', guest.uuid), /sdb\s+\/srv\/virt-aa-hook-it\/hotplug-extra\.img/);
    const detach = cli('detach-device', '--live', '--', guest.uuid, device);
    t.is(detach.code, 0, detach.stderr);
    t.false(fs.readFileSync(filesOf(guest.uuid), 'utf8').includes(extra));
    const otherIso = path.join(imageDir, 'other.iso');
    fs.writeFileSync(otherIso, Buffer.alloc(2048 * 16));
    const media = path.join(imageDir, 'hotplug-cdrom.xml');
    fs.writeFileSync(media, `<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='${otherIso}'/><target dev='hdc' bus='ide'/><readonly/></disk>\n`);
    const change = cli('update-device', '--live', '--', guest.uuid, media);
    t.is(change.code, 0, change.stderr);
    t.true(fs.readFileSync(filesOf(guest.uuid), 'utf8').includes(`"${otherIso}" rk,`));
    t.regex(mustVirsh('domblklist', '--', guest.uuid), /hdc\s+\/srv\/virt-aa-hook-it\/other\.iso/);
    const bad = path.join(imageDir, 'hotplug-bad.xml');
    fs.writeFileSync(bad, `<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/etc/shadow'/><target dev='sdc' bus='usb'/></disk>\n`);
    const refused = cli('attach-device', '--live', '--', guest.uuid, bad);
    t.is(refused.code, 2);
    t.regex(refused.stderr, /path "\/etc\/shadow": refusing/);
    t.notRegex(mustVirsh('domblklist', '--', guest.uuid), /sdc/);
    mustVirsh('destroy', '--', guest.uuid);
  });

  test.serial('two guests started at once both get their profiles', (t) => {
    const pair = [define('vah-it-pair-a'), define('vah-it-pair-b')];
    for (const guest of pair) enroll(guest);
    const both = run('sh', ['-c', pair.map((g) => `virsh --connect qemu:///system start -- ${g.uuid} &`).join(' ') + ' wait']);
    t.is(both.code, 0, both.stderr);
    for (const guest of pair) {
      t.is(mustVirsh('domstate', '--', guest.uuid).trim(), 'running');
      t.true(fs.readFileSync(filesOf(guest.uuid), 'utf8').includes(guest.top));
      mustVirsh('destroy', '--', guest.uuid);
    }
  });

  test.serial('a guest named --version is confined like any other', (t) => {
    const guest = define('--version');
    enroll(guest);
    const offset = logOffset();
    start(guest);
    t.true(fs.readFileSync(filesOf(guest.uuid), 'utf8').includes('"/run/libvirt/qemu/--version.pid" rwk,'));
    t.true(events(offset, guest).some((l) => l.includes('domain="--version"') && l.includes('event=started')));
    mustVirsh('destroy', '--', guest.uuid);
    t.false(fs.existsSync(filesOf(guest.uuid)));
  });

  test.serial('live migration to a second libvirtd: the profile arrives with the guest and leaves the source', (t) => {
    const guest = define('vah-it-migrate');
    enroll(guest);
    start(guest);
    const destination = startSecondLibvirtd();
    try {
      const migrate = virsh('migrate', '--live', '--unsafe', '--', guest.uuid, destination.uri, 'tcp://127.0.0.1:49200');
      t.is(migrate.code, 0, migrate.stderr);
      t.is(run('virsh', ['--connect', destination.uri, 'domstate', '--', guest.uuid]).stdout.trim(), 'running');
      t.true(fs.existsSync(path.join(destination.apparmorLibvirtDir, `libvirt-${guest.uuid}.files`)), 'profile on the destination');
      t.false(fs.existsSync(filesOf(guest.uuid)), 'profile gone on the source');
      run('virsh', ['--connect', destination.uri, 'destroy', '--', guest.uuid]);
    } finally {
      destination.stop();
    }
  });

  test.serial('hook timings against this libvirtd', (t) => {
    for (const [event, values] of timings) t.log(`${event}: median wall time ${median(values)} ms over ${values.length} calls`);
    t.true((timings.get('prepare') ?? []).length > 0);
  });

  test.serial('uninstall restores the admin hook exactly, and it keeps working', (t) => {
    for (const guest of guests.splice(0)) removeGuest(guest);
    if (installMethod === 'deb') {
      const purged = dpkg('-P', 'virt-aa-hook');
      t.is(purged.code, 0, `${purged.stdout}${purged.stderr}`);
    } else must(path.join(checkoutRoot, 'scripts/uninstall'), []);
    t.is(fs.readFileSync(hookPath, 'utf8'), adminHook);
    t.is(sha256(libvirtHelper), libvirtHelperSha, "libvirt's own helper is back, byte for byte");
    t.false(fs.existsSync(divertedHelper));
    t.is(must('dpkg-divert', ['--list', libvirtHelper]).trim(), '', 'no diversion left');
    startDaemons();
    const guest = define('vah-it-after-uninstall');
    fs.rmSync(adminHookLog, { force: true });
    start(guest);
    t.regex(fs.readFileSync(adminHookLog, 'utf8'), /vah-it-after-uninstall prepare begin -/);
    mustVirsh('destroy', '--', guest.uuid);
  });
}
