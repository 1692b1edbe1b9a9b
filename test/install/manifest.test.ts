// The one list of what an installation consists of (lib/install/manifest.ts),
// the man pages made from the program's own help (lib/install/man.ts), and
// the few facts the shell and the packaging must repeat, checked to agree.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import tmp from 'tmp';
import { checkoutRoot } from '../helpers/apparmor-parser.ts';
import { defaultConfigPath, defaultPaths } from '../../lib/config.ts';
import { activations, files, flavours, installRecordPath, libDir, manifest, manifestLines, rpmFiles, triggerPaths, type Entry } from '../../lib/install/manifest.ts';
import { parseHelp, programPage, roffText } from '../../lib/install/man.ts';
import { helpText } from '../../lib/cli/run.ts';

const policy = (fs.readdirSync(path.join(checkoutRoot, 'apparmor.d'), { recursive: true }) as string[])
  .map((f) => `apparmor.d/${f}`)
  .filter((f) => fs.statSync(path.join(checkoutRoot, f)).isFile());
const targets = (entries: readonly Entry[]): string[] => entries.map((e) => e.target);
const io = { stdout: () => undefined, stderr: () => undefined };
const distCli = path.join(checkoutRoot, 'dist/virt-aa-hook');

test('every flavour installs each target once, every build source exists, and the bundles get the shebang', (t) => {
  for (const flavour of flavours) {
    const entries = manifest(flavour, policy, { systemd: true, apt: true });
    t.is(new Set(targets(entries)).size, entries.length, flavour);
    for (const entry of files(entries)) {
      if (entry.source.kind === 'build' && !entry.source.path.startsWith('dist/')) t.true(fs.existsSync(path.join(checkoutRoot, entry.source.path)), entry.source.path);
      t.is(entry.shebang, entry.source.kind === 'build' && entry.source.path.startsWith('dist/') && entry.source.path !== 'dist/package.json', entry.target);
      t.is(entry.conffile, entry.target.startsWith('/etc/'), entry.target);
    }
  }
});

test('the flavours differ only where a distribution does: the unit directory, the helper, the APT hook and the fresh configuration', (t) => {
  const deb = new Set(targets(manifest('deb', policy)));
  const rpm = new Set(targets(manifest('rpm', policy)));
  const local = new Set(targets(manifest('local', policy, { systemd: true, apt: true })));
  t.deepEqual([...deb].filter((p) => !rpm.has(p)).sort(), ['/lib/systemd/system/virt-aa-hook-sync.service', defaultPaths.libvirtHelper].sort());
  t.deepEqual([...rpm].filter((p) => !deb.has(p)).sort(), ['/usr/lib/systemd/system/virt-aa-hook-sync.service', `${libDir}/virt-aa-helper`].sort());
  t.deepEqual([...local].filter((p) => !rpm.has(p)).sort(), ['/etc/apt/apt.conf.d/90virt-aa-hook', '/etc/systemd/system/virt-aa-hook-sync.service']);
  t.deepEqual([...rpm].filter((p) => !local.has(p)).sort(), [defaultConfigPath, '/usr/lib/systemd/system/virt-aa-hook-sync.service']);
  t.false(targets(manifest('local', policy, { systemd: false, apt: false })).some((p) => p.includes('systemd') || p.includes('/apt/')));
});

test('manifestLines is tab-separated and one line per entry; rpmFiles marks conffiles and owns our directories', (t) => {
  const entries = manifest('rpm', policy);
  const lines = manifestLines(entries).trimEnd().split('\n');
  t.is(lines.length, entries.length);
  t.true(lines.includes(`file\t0755\t1\t0\t${libDir}/virt-aa-hook`));
  t.true(lines.includes(`link\t/usr/sbin/virt-aa-hook\t../lib/virt-aa-hook/virt-aa-hook`));
  const spec = rpmFiles(entries);
  t.regex(spec, /^%attr\(644,root,root\) %config\(noreplace\) \/etc\/apparmor\.d\/virt-aa-hook\/TEMPLATE\.qemu$/m);
  t.regex(spec, /^%dir \/usr\/lib\/virt-aa-hook$/m);
  t.regex(spec, /^%attr\(644,root,root\) \/usr\/share\/man\/man8\/virt-aa-hook\.8\*$/m);
  t.is(activations('deb').length, activations('rpm').length);
  t.true(triggerPaths.includes('/usr/bin/qemu-system-x86_64'));
});

test("scripts/lib/common.sh's bootstrap paths are the manifest's", (t) => {
  const common = fs.readFileSync(path.join(checkoutRoot, 'scripts/lib/common.sh'), 'utf8');
  const value = (name: string): string | undefined => new RegExp(`^readonly ${name}=(.*)$`, 'm').exec(common)?.[1];
  t.is(value('libdir'), libDir);
  t.is(value('state_dir'), defaultPaths.stateDir);
  t.is(`${value('manifest_file')?.replace('$state_dir', value('state_dir') ?? '')}`, installRecordPath);
});

test("the package's version is package.json's", (t) => {
  const changelog = fs.readFileSync(path.join(checkoutRoot, 'debian/changelog'), 'utf8');
  const { version } = JSON.parse(fs.readFileSync(path.join(checkoutRoot, 'package.json'), 'utf8')) as { version: string };
  t.is(/^virt-aa-hook \(([^)]+)\)/.exec(changelog)?.[1], version);
  t.regex(fs.readFileSync(path.join(checkoutRoot, 'rpm/virt-aa-hook.spec'), 'utf8'), new RegExp(`virt_aa_hook_version ${version.replace(/\./g, '\\.')}\\}`));
});

test('help text parses into usage, description and blocks', (t) => {
  const parsed = parseHelp('x gen [file]\n\nmakes things\n\nPositionals:\n  file  a file  [string]\n\nOptions:\n  -a, --all  every one  [boolean]\n');
  t.is(parsed.usage, 'x gen [file]');
  t.is(parsed.description, 'makes things');
  t.deepEqual(parsed.blocks.get('Options'), [{ term: '-a, --all', text: 'every one  [boolean]' }]);
  t.is(roffText('.dot\n-x \\ y'), '\\&.dot\n\\-x \\e y');
});

test("the man page has a section for every command the program's help lists, with its own options", async (t) => {
  const top = await helpText([], io);
  const names = (parseHelp(top).blocks.get('Commands') ?? []).map((e) => e.term.split(/\s+/)[1] ?? '');
  t.true(names.includes('generate') && names.includes('completion'));
  const commands = new Map<string, string>();
  for (const name of names) commands.set(name, await helpText([name], io));
  const page = programPage('9.9.9', top, commands);
  for (const name of names) t.true(page.includes(`.SS "virt\\-aa\\-hook ${name.replaceAll('-', '\\-')}`), name);
  t.regex(page, /^\.B \\-\\-profile$/m, "generate's own option");
  t.regex(page, /^\.TH VIRT-AA-HOOK 8 "" "virt\\-aa\\-hook 9\.9\.9"/m);
});

const manTest = spawnSync('sh', ['-c', 'command -v man']).status === 0 && fs.existsSync(distCli) ? test : test.skip;

manTest('the staged man pages render without a groff warning, and the completion script completes a command', (t) => {
  const dir = fs.realpathSync(tmp.dirSync({ unsafeCleanup: true }).name);
  const staged = spawnSync(process.execPath, [distCli, 'stage', '--flavour', 'deb', dir], { encoding: 'utf8' });
  t.is(staged.status, 0, staged.stderr);
  for (const page of ['virt-aa-hook', 'virt-aa-hook-qemu', 'virt-aa-hook-helper']) {
    const rendered = spawnSync('man', ['--warnings', '-E', 'UTF-8', '-l', '-Tutf8', '-Z', path.join(dir, `usr/share/man/man8/${page}.8`)], { encoding: 'utf8', env: { ...process.env, MANWIDTH: '80' } });
    t.is(rendered.status, 0, page);
    t.is(rendered.stderr, '', page);
  }
  const completion = path.join(dir, 'usr/share/bash-completion/completions/virt-aa-hook');
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'virt-aa-hook'), `#!/bin/sh\nexec '${process.execPath}' '${distCli}' "$@"\n`, { mode: 0o755 });
  const out = spawnSync('bash', ['-c', `. '${completion}' && COMP_WORDS=(virt-aa-hook enr) COMP_CWORD=1 && _virt-aa-hook_yargs_completions && echo "\${COMPREPLY[*]}"`], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}` } });
  t.is(out.stdout.trim(), 'enroll', out.stderr);
});
