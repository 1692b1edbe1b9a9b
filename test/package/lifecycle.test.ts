// The Debian package on this very host, through its whole life: `dpkg -i`,
// a guest started and left running, an upgrade to a rebuilt higher version,
// `dpkg -r`, `dpkg -P`. After each step: the files dpkg says it installed,
// libvirt's helper diverted (dpkg-divert --list) and back byte for byte, the
// admin's own hook moved aside and back byte for byte, our profiles and the
// daemon's with our block compiled by the real apparmor_parser (this kernel
// has no AppArmor: compile only), and the running guest still running with
// its profile files. Root only; run by .ci/run as its own suite
// (`npm run test:package`), never by `npm test`.
//
// The packages: $VIRT_AA_HOOK_DEB and $VIRT_AA_HOOK_DEB_UPGRADE when set (.ci/run
// builds them), else scripts/build-packages builds both into .cache/packages.

import test from 'ava';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { apparmorParser, checkoutRoot, featuresFile } from '../helpers/apparmor-parser.ts';
import { defineGuest, removeGuest, type Guest } from '../integration/helpers/guests.ts';
import { configFile, hookLog, hookPath, imageDir, missingPrerequisite, must, mustVirsh, run, startDaemons, writeConfig } from '../integration/helpers/host.ts';
import { defaultPaths } from '../../lib/config.ts';
import { hookProfilePath, libDir, movedHookPath, purgeDirs, shippedHookPath } from '../../lib/install/manifest.ts';

const helper = defaultPaths.libvirtHelper;
const diverted = defaultPaths.originalHelper;
const adminHook = '#!/bin/sh\n# an admin\'s own hook, kept by the virt-aa-hook package\ncat > /dev/null\n';
const adminHookTime = new Date('2001-02-03T04:05:06Z');
const localOverride = '/etc/apparmor.d/local/usr.sbin.libvirtd';
const wrapper = `${defaultPaths.emulatorDir}/qemu-system-x86_64`;
const sha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const saved = new Map<string, { readonly bytes: Buffer; readonly mode: number } | undefined>();
let guest: Guest | undefined;
let guestPid = 0;
let libvirtHelperSha = '';

function why(): string | undefined {
  const missing = missingPrerequisite();
  if (missing !== undefined) return missing;
  for (const tool of ['dpkg', 'dpkg-deb', 'dpkg-divert', 'dpkg-buildpackage', 'dh_apparmor']) {
    if (run('sh', ['-c', `command -v ${tool}`]).code !== 0) return `${tool} is not installed (apt-get install dpkg-dev debhelper dh-apparmor)`;
  }
  if (run('dpkg-query', ['-W', '-f=${Status}', 'virt-aa-hook']).stdout.includes('installed')) return 'virt-aa-hook is already installed here: dpkg -P virt-aa-hook first';
  if (fs.existsSync('/var/lib/virt-aa-hook/install-manifest')) return 'virt-aa-hook is installed here with scripts/install: uninstall it first';
  return undefined;
}

/** The two packages: as given, or built from this checkout (the second as the next version). */
function packages(): { readonly first: string; readonly second: string; readonly secondVersion: string } {
  const given = process.env['VIRT_AA_HOOK_DEB'];
  const givenUpgrade = process.env['VIRT_AA_HOOK_DEB_UPGRADE'];
  const out = path.join(checkoutRoot, '.cache', 'packages');
  const build = (...args: string[]): string => must(path.join(checkoutRoot, 'scripts/build-packages'), ['--deb', '--out', out, ...args]).trim().split('\n').at(-1) ?? '';
  const first = given ?? build();
  const version = must('dpkg-deb', ['-f', first, 'Version']).trim();
  const secondVersion = `${version}+upgrade1`;
  const second = givenUpgrade ?? build('--version', secondVersion);
  return { first, second, secondVersion: must('dpkg-deb', ['-f', second, 'Version']).trim() };
}

function dpkg(...args: string[]): ReturnType<typeof run> {
  return run('dpkg', args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

/** Every regular file and link the package has in its data archive. */
function packagedPaths(deb: string): string[] {
  return must('dpkg-deb', ['-c', deb])
    .split('\n')
    .filter((line) => /^[-l]/.test(line))
    .map((line) => /\s\.(\/\S+)/.exec(line)?.[1] ?? '')
    .filter((p) => p !== '');
}

function compile(...files: string[]): ReturnType<typeof run> {
  return run(apparmorParser ?? 'apparmor_parser', ['-Q', '-K', '-T', ...(featuresFile === null ? [] : ['-M', featuresFile]), ...files]);
}

const missing = why();

if (missing !== undefined) {
  test.skip(`the Debian package's lifecycle on this host: ${missing}`, () => {});
} else {
  let debs: ReturnType<typeof packages>;

  test.before(() => {
    debs = packages();
    for (const file of [hookPath, configFile, localOverride]) {
      saved.set(file, fs.existsSync(file) ? { bytes: fs.readFileSync(file), mode: fs.statSync(file).mode & 0o7777 } : undefined);
    }
    fs.rmSync(hookLog, { force: true });
    fs.mkdirSync(path.dirname(hookPath), { recursive: true });
    fs.writeFileSync(hookPath, adminHook, { mode: 0o750 });
    fs.chmodSync(hookPath, 0o750);
    fs.utimesSync(hookPath, adminHookTime, adminHookTime);
    libvirtHelperSha = sha(helper);
  });

  test.after.always(() => {
    if (guest !== undefined) {
      removeGuest(guest);
      // Its profile outlived the package while it ran, and no hook is left to
      // remove it when it stops: on a real host, doctor's stale-profiles check
      // names these files and gc removes them.
      for (const file of [`libvirt-${guest.uuid}`, `libvirt-${guest.uuid}.files`]) fs.rmSync(path.join('/etc/apparmor.d/libvirt', file), { force: true });
    }
    if (run('dpkg-query', ['-W', '-f=${Status}', 'virt-aa-hook']).stdout.includes('installed')) {
      run('/usr/sbin/virt-aa-hook', ['unenroll', '--all']);
      dpkg('-P', 'virt-aa-hook');
    }
    for (const [file, content] of saved) {
      if (content === undefined) fs.rmSync(file, { force: true });
      else {
        fs.writeFileSync(file, content.bytes);
        fs.chmodSync(file, content.mode);
      }
    }
    fs.rmSync(imageDir, { recursive: true, force: true });
  });

  test.serial('dpkg -i: every packaged file, libvirt\'s helper diverted, the admin hook aside byte for byte, our policy compiles', (t) => {
    const installed = dpkg('-i', debs.first);
    t.is(installed.code, 0, `${installed.stdout}${installed.stderr}`);
    t.log(`${path.basename(debs.first)}: ${fs.statSync(debs.first).size} bytes`);
    for (const file of packagedPaths(debs.first)) t.true(fs.existsSync(file) || fs.lstatSync(file).isSymbolicLink(), file);
    t.regex(must('dpkg-divert', ['--list', helper]), new RegExp(`^diversion of ${helper} to ${diverted} by virt-aa-hook$`, 'm'));
    t.is(sha(diverted), libvirtHelperSha, "libvirt's own helper, aside, byte for byte");
    t.is(fs.readFileSync(helper, 'utf8').split('\n')[0], '#!/usr/bin/node');
    t.deepEqual(fs.readFileSync(hookPath), fs.readFileSync(shippedHookPath), 'our hook, as shipped');
    t.is(fs.readFileSync(movedHookPath, 'utf8'), adminHook);
    t.is(fs.statSync(movedHookPath).mode & 0o7777, 0o750);
    t.is(fs.statSync(movedHookPath).mtimeMs, adminHookTime.getTime());
    t.regex(fs.readFileSync(localOverride, 'utf8'), /^\/etc\/libvirt\/hooks\/qemu Px -> virt-aa-hook,$/m);
    t.regex(fs.readFileSync(wrapper, 'utf8'), /^real='\/usr\/bin\/qemu-system-x86_64'$/m, 'setup wrote the wrappers');
    t.is(fs.readFileSync(configFile, 'utf8'), '{\n  "policy": "require"\n}\n', 'the conffile of a fresh install');
    for (const file of [hookProfilePath, '/etc/apparmor.d/usr.sbin.libvirtd', '/etc/apparmor.d/usr.lib.libvirt.virt-aa-helper']) {
      const compiled = compile(file);
      t.is(compiled.code, 0, `${file}: ${compiled.stderr}`);
    }
    t.true(fs.existsSync('/etc/apparmor.d/local/etc.libvirt.hooks.qemu'), "dh_apparmor's local include");
    t.regex(must('man', ['-w', 'virt-aa-hook']), /virt-aa-hook\.8\.gz/);
    t.is(run('bash', ['-c', '. /usr/share/bash-completion/completions/virt-aa-hook && COMP_WORDS=(virt-aa-hook gen) COMP_CWORD=1 && _virt-aa-hook_yargs_completions && echo "${COMPREPLY[*]}"']).stdout.trim(), 'generate');
  });

  test.serial('a guest started under the package runs confined through the wrapper', (t) => {
    // No AppArmor in this kernel: profiles are compiled and kept, not loaded.
    writeConfig({ policy: 'require' });
    startDaemons();
    guest = defineGuest('vah-pkg-running');
    const enrolled = run('/usr/sbin/virt-aa-hook', ['enroll', '--', guest.uuid]);
    t.is(enrolled.code, 0, enrolled.stderr);
    mustVirsh('start', '--', guest.uuid);
    guestPid = Number(fs.readFileSync(`/run/libvirt/qemu/${guest.name}.pid`, 'utf8'));
    t.true(fs.existsSync(`/proc/${guestPid}`));
    t.true(fs.existsSync(`/etc/apparmor.d/libvirt/libvirt-${guest.uuid}.files`));
    t.regex(mustVirsh('dumpxml', '--', guest.uuid), new RegExp(`<emulator>${wrapper}</emulator>`));
  });

  test.serial('an upgrade to a rebuilt higher version: the new hook in place, nothing moved twice, the guest still running with its profile', (t) => {
    const before = fs.readFileSync('/var/lib/virt-aa-hook/install-manifest', 'utf8');
    const upgraded = dpkg('-i', debs.second);
    t.is(upgraded.code, 0, `${upgraded.stdout}${upgraded.stderr}`);
    t.is(must('dpkg-query', ['-W', '-f=${Version}', 'virt-aa-hook']), debs.secondVersion);
    t.regex(must('/usr/sbin/virt-aa-hook', ['--version']), new RegExp(debs.secondVersion.replace(/[.+]/g, '\\$&')));
    t.deepEqual(fs.readFileSync(hookPath), fs.readFileSync(shippedHookPath), 'the new hook, as shipped');
    t.is(fs.readFileSync(movedHookPath, 'utf8'), adminHook, 'the admin hook stays where it was');
    t.deepEqual(fs.readdirSync(path.dirname(movedHookPath)), [path.basename(movedHookPath)]);
    t.regex(must('dpkg-divert', ['--list', helper]), /by virt-aa-hook/);
    t.is(sha(diverted), libvirtHelperSha);
    t.is(fs.readFileSync(configFile, 'utf8').includes('compile-only'), true, "the admin's configuration kept");
    const after = fs.readFileSync('/var/lib/virt-aa-hook/install-manifest', 'utf8');
    t.is(after.split('\n').filter((l) => l.startsWith('moved ')).length, 1);
    t.is(before.split('\n').filter((l) => l.startsWith('override ')).length, after.split('\n').filter((l) => l.startsWith('override ')).length);
    t.true(fs.existsSync(`/proc/${guestPid}`), 'QEMU kept running');
    t.true(fs.existsSync(`/etc/apparmor.d/libvirt/libvirt-${guest?.uuid ?? ''}.files`), 'its profile is still there');
    t.is(compile(hookProfilePath, '/etc/apparmor.d/usr.sbin.libvirtd').code, 0);
  });

  test.serial('dpkg -r refuses while a domain names our wrapper, then removes everything it added; the running guest keeps its profile', (t) => {
    if (guest === undefined) return t.fail('no guest');
    const refused = dpkg('-r', 'virt-aa-hook');
    t.not(refused.code, 0);
    t.regex(refused.stderr, /vah-pkg-running/);
    t.true(fs.existsSync(hookPath) && fs.readFileSync(hookPath, 'utf8') !== adminHook, 'still installed');

    t.is(run('/usr/sbin/virt-aa-hook', ['unenroll', '--', guest.uuid]).code, 0);
    const removed = dpkg('-r', 'virt-aa-hook');
    t.is(removed.code, 0, `${removed.stdout}${removed.stderr}`);
    t.is(fs.readFileSync(hookPath, 'utf8'), adminHook, "the admin's hook back in its place");
    t.is(fs.statSync(hookPath).mode & 0o7777, 0o750);
    t.is(fs.statSync(hookPath).mtimeMs, adminHookTime.getTime());
    t.false(fs.existsSync(path.dirname(movedHookPath)), 'qemu.d, which install made, is gone');
    t.is(must('dpkg-divert', ['--list', helper]).trim(), '', 'no diversion left');
    t.is(sha(helper), libvirtHelperSha, "libvirt's helper back, byte for byte");
    t.false(fs.existsSync(diverted));
    t.false(fs.existsSync(libDir));
    t.false(fs.existsSync(wrapper));
    t.notRegex(fs.readFileSync(localOverride, 'utf8'), /virt-aa-hook/);
    t.notRegex(fs.readFileSync(defaultPaths.sysvDefaults, 'utf8'), /virt-aa-hook/);
    t.is(compile('/etc/apparmor.d/usr.sbin.libvirtd').code, 0);
    t.true(fs.existsSync(configFile), 'conffiles stay until purge');
    t.true(fs.existsSync(`/proc/${guestPid}`), 'QEMU kept running');
    t.true(fs.existsSync(`/etc/apparmor.d/libvirt/libvirt-${guest.uuid}.files`), 'its profile is left alone while it runs');
  });

  test.serial('dpkg -P removes the state, the cache and the configuration', (t) => {
    const purged = dpkg('-P', 'virt-aa-hook');
    t.is(purged.code, 0, `${purged.stdout}${purged.stderr}`);
    for (const dir of purgeDirs) t.false(fs.existsSync(dir), dir);
    t.false(fs.existsSync(hookProfilePath));
    t.false(fs.existsSync('/etc/apparmor.d/virt-aa-hook'));
    t.false(fs.existsSync('/etc/apparmor.d/local/etc.libvirt.hooks.qemu'));
    t.is(fs.readFileSync(hookPath, 'utf8'), adminHook);
    t.is(run('dpkg-query', ['-W', '-f=${Status}', 'virt-aa-hook']).stdout.includes('installed'), false);
    t.true(fs.existsSync(`/proc/${guestPid}`), 'QEMU still running');
  });
}
