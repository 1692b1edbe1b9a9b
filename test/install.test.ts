// scripts/install and scripts/uninstall, run for real with --root into a temp
// directory laid out like a Debian host with libvirt: what lands where, with
// which mode and shebang; an admin's own hook moved aside and back exactly;
// reinstalls that change nothing; and the installed policy compiled by the
// real apparmor_parser together with Debian's libvirtd profile.

import test from 'ava';
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import tmp from 'tmp';
import { apparmorParser, checkoutRoot, featuresFile } from './helpers/apparmor-parser.ts';
import { mayWrite, pathRulesOf } from './helpers/compiled.ts';

const installScript = path.join(checkoutRoot, 'scripts/install');
const uninstallScript = path.join(checkoutRoot, 'scripts/uninstall');
const distCli = path.join(checkoutRoot, 'dist/virt-aa-hook');
const distHook = path.join(checkoutRoot, 'dist/hooks/qemu');
const shipped = path.join(checkoutRoot, 'apparmor.d');
const node = process.execPath;
const hostLibvirtdProfile = '/etc/apparmor.d/usr.sbin.libvirtd';
const hostHelperProfile = '/etc/apparmor.d/usr.lib.libvirt.virt-aa-helper';
const distHelper = path.join(checkoutRoot, 'dist/virt-aa-helper');
/** libvirt's own helper in the staging root: a stand-in ELF (only its bytes matter: install moves it, uninstall must put it back as it was). */
const libvirtHelperBytes = Buffer.concat([Buffer.from('\x7fELF', 'latin1'), Buffer.from(' libvirt virt-aa-helper 9.0 stand-in\n')]);
const libvirtHelperTime = new Date('2024-10-21T10:00:00Z');
const movedHook = 'etc/libvirt/hooks/qemu.d/00-qemu.moved-by-virt-aa-hook';
const adminHookTime = new Date('2001-02-03T04:05:06Z');
/** The admin's site rules in the daemon's local override, deliberately without a final newline. */
const siteRules = '# site-specific rules\n/srv/isos/ r,\n/srv/isos/** r,';

test.before(() => {
  if (!fs.existsSync(distCli) || !fs.existsSync(distHook)) execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: checkoutRoot, stdio: 'inherit' });
});

interface Layout {
  /** An admin's own /etc/libvirt/hooks/qemu: a shell script appending its argv to `marker`. */
  readonly adminHook?: boolean;
  /** The target has systemd's directory, so the boot unit is installed. */
  readonly systemd?: boolean;
}

interface StagedRoot {
  readonly root: string;
  readonly at: (p: string) => string;
  /** Where the admin hook writes. */
  readonly marker: string;
}

const sha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** A staging root with what a Debian host with libvirt has before we come. */
function stagedRoot(layout: Layout = {}): StagedRoot {
  const root = fs.realpathSync(tmp.dirSync({ unsafeCleanup: true }).name);
  const marker = path.join(fs.realpathSync(tmp.dirSync({ unsafeCleanup: true }).name), 'marker');
  const at = (p: string): string => path.join(root, p);
  const write = (p: string, content: string, mode = 0o644): void => {
    fs.mkdirSync(path.dirname(at(p)), { recursive: true });
    fs.writeFileSync(at(p), content, { mode });
    fs.chmodSync(at(p), mode);
  };
  // Debian's profile when the host has it, else a stand-in with the rule that matters.
  const libvirtd = fs.existsSync(hostLibvirtdProfile)
    ? fs.readFileSync(hostLibvirtdProfile, 'utf8')
    : 'abi <abi/3.0>,\ninclude <tunables/global>\nprofile libvirtd /usr/sbin/libvirtd flags=(attach_disconnected) {\n  /etc/libvirt/hooks/** rmix,\n  #include <local/usr.sbin.libvirtd>\n}\n';
  write('etc/apparmor.d/usr.sbin.libvirtd', libvirtd);
  write('etc/apparmor.d/local/usr.sbin.libvirtd', siteRules);
  // libvirt's own files in the directory we share with it.
  write('etc/apparmor.d/libvirt/TEMPLATE.qemu', '# libvirt package template\n');
  write('etc/libvirt/qemu.conf', '# qemu.conf\n');
  // Debian ships it (its sysv init script sources it); deliberately without a final newline.
  write('etc/default/libvirtd', '# Customizations for libvirtd\n#LIBVIRTD_ARGS="--listen"');
  // An emulator the daemon's PATH finds, and one it does not.
  write('usr/bin/qemu-system-x86_64', '#!/bin/sh\nexit 0\n', 0o755);
  write('opt/qemu/bin/qemu-system-x86_64', '#!/bin/sh\nexit 0\n', 0o755);
  fs.mkdirSync(at('etc/libvirt/hooks'), { recursive: true });
  if (layout.adminHook === true) {
    // It reads the domain XML from stdin, as libvirt hooks do.
    write('etc/libvirt/hooks/qemu', `#!/bin/sh\n# the admin's own hook\ncat > /dev/null\necho "$@" >> '${marker}'\n`, 0o750);
    fs.utimesSync(at('etc/libvirt/hooks/qemu'), adminHookTime, adminHookTime);
  }
  if (layout.systemd === true) fs.mkdirSync(at('etc/systemd/system'), { recursive: true });
  // libvirt's helper and its profile, as libvirt-daemon installs them (Debian's profile when the host has it).
  fs.mkdirSync(at('usr/lib/libvirt'), { recursive: true });
  fs.writeFileSync(at('usr/lib/libvirt/virt-aa-helper'), libvirtHelperBytes, { mode: 0o755 });
  fs.utimesSync(at('usr/lib/libvirt/virt-aa-helper'), libvirtHelperTime, libvirtHelperTime);
  write('etc/apparmor.d/usr.lib.libvirt.virt-aa-helper', fs.existsSync(hostHelperProfile) ? fs.readFileSync(hostHelperProfile, 'utf8') : 'profile virt-aa-helper /usr/lib/libvirt/virt-aa-helper {\n  #include <local/usr.lib.libvirt.virt-aa-helper>\n}\n');
  write('etc/apparmor.d/local/usr.lib.libvirt.virt-aa-helper', '# Site-specific additions and overrides for usr.lib.libvirt.virt-aa-helper\n');
  return { root, at, marker };
}

function runScript(script: string, args: readonly string[]): SpawnSyncReturns<string> {
  return spawnSync('bash', [script, ...args], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LC_ALL: 'C' } });
}

function install(staged: StagedRoot, ...extra: string[]): SpawnSyncReturns<string> {
  return runScript(installScript, ['--root', staged.root, '--node', node, ...extra]);
}

function uninstall(staged: StagedRoot, ...extra: string[]): SpawnSyncReturns<string> {
  return runScript(uninstallScript, ['--root', staged.root, ...extra]);
}

function ok(run: SpawnSyncReturns<string>): string {
  if (run.status !== 0) throw new Error(`exit ${run.status}\n${run.stdout}${run.stderr}`);
  return run.stdout;
}

/**
 * Every entry below the root: type, mode, owner, and for files the content
 * hash and mtime, for symlinks the target. Directory mtimes change with
 * every entry added or removed, so they are left out.
 */
function snapshot(root: string): Record<string, string> {
  const result: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of fs.readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const st = fs.lstatSync(full);
      const common = `mode=${(st.mode & 0o7777).toString(8)} owner=${st.uid}:${st.gid}`;
      const key = path.relative(root, full);
      if (st.isSymbolicLink()) result[key] = `link -> ${fs.readlinkSync(full)}`;
      else if (st.isDirectory()) {
        result[key] = `dir ${common}`;
        walk(full);
      } else result[key] = `file ${common} sha=${sha(full)} mtime=${st.mtimeMs}`;
    }
  };
  walk(root);
  return result;
}

/** Files install edits in place (the daemons' local overrides, Debian's defaults file) come back byte for byte, with a new mtime. */
const editedInPlace = ['etc/apparmor.d/local/usr.sbin.libvirtd', 'etc/apparmor.d/local/usr.lib.libvirt.virt-aa-helper', 'etc/default/libvirtd'];
const withoutOverrideMtime = (entries: Record<string, string>): Record<string, string> => ({
  ...entries,
  ...Object.fromEntries(editedInPlace.map((file) => [file, entries[file]?.replace(/ mtime=\S+$/, '') ?? 'missing'])),
});

const mode = (file: string): number => fs.statSync(file).mode & 0o7777;
const firstLine = (file: string): string => fs.readFileSync(file, 'utf8').split('\n')[0] ?? '';
const afterFirstLine = (file: string): string => fs.readFileSync(file, 'utf8').split('\n').slice(1).join('\n');
const shippedAbstractions = fs.readdirSync(path.join(shipped, 'abstractions/virt-aa-hook')).filter((f) => fs.statSync(path.join(shipped, 'abstractions/virt-aa-hook', f)).isFile());
const shippedOverride = fs.readFileSync(path.join(shipped, 'local-override/usr.sbin.libvirtd'), 'utf8');
/** The override block as install writes it: the hook's node (as given and resolved) in place of @NODE@. */
const overrideBlock = shippedOverride.replace(/^audit deny @NODE@ wl,$/m, [...new Set([node, fs.realpathSync(node)])].map((n) => `audit deny ${n} wl,`).join('\n'));
const countLines = (text: string, line: string): number => text.split('\n').filter((l) => l === line).length;
const emulatorDir = '/usr/lib/virt-aa-hook/emulators';
/** The block as installed: the wrappers' directory filled in. */
const installedOverride = overrideBlock.replaceAll('@EMULATOR_DIR@', emulatorDir);

test('the shipped override: the exact Px line of the hook, the exec rule of the wrappers and write denies, between the markers', (t) => {
  const lines = shippedOverride.trimEnd().split('\n');
  t.is(lines[0], '# BEGIN virt-aa-hook');
  t.is(lines.at(-1), '# END virt-aa-hook');
  const rules = lines.filter((l) => !l.startsWith('#') && l.trim() !== '');
  t.deepEqual(rules.filter((l) => !l.startsWith('audit deny ')), ['/etc/libvirt/hooks/qemu Px -> virt-aa-hook,', '@EMULATOR_DIR@/** PUxr,']);
  for (const rule of rules.filter((l) => l.startsWith('audit deny '))) t.regex(rule, /^audit deny \S+ wl,$/, rule);
  t.is(countLines(shippedOverride, 'audit deny @NODE@ wl,'), 1);
});

test('a fresh install puts every file in place with its mode and the given node as shebang', (t) => {
  const staged = stagedRoot();
  const out = ok(install(staged));
  const { at } = staged;

  for (const [bundle, installed] of [
    [distCli, 'usr/lib/virt-aa-hook/virt-aa-hook'],
    [distHook, 'etc/libvirt/hooks/qemu'],
    [distHelper, 'usr/lib/libvirt/virt-aa-helper'],
  ] as const) {
    t.is(mode(at(installed)), 0o755, installed);
    t.is(firstLine(at(installed)), `#!${node}`, installed);
    const [line3, line3Installed] = [afterFirstLine(bundle), afterFirstLine(at(installed))].map((text) => text.split('\n')[1]);
    t.is(line3, 'const virtAaHookCodeCacheDir = null;');
    t.is(line3Installed, 'const virtAaHookCodeCacheDir = "/var/cache/apparmor/virt-aa-hook/code";', `${installed} names its code cache`);
    t.is(afterFirstLine(at(installed)).replace(line3Installed ?? '', line3 ?? ''), afterFirstLine(bundle), `${installed} is the bundle below its shebang`);
  }
  t.is(fs.readlinkSync(at('usr/sbin/virt-aa-hook')), '../lib/virt-aa-hook/virt-aa-hook');
  t.is(fs.readFileSync(at('usr/lib/virt-aa-hook/apparmor.d/virt-aa-hook/TEMPLATE.qemu'), 'utf8'), fs.readFileSync(path.join(shipped, 'virt-aa-hook/TEMPLATE.qemu'), 'utf8'));
  if (fs.existsSync(path.join(checkoutRoot, 'scripts/qemu-wrapper'))) {
    t.is(sha(at('usr/lib/virt-aa-hook/scripts/qemu-wrapper')), sha(path.join(checkoutRoot, 'scripts/qemu-wrapper')));
  }

  t.is(sha(at('etc/apparmor.d/virt-aa-hook/TEMPLATE.qemu')), sha(path.join(shipped, 'virt-aa-hook/TEMPLATE.qemu')));
  t.is(mode(at('etc/apparmor.d/virt-aa-hook/TEMPLATE.qemu')), 0o644);
  t.false(fs.existsSync(at('etc/apparmor.d/virt-aa-hook/TEMPLATE.qemu.new')));
  for (const name of shippedAbstractions) {
    const installed = at(`etc/apparmor.d/abstractions/virt-aa-hook/${name}`);
    t.is(sha(installed), sha(path.join(shipped, 'abstractions/virt-aa-hook', name)), name);
    t.is(mode(installed), 0o644, name);
  }

  // The hook profile: as shipped, except that @{node} names the node given.
  const profile = fs.readFileSync(at('etc/apparmor.d/etc.libvirt.hooks.qemu'), 'utf8');
  const nodeValues = [...new Set([node, fs.realpathSync(node)])].join(' ');
  t.is(profile, fs.readFileSync(path.join(shipped, 'etc.libvirt.hooks.qemu'), 'utf8').replace(/^@\{node\} = .*$/m, `@{node} = ${nodeValues}`));
  t.is(mode(at('etc/apparmor.d/etc.libvirt.hooks.qemu')), 0o644);

  // The override: appended once, after the admin's lines, which are kept.
  const local = fs.readFileSync(at('etc/apparmor.d/local/usr.sbin.libvirtd'), 'utf8');
  t.is(local, `${siteRules}\n${installedOverride}`);

  // libvirt's helper moved aside (no dpkg database in a staging root), ours in its place, and our block in its profile's local file.
  t.deepEqual(fs.readFileSync(at('usr/lib/libvirt/virt-aa-helper.distrib')), libvirtHelperBytes);
  t.regex(out, /moved libvirt's virt-aa-helper to \/usr\/lib\/libvirt\/virt-aa-helper\.distrib/);
  const helperLocal = fs.readFileSync(at('etc/apparmor.d/local/usr.lib.libvirt.virt-aa-helper'), 'utf8');
  t.regex(helperLocal, new RegExp(`^${nodeValues.split(' ').map((n) => `${n.replace(/[.+]/g, '\\$&')} rix,`).join('\n')}$`, 'm'));
  t.regex(helperLocal, /^\/usr\/lib\/libvirt\/virt-aa-helper\.distrib rix,$/m);
  t.false(helperLocal.split('\n').some((l) => !l.startsWith('#') && /@NODE@|@ORIGINAL_HELPER@/.test(l)), 'every placeholder filled in');

  for (const dir of ['etc/apparmor.d/libvirt', 'etc/apparmor.d/virt-aa-hook/placeholders', 'var/lib/virt-aa-hook', 'var/cache/apparmor/virt-aa-hook', 'var/cache/apparmor/virt-aa-hook/code', 'etc/virt-aa-hook']) {
    t.true(fs.statSync(at(dir)).isDirectory(), dir);
    t.is(mode(at(dir)), 0o755, dir);
  }
  t.is(fs.readFileSync(at('etc/virt-aa-hook/config.json'), 'utf8'), '{\n  "policy": "require"\n}\n', 'a fresh install requires confinement');
  // The wrapper of the emulator PATH finds, and (no systemd here) the PATH line for Debian's init script.
  const wrapper = at(`${emulatorDir.slice(1)}/qemu-system-x86_64`);
  t.is(mode(wrapper), 0o755);
  t.regex(fs.readFileSync(wrapper, 'utf8'), /^real='\/usr\/bin\/qemu-system-x86_64'$/m);
  t.deepEqual(fs.readdirSync(at(emulatorDir.slice(1))), ['qemu-system-x86_64'], '/opt is not in the daemon\'s PATH');
  t.regex(fs.readFileSync(at('etc/default/libvirtd'), 'utf8'), new RegExp(`^#LIBVIRTD_ARGS="--listen"\n# BEGIN virt-aa-hook PATH .*\n[^]*^PATH=${emulatorDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n# END virt-aa-hook PATH\n$`, 'm'));
  t.false(fs.existsSync(at('etc/systemd')), 'no systemd on the target, no drop-in');
  t.false(fs.existsSync(at('etc/systemd')), 'no systemd on the target, no unit');
  t.true(fs.existsSync(at('var/lib/virt-aa-hook/install-manifest')));

  t.regex(out, /kill -HUP "\$\(cat \/run\/libvirtd.pid\)"/);
  t.regex(out, /systemctl reload libvirtd/);
});

test('the installed programs run through their shebang, and the CLI finds its template beside itself', (t) => {
  const staged = stagedRoot();
  ok(install(staged));
  // The installed bundles name the target's code cache; here, the staged one.
  const codeCache = staged.at('var/cache/apparmor/virt-aa-hook/code');
  const env = { ...process.env, VIRT_AA_HOOK_CODE_CACHE: codeCache };
  const help = spawnSync(staged.at('usr/sbin/virt-aa-hook'), ['--help'], { encoding: 'utf8', env });
  t.is(help.status, 0, help.stderr);
  t.regex(help.stdout, /generate/);

  const example = path.join(checkoutRoot, 'test/fixtures/example-vm.xml');
  const installed = spawnSync(staged.at('usr/sbin/virt-aa-hook'), ['generate', '--profile', example], { encoding: 'utf8', env });
  const fromCheckout = spawnSync(process.execPath, [distCli, 'generate', '--profile', example], { encoding: 'utf8' });
  t.is(installed.status, fromCheckout.status, installed.stderr);
  t.is(installed.stdout, fromCheckout.stdout);

  // An event the hook ignores: it runs, reads stdin, prints nothing, exits 0.
  const logDir = fs.realpathSync(tmp.dirSync({ unsafeCleanup: true }).name);
  const config = path.join(logDir, 'config.json');
  fs.writeFileSync(config, JSON.stringify({ paths: { logFile: path.join(logDir, 'log') } }));
  const hook = spawnSync(staged.at('etc/libvirt/hooks/qemu'), ['vm', 'attach', 'begin', '-'], { input: '<domain/>', encoding: 'utf8', env: { PATH: '/usr/bin:/bin', LC_ALL: 'C', VIRT_AA_HOOK_CONFIG: config, VIRT_AA_HOOK_CODE_CACHE: codeCache } });
  t.is(hook.status, 0, hook.stderr);
  t.is(hook.stdout, '');
  t.deepEqual(fs.readdirSync(codeCache).sort(), ['qemu.attach.cache', 'virt-aa-hook.generate.cache', 'virt-aa-hook.other.cache'], 'each call of a new kind left its code');
});

test("an admin's own hook moves to qemu.d untouched, and still runs from there", (t) => {
  const staged = stagedRoot({ adminHook: true });
  const before = fs.readFileSync(staged.at('etc/libvirt/hooks/qemu'));
  const out = ok(install(staged));
  t.regex(out, /moved your hook \/etc\/libvirt\/hooks\/qemu to \/etc\/libvirt\/hooks\/qemu\.d\/00-qemu\.moved-by-virt-aa-hook/);

  const moved = staged.at(movedHook);
  t.deepEqual(fs.readFileSync(moved), before);
  t.is(mode(moved), 0o750);
  t.is(fs.statSync(moved).mtimeMs, adminHookTime.getTime());
  t.is(firstLine(staged.at('etc/libvirt/hooks/qemu')), `#!${node}`, 'ours is the main hook now');

  // libvirt runs every executable entry of qemu.d with the same argv.
  execFileSync(moved, ['vm1', 'prepare', 'begin', '-'], { input: '<domain/>' });
  t.is(fs.readFileSync(staged.marker, 'utf8'), 'vm1 prepare begin -\n');
});

test('installing again changes nothing: no second override block, the admin hook is not moved twice', (t) => {
  const staged = stagedRoot({ adminHook: true, systemd: true });
  ok(install(staged));
  const first = snapshot(staged.root);
  const again = install(staged);
  ok(again);
  t.notRegex(again.stdout, /moved your hook/);
  t.deepEqual(snapshot(staged.root), first);

  const local = fs.readFileSync(staged.at('etc/apparmor.d/local/usr.sbin.libvirtd'), 'utf8');
  t.is(countLines(local, '# BEGIN virt-aa-hook'), 1);
  t.is(countLines(local, '/etc/libvirt/hooks/qemu Px -> virt-aa-hook,'), 1);
  t.deepEqual(fs.readdirSync(staged.at('etc/libvirt/hooks/qemu.d')), ['00-qemu.moved-by-virt-aa-hook']);
});

test('uninstall puts the root back as it was: the admin hook byte for byte, with its mode and mtime', (t) => {
  const staged = stagedRoot({ adminHook: true, systemd: true });
  const before = snapshot(staged.root);
  ok(install(staged));
  t.true(fs.existsSync(staged.at('etc/systemd/system/virt-aa-hook-sync.service')));
  t.is(fs.readlinkSync(staged.at('etc/systemd/system/libvirtd.service.wants/virt-aa-hook-sync.service')), '/etc/systemd/system/virt-aa-hook-sync.service');

  const out = ok(uninstall(staged));
  t.regex(out, /moved your hook back to \/etc\/libvirt\/hooks\/qemu/);
  // Everything: the admin hook (content, mode, owner, mtime), the site rules
  // in the local override (even their missing final newline), libvirt's
  // files, and no file or directory of ours left over. Only the override's
  // mtime is new, on purpose: apparmor_parser trusts a cache newer than its
  // sources, so an old mtime would bring back policy compiled with our rule.
  t.deepEqual(withoutOverrideMtime(snapshot(staged.root)), withoutOverrideMtime(before));
  t.is(fs.readFileSync(staged.at('etc/apparmor.d/local/usr.sbin.libvirtd'), 'utf8'), siteRules);

  // Again: nothing recorded, nothing to do.
  const again = ok(uninstall(staged));
  t.regex(again, /not installed/);
  t.deepEqual(withoutOverrideMtime(snapshot(staged.root)), withoutOverrideMtime(before));
});

test("uninstall after an install that stopped between moving the admin's hook and placing ours puts the admin's hook back", (t) => {
  const staged = stagedRoot({ adminHook: true });
  const before = snapshot(staged.root);
  ok(install(staged));
  // What such an install leaves: the move recorded, no hook of ours.
  fs.rmSync(staged.at('etc/libvirt/hooks/qemu'));
  const manifest = staged.at('var/lib/virt-aa-hook/install-manifest');
  fs.writeFileSync(manifest, fs.readFileSync(manifest, 'utf8').replace(/^file \/etc\/libvirt\/hooks\/qemu .*\n/m, ''));
  ok(uninstall(staged));
  t.deepEqual(withoutOverrideMtime(snapshot(staged.root)), withoutOverrideMtime(before));
});

test('the local override keeps its mode and the lines added after ours', (t) => {
  const staged = stagedRoot();
  const local = staged.at('etc/apparmor.d/local/usr.sbin.libvirtd');
  fs.writeFileSync(local, `${siteRules}\n`);
  fs.chmodSync(local, 0o600);
  ok(install(staged));
  fs.appendFileSync(local, '/srv/later/ r,\n');
  ok(uninstall(staged));
  t.is(fs.readFileSync(local, 'utf8'), `${siteRules}\n/srv/later/ r,\n`);
  t.is(mode(local), 0o600);
});

test('uninstall keeps state, cache, configuration and the profiles of running domains; --purge removes the data', (t) => {
  const staged = stagedRoot();
  const before = snapshot(staged.root);
  ok(install(staged));
  const uuid = '00000000-0000-0000-0000-0000000000aa';
  fs.writeFileSync(staged.at('etc/virt-aa-hook/config.json'), '{ "policy": "require" }\n');
  fs.mkdirSync(staged.at('var/lib/virt-aa-hook/domains'));
  fs.writeFileSync(staged.at(`var/lib/virt-aa-hook/domains/${uuid}.json`), `{\n  "uuid": "${uuid}",\n  "name": "web1",\n  "mode": "wrapper"\n}\n`);
  fs.writeFileSync(staged.at('var/cache/apparmor/virt-aa-hook/libvirt-x.source.json'), '{}\n');
  fs.writeFileSync(staged.at(`etc/apparmor.d/libvirt/libvirt-${uuid}`), '# generated\n');
  fs.mkdirSync(staged.at('run/libvirt/qemu'), { recursive: true });
  fs.writeFileSync(staged.at('run/libvirt/qemu/web1.xml'), '<domstatus/>\n');

  const out = ok(uninstall(staged));
  t.regex(out, new RegExp(`libvirt-${uuid}: domain web1 \\(running\\)`));
  t.regex(out, /kept \/var\/lib\/virt-aa-hook \(remove it with --purge\)/);
  t.true(fs.existsSync(staged.at('etc/virt-aa-hook/config.json')));
  t.true(fs.existsSync(staged.at(`var/lib/virt-aa-hook/domains/${uuid}.json`)));
  t.true(fs.existsSync(staged.at('var/cache/apparmor/virt-aa-hook/libvirt-x.source.json')));
  t.false(fs.existsSync(staged.at('etc/libvirt/hooks/qemu')));
  t.false(fs.existsSync(staged.at('usr/lib/virt-aa-hook')));

  ok(uninstall(staged, '--purge'));
  for (const dir of ['etc/virt-aa-hook', 'var/lib/virt-aa-hook', 'var/cache/apparmor/virt-aa-hook']) t.false(fs.existsSync(staged.at(dir)), dir);
  // The running domain's profile stays; the rest is as before.
  t.true(fs.existsSync(staged.at(`etc/apparmor.d/libvirt/libvirt-${uuid}`)));
  fs.rmSync(staged.at(`etc/apparmor.d/libvirt/libvirt-${uuid}`));
  fs.rmSync(staged.at('run'), { recursive: true });
  // Without the manifest (the first uninstall removed it) the purge knows our
  // own directories only: the empty parents made for them in this bare root
  // stay (on a host they are the distro's /var/lib and /var/cache/apparmor).
  const leftovers = Object.keys(snapshot(staged.root)).filter((key) => !(key in before));
  t.deepEqual(leftovers.sort(), ['var', 'var/cache', 'var/cache/apparmor', 'var/lib']);
});

test('uninstall --purge right after install leaves the root exactly as it was', (t) => {
  const staged = stagedRoot({ adminHook: true });
  const before = snapshot(staged.root);
  ok(install(staged));
  fs.writeFileSync(staged.at('etc/virt-aa-hook/config.json'), '{}\n');
  fs.writeFileSync(staged.at('var/cache/apparmor/virt-aa-hook/cache-file'), 'x');
  ok(uninstall(staged, '--purge'));
  t.deepEqual(withoutOverrideMtime(snapshot(staged.root)), withoutOverrideMtime(before));
});

test('an edited template is kept, the new one goes beside it, and uninstall leaves the edit alone', (t) => {
  const staged = stagedRoot();
  ok(install(staged));
  const template = staged.at('etc/apparmor.d/virt-aa-hook/TEMPLATE.qemu');
  fs.appendFileSync(template, '# site edit\n');
  const out = ok(install(staged));
  t.regex(out, /kept your edited \/etc\/apparmor\.d\/virt-aa-hook\/TEMPLATE\.qemu/);
  t.regex(fs.readFileSync(template, 'utf8'), /# site edit\n$/);
  t.is(sha(`${template}.new`), sha(path.join(shipped, 'virt-aa-hook/TEMPLATE.qemu')));

  const removed = uninstall(staged);
  ok(removed);
  t.regex(removed.stderr, /TEMPLATE\.qemu was changed since it was installed: left in place/);
  t.true(fs.existsSync(template));
  t.false(fs.existsSync(`${template}.new`));
});

test('a node older than 18.19, a relative path, or a script instead of node is refused, and nothing is installed', (t) => {
  const staged = stagedRoot({ adminHook: true });
  const before = snapshot(staged.root);
  const bin = fs.realpathSync(tmp.dirSync({ unsafeCleanup: true }).name);
  const fake = (name: string, version: string): string => {
    const file = path.join(bin, name);
    fs.writeFileSync(file, `#!/bin/sh\necho ${version}\n`, { mode: 0o755 });
    return file;
  };

  const old = runScript(installScript, ['--root', staged.root, '--node', fake('node18.0', 'v18.0.0')]);
  t.is(old.status, 1);
  t.regex(old.stderr, /is Node\.js v18\.0\.0; virt-aa-hook needs Node\.js >= 18\.19/);

  const almost = runScript(installScript, ['--root', staged.root, '--node', fake('node18.18', 'v18.18.2')]);
  t.is(almost.status, 1);
  t.regex(almost.stderr, /needs Node\.js >= 18\.19/);

  const relative = runScript(installScript, ['--root', staged.root, '--node', 'node']);
  t.is(relative.status, 1);
  t.regex(relative.stderr, /--node must be an absolute path/);

  const shim = runScript(installScript, ['--root', staged.root, '--node', fake('shim', 'v20.0.0')]);
  t.is(shim.status, 1);
  t.regex(shim.stderr, /not an executable binary \(a version manager shim\?\)/);

  t.deepEqual(snapshot(staged.root), before);
});

test('install from a checkout without dist/ says to run npm ci', (t) => {
  const checkout = fs.realpathSync(tmp.dirSync({ unsafeCleanup: true }).name);
  fs.cpSync(path.dirname(installScript), path.join(checkout, 'scripts'), { recursive: true });
  const staged = stagedRoot();
  const run = runScript(path.join(checkout, 'scripts/install'), ['--root', staged.root, '--node', node]);
  t.is(run.status, 1);
  t.regex(run.stderr, /dist\/virt-aa-hook is missing: run npm ci first/);
});

test('--dry-run changes nothing', (t) => {
  const staged = stagedRoot({ adminHook: true, systemd: true });
  const before = snapshot(staged.root);
  const out = ok(install(staged, '--dry-run'));
  t.regex(out, /\[dry-run\] mv /);
  t.deepEqual(snapshot(staged.root), before);

  ok(install(staged));
  const installed = snapshot(staged.root);
  ok(uninstall(staged, '--dry-run', '--purge'));
  t.deepEqual(snapshot(staged.root), installed);
});

test('uninstall refuses while domains are enrolled, unless forced, and leaves their files', (t) => {
  const staged = stagedRoot();
  ok(install(staged));
  const placeholder = staged.at('etc/apparmor.d/virt-aa-hook/placeholders/libvirt-00000000-0000-0000-0000-0000000000bb');
  fs.writeFileSync(placeholder, 'profile x {}\n');
  const definition = staged.at('etc/libvirt/qemu/web-01.xml');
  fs.mkdirSync(path.dirname(definition), { recursive: true });
  fs.writeFileSync(definition, "<domain type='kvm'><name>web-01</name><metadata><vah:enrollment xmlns:vah='https://github.com/virt-aa-hook/virt-aa-hook/enrollment/1' mode='libvirt'/></metadata></domain>\n");
  const refused = uninstall(staged);
  t.is(refused.status, 1);
  t.regex(refused.stderr, /domains are still enrolled/);
  t.regex(refused.stderr, /^  web-01$/m);
  t.true(fs.existsSync(staged.at('etc/libvirt/hooks/qemu')), 'nothing removed');

  ok(uninstall(staged, '--force'));
  t.true(fs.existsSync(placeholder));
  t.false(fs.existsSync(staged.at('etc/libvirt/hooks/qemu')));
});

test('without enrolled domains, uninstall removes leftover wrappers and placeholders', (t) => {
  const staged = stagedRoot();
  ok(install(staged));
  const placeholder = staged.at('etc/apparmor.d/virt-aa-hook/placeholders/libvirt-00000000-0000-0000-0000-0000000000cc');
  fs.writeFileSync(placeholder, 'profile x {}\n');
  const wrapper = staged.at('usr/lib/libvirt/virt-aa-hook.qemu-system-x86_64');
  fs.mkdirSync(path.dirname(wrapper), { recursive: true });
  fs.writeFileSync(wrapper, '#!/bin/sh\n', { mode: 0o755 });
  ok(uninstall(staged));
  t.false(fs.existsSync(placeholder));
  t.false(fs.existsSync(wrapper));
});

test('uninstall refuses a manifest record that names a file install never writes', (t) => {
  const staged = stagedRoot();
  ok(install(staged));
  const victim = staged.at('etc/libvirt/qemu.conf');
  fs.appendFileSync(staged.at('var/lib/virt-aa-hook/install-manifest'), `file /etc/libvirt/qemu.conf ${sha(victim)}\n`);
  const run = uninstall(staged);
  t.is(run.status, 1);
  t.regex(run.stderr, /bad manifest record: file \/etc\/libvirt\/qemu\.conf/);
  t.true(fs.existsSync(victim));
});

// The real parser on the installed policy. Includes resolve in -I order
// before the base directory, so the staged tree comes first and the host's
// /etc/apparmor.d only supplies tunables and abstractions.
const parserTest = apparmorParser === undefined ? test.skip : test;

function compileStaged(staged: StagedRoot, files: readonly string[], extra: readonly string[] = []): SpawnSyncReturns<string> {
  const base = staged.at('etc/apparmor.d');
  const args = ['-Q', '-K', '-T', '-b', base, '-I', base, '-I', '/etc/apparmor.d', ...(featuresFile === null ? [] : ['-M', featuresFile]), ...extra];
  return spawnSync(apparmorParser ?? 'apparmor_parser', [...args, ...files.map((f) => staged.at(f))], { encoding: 'utf8' });
}

parserTest("the installed hook profile, and the daemon's and libvirt helper's profiles with our blocks, compile", (t) => {
  const staged = stagedRoot();
  ok(install(staged));
  const files = ['etc/apparmor.d/usr.sbin.libvirtd', 'etc/apparmor.d/etc.libvirt.hooks.qemu', 'etc/apparmor.d/usr.lib.libvirt.virt-aa-helper'];
  const run = compileStaged(staged, files);
  t.is(run.status, 0, `${run.stdout}${run.stderr}`);

  // The staged override is what was compiled, with the exact Px rule in it...
  const expanded = compileStaged(staged, ['etc/apparmor.d/usr.sbin.libvirtd'], ['-p']);
  t.regex(expanded.stdout, /^\/etc\/libvirt\/hooks\/qemu Px -> virt-aa-hook,$/m);
  // ... and a glob over the hooks instead would conflict with Debian's "/etc/libvirt/hooks/** rmix".
  if (fs.readFileSync(staged.at('etc/apparmor.d/usr.sbin.libvirtd'), 'utf8').includes('/etc/libvirt/hooks/** rmix')) {
    const local = staged.at('etc/apparmor.d/local/usr.sbin.libvirtd');
    fs.writeFileSync(local, fs.readFileSync(local, 'utf8').replace('/etc/libvirt/hooks/qemu Px', '/etc/libvirt/hooks/qemu.d/* Px'));
    const glob = compileStaged(staged, ['etc/apparmor.d/usr.sbin.libvirtd']);
    t.not(glob.status, 0);
    t.regex(`${glob.stdout}${glob.stderr}`, /conflicting x modifiers/);
  }
});

parserTest("with our override the daemon's profile denies writes to every file we install and to what the hook runs (issue 12, finding 10)", (t) => {
  const staged = stagedRoot({ systemd: true });
  ok(install(staged));
  const compiled = compileStaged(staged, ['etc/apparmor.d/usr.sbin.libvirtd'], ['-D', 'rule-exprs']);
  t.is(compiled.status, 0, compiled.stderr);
  const rules = pathRulesOf(`${compiled.stdout}${compiled.stderr}`);
  const deniesWrite = (p: string): boolean => rules.some((r) => r.deny && (r.mask & mayWrite) !== 0 && r.regex.test(p));
  // Everything install wrote, as the manifest lists it, and what the hook writes and runs at run time.
  const manifest = fs.readFileSync(staged.at('var/lib/virt-aa-hook/install-manifest'), 'utf8');
  const installed = [...manifest.matchAll(/^(?:file|link|tree|override) (\S+)/gm)].map((m) => m[1] ?? '');
  t.true(installed.length >= 10, manifest);
  const runtime = [
    '/etc/libvirt/hooks/', '/etc/libvirt/', '/etc/', '/usr/lib/virt-aa-hook/virt-aa-hook',
    '/usr/lib/libvirt/virt-aa-hook.qemu-system-x86_64', '/etc/virt-aa-hook/config.json',
    '/var/lib/virt-aa-hook/domains/6c1d4f3a-5b7e-4a29-9d0c-2f8e1b3a7c55.json', '/var/cache/apparmor/virt-aa-hook/libvirt-x',
    '/etc/apparmor.d/libvirt/libvirt-6c1d4f3a-5b7e-4a29-9d0c-2f8e1b3a7c55', '/etc/apparmor.d/virt-aa-hook/placeholders/libvirt-x',
    '/run/virt-aa-hook/locks/x', '/etc/apparmor/parser.conf', '/sbin/apparmor_parser', '/usr/bin/logger', '/etc/ld.so.preload',
    node, fs.realpathSync(node),
  ];
  for (const p of [...installed, ...runtime]) t.true(deniesWrite(p), p);
  // ... and none of what libvirtd itself writes.
  for (const p of ['/var/lib/libvirt/qemu/domain-1-vm/master-key.aes', '/etc/libvirt/qemu/vm.xml', '/run/libvirt/qemu/vm.pid', '/var/log/libvirt/qemu/vm.log', '/etc/libvirt/hooks/qemu.d/site']) {
    t.false(deniesWrite(p), p);
  }
});

parserTest('the hook profile names the node of the shebang, and its local include point works', (t) => {
  const staged = stagedRoot();
  ok(install(staged));
  fs.mkdirSync(staged.at('etc/apparmor.d/local'), { recursive: true });
  fs.writeFileSync(staged.at('etc/apparmor.d/local/etc.libvirt.hooks.qemu'), '/srv/site-extra/** r,\n');
  const expanded = compileStaged(staged, ['etc/apparmor.d/etc.libvirt.hooks.qemu'], ['-p']);
  t.is(expanded.status, 0, expanded.stderr);
  t.regex(expanded.stdout, /^profile virt-aa-hook \/etc\/libvirt\/hooks\/qemu flags=\(attach_disconnected\) \{$/m);
  t.regex(expanded.stdout, new RegExp(`^@\\{node\\} = ${node.replace(/[.+]/g, '\\$&')}( |$)`, 'm'));
  t.regex(expanded.stdout, /^\/srv\/site-extra\/\*\* r,$/m);
  t.is(compileStaged(staged, ['etc/apparmor.d/etc.libvirt.hooks.qemu']).status, 0);
});

parserTest('a daemon without a profile of its own gets our permissive one, which compiles; uninstall takes it away', (t) => {
  const staged = stagedRoot();
  fs.mkdirSync(staged.at('usr/sbin'), { recursive: true });
  fs.writeFileSync(staged.at('usr/sbin/virtqemud'), '#!/bin/sh\n', { mode: 0o755 });
  const out = ok(install(staged));
  t.regex(out, /virtqemud had no AppArmor profile: ours/);
  const profile = staged.at('etc/apparmor.d/virt-aa-hook.usr.sbin.virtqemud');
  t.regex(fs.readFileSync(profile, 'utf8'), /^profile virtqemud \/usr\/sbin\/virtqemud flags=\(attach_disconnected\) \{$/m);
  t.false(fs.existsSync(staged.at('etc/apparmor.d/virt-aa-hook.usr.sbin.libvirtd')), 'libvirtd has its distribution profile');
  const run = compileStaged(staged, ['etc/apparmor.d/virt-aa-hook.usr.sbin.virtqemud']);
  t.is(run.status, 0, `${run.stdout}${run.stderr}`);
  ok(uninstall(staged));
  t.false(fs.existsSync(profile));
});

test('with systemd: PATH drop-ins for libvirtd and virtqemud, which uninstall removes with their directories', (t) => {
  const staged = stagedRoot({ systemd: true });
  ok(install(staged));
  for (const unit of ['libvirtd', 'virtqemud']) {
    const dropIn = fs.readFileSync(staged.at(`etc/systemd/system/${unit}.service.d/virt-aa-hook-path.conf`), 'utf8');
    t.regex(dropIn, new RegExp(`^\\[Service\\]\\nEnvironment=PATH=${emulatorDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\\n$`, 'm'), unit);
  }
  t.notRegex(fs.readFileSync(staged.at('etc/default/libvirtd'), 'utf8'), /virt-aa-hook/, 'systemd reads that file too: left alone');
  ok(uninstall(staged));
  t.false(fs.existsSync(staged.at('etc/systemd/system/libvirtd.service.d')));
  t.false(fs.existsSync(staged.at('etc/systemd/system/virtqemud.service.d')));
});

test("where libvirt's AppArmor driver is active the daemons get no PATH drop-in, and an existing one goes", (t) => {
  const staged = stagedRoot({ systemd: true });
  ok(install(staged));
  fs.writeFileSync(staged.at('etc/virt-aa-hook/config.json'), '{"libvirtDriver": "active"}\n');
  const out = ok(install(staged));
  t.regex(out, /removed .*libvirtd\.service\.d\/virt-aa-hook-path\.conf: libvirt's AppArmor driver is active here/);
  t.false(fs.existsSync(staged.at('etc/systemd/system/libvirtd.service.d/virt-aa-hook-path.conf')));
  t.true(fs.existsSync(staged.at(`${emulatorDir.slice(1)}/qemu-system-x86_64`)), 'the wrappers stay for domains that name them');
});

test('an upgrade keeps its configuration; an edited fresh one survives uninstall, an unchanged one does not', (t) => {
  const upgraded = stagedRoot();
  fs.mkdirSync(upgraded.at('etc/virt-aa-hook'), { recursive: true });
  fs.writeFileSync(upgraded.at('etc/virt-aa-hook/config.json'), '{"policy": "warn"}\n');
  ok(install(upgraded));
  t.is(fs.readFileSync(upgraded.at('etc/virt-aa-hook/config.json'), 'utf8'), '{"policy": "warn"}\n');
  ok(uninstall(upgraded));
  t.true(fs.existsSync(upgraded.at('etc/virt-aa-hook/config.json')), "the admin's own configuration stays");

  const fresh = stagedRoot();
  ok(install(fresh));
  ok(install(fresh));
  t.true(fs.existsSync(fresh.at('etc/virt-aa-hook/config.json')), 'a reinstall keeps it');
  fs.appendFileSync(fresh.at('etc/virt-aa-hook/config.json'), ' ');
  ok(uninstall(fresh));
  t.true(fs.existsSync(fresh.at('etc/virt-aa-hook/config.json')), 'edited since: kept');
});

test('uninstall refuses while a domain names a wrapper of the emulator directory', (t) => {
  const staged = stagedRoot();
  ok(install(staged));
  const definition = staged.at('etc/libvirt/qemu/new-vm.xml');
  fs.mkdirSync(path.dirname(definition), { recursive: true });
  fs.writeFileSync(definition, `<domain type='kvm'><name>new-vm</name><devices><emulator>${emulatorDir}/qemu-system-x86_64</emulator></devices></domain>\n`);
  const refused = uninstall(staged);
  t.is(refused.status, 1);
  t.regex(refused.stderr, /^  new-vm$/m);
  t.regex(refused.stderr, /virt-aa-hook unenroll --all/);
});

test('install puts every file and link the manifest lists for this target, with its mode; uninstall takes every one away', (t) => {
  const staged = stagedRoot({ systemd: true });
  ok(install(staged));
  const lines = execFileSync(process.execPath, [distCli, 'manifest', '--flavour', 'local', '--root', staged.root], { encoding: 'utf8' }).trimEnd().split('\n');
  const targets: string[] = [];
  for (const line of lines) {
    const [kind = '', a = '', , , target = ''] = line.split('\t');
    if (kind === 'file') {
      targets.push(target);
      t.is(mode(staged.at(target.slice(1))), Number.parseInt(a, 8), target);
    } else if (kind === 'link') {
      targets.push(a);
      t.true(fs.lstatSync(staged.at(a.slice(1))).isSymbolicLink(), a);
    }
  }
  t.true(targets.includes('/usr/share/man/man8/virt-aa-hook.8'));
  t.true(targets.includes('/usr/share/bash-completion/completions/virt-aa-hook'));
  t.regex(fs.readFileSync(staged.at('usr/share/man/man8/virt-aa-hook-qemu.8'), 'utf8'), /^\.TH VIRT-AA-HOOK-QEMU 8 /m);
  ok(uninstall(staged));
  t.deepEqual(targets.filter((target) => fs.existsSync(staged.at(target.slice(1)))), []);
});
