// The .deb and the RPM hold the same files, both exactly what the program's
// manifest (lib/install/manifest.ts) lists for their flavour: `dpkg-deb -c`
// against `rpm -qlp`, conffiles against %config, the dpkg trigger against the
// manifest's emulator paths. Needs dpkg-deb and rpm (not root).
//
// The packages: $VIRT_AA_HOOK_DEB and $VIRT_AA_HOOK_RPM when set (.ci/run
// builds them), else scripts/build-packages builds them into .cache/packages.

import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkoutRoot } from '../helpers/apparmor-parser.ts';
import { must, run } from '../integration/helpers/host.ts';
import { defaultPaths } from '../../lib/config.ts';
import { files, manifest, shippedHelperPath, triggerPaths, type Entry, type Flavour } from '../../lib/install/manifest.ts';

const have = (tool: string): boolean => run('sh', ['-c', `command -v ${tool}`]).code === 0;
const missing = ['dpkg-deb', 'dpkg-buildpackage', 'rpm', 'rpmbuild'].find((tool) => !have(tool));

/** The checkout's files below apparmor.d/, as the manifest takes them. */
function policyFiles(): string[] {
  return (fs.readdirSync(path.join(checkoutRoot, 'apparmor.d'), { recursive: true }) as string[])
    .map((f) => `apparmor.d/${f}`)
    .filter((f) => fs.statSync(path.join(checkoutRoot, f)).isFile());
}

/** Files and links of an installation (no directories), man pages without their compression suffix. */
function expected(flavour: Flavour): string[] {
  const entries: readonly Entry[] = manifest(flavour, policyFiles());
  return entries.flatMap((e) => (e.kind === 'dir' ? [] : [e.target])).sort();
}

const normalise = (paths: readonly string[]): string[] =>
  paths
    .map((p) => p.replace(/\.gz$/, ''))
    // What debhelper adds to every package: not ours to list.
    .filter((p) => !p.startsWith('/usr/share/doc/') && !p.startsWith('/usr/share/lintian/'))
    .sort();

function built(kind: 'deb' | 'rpm'): string {
  const given = process.env[kind === 'deb' ? 'VIRT_AA_HOOK_DEB' : 'VIRT_AA_HOOK_RPM'];
  if (given !== undefined) return given;
  const out = path.join(checkoutRoot, '.cache', 'packages');
  return must(path.join(checkoutRoot, 'scripts/build-packages'), [`--${kind}`, '--out', out]).trim().split('\n').at(-1) ?? '';
}

function debPaths(deb: string): string[] {
  return must('dpkg-deb', ['-c', deb])
    .split('\n')
    .filter((line) => /^[-l]/.test(line))
    .map((line) => /\s\.(\/\S+)/.exec(line)?.[1] ?? '');
}

function rpmPaths(rpm: string, query: string): string[] {
  // Directories the RPM owns are listed too; a file or link is what is not a directory in its file list.
  const modes = must('rpm', ['-qp', '--qf', '[%{FILEMODES:perms} %{FILENAMES}\\n]', rpm]);
  const notDirs = new Set(modes.split('\n').filter((l) => /^[-l]/.test(l)).map((l) => l.slice(l.indexOf(' ') + 1)));
  return must('rpm', [query, rpm]).split('\n').filter((p) => notDirs.has(p));
}

if (missing !== undefined) {
  test.skip(`the packages' file lists: ${missing} is not installed (apt-get install dpkg-dev debhelper dh-apparmor rpm)`, () => {});
} else {
  const deb = built('deb');
  const rpm = built('rpm');

  test('the .deb holds exactly what the manifest lists for it', (t) => {
    t.log(`${path.basename(deb)}: ${fs.statSync(deb).size} bytes; ${path.basename(rpm)}: ${fs.statSync(rpm).size} bytes`);
    t.deepEqual(normalise(debPaths(deb)), expected('deb'));
  });

  test('the RPM holds exactly what the manifest lists for it', (t) => {
    t.deepEqual(normalise(rpmPaths(rpm, '-qlp')), expected('rpm'));
  });

  test('dpkg-deb -c and rpm -qlp list the same files, but for the unit directory and where the helper is shipped', (t) => {
    // The two differences the manifest makes on purpose: Debian's unit directory, and dpkg's diversion putting our helper at libvirt's path.
    const asRpm = (p: string): string => (p === defaultPaths.libvirtHelper ? shippedHelperPath : p.replace(/^\/lib\/systemd\/system\//, '/usr/lib/systemd/system/'));
    t.deepEqual(normalise(debPaths(deb).map(asRpm)), normalise(rpmPaths(rpm, '-qlp')));
  });

  test('the same conffiles: dpkg\'s conffiles and the RPM\'s %config(noreplace)', (t) => {
    const debConffiles = must('dpkg-deb', ['-I', deb, 'conffiles']).split('\n').filter((l) => l !== '').sort();
    const rpmConffiles = must('rpm', ['-qcp', rpm]).split('\n').filter((l) => l !== '').sort();
    t.deepEqual(debConffiles, rpmConffiles);
    t.deepEqual(debConffiles, files(manifest('deb', policyFiles())).flatMap((e) => (e.conffile ? [e.target] : [])).sort());
  });

  test("the .deb's trigger watches the manifest's emulator paths", (t) => {
    const triggers = must('dpkg-deb', ['-I', deb, 'triggers']).split('\n').filter((l) => l.startsWith('interest'));
    t.deepEqual(triggers, triggerPaths.map((p) => `interest-noawait ${p}`));
  });

  test('lintian finds no error and no warning that is not overridden with a reason', (t) => {
    if (!have('lintian')) return t.pass('lintian is not installed');
    const result = run('lintian', ['--pedantic', '-I', deb]);
    t.log(`lintian --pedantic -I: ${result.stdout.trim() === '' ? '(nothing)' : result.stdout.trim()}`);
    t.deepEqual(result.stdout.split('\n').filter((l) => /^[EWIP]: /.test(l)), []);
    t.is(result.code, 0, result.stderr);
  });
}
