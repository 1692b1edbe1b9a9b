import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import tmp from 'tmp';
import { checkoutRoot, compileProfile } from '../helpers/apparmor-parser.ts';
import { emptyConfig, runCapture } from '../helpers/cli.ts';

const cli = path.join(checkoutRoot, 'dist/virt-aa-hook');
const example = path.join(checkoutRoot, 'test/fixtures/example-vm.xml');

test('a 50 MB document on stdin is refused in one line, exit 2', (t) => {
  const run = spawnSync(cli, ['generate', '-'], { input: `<domain>${'x'.repeat(50 * 1024 * 1024)}</domain>`, encoding: 'utf8', maxBuffer: 1 << 20 });
  t.is(run.status, 2);
  t.is(run.stderr, 'virt-aa-hook: error: cannot read standard input: larger than 10 MiB\n');
  t.is(run.stdout, '');
});

test('--json gives every rule with its reasons', async (t) => {
  const run = await runCapture(['generate', '--config-file', emptyConfig, '--json', example]);
  t.is(run.code, 0, run.stderr);
  const json = JSON.parse(run.stdout) as { profile: string; rules: { path: string; perms: string; reasons: { device: string }[] }[]; abstractions: { include: string }[] };
  t.is(json.profile, 'libvirt-6c1d4f3a-5b7e-4a29-9d0c-2f8e1b3a7c55');
  t.like(json.rules.find((r) => r.path === '/var/lib/libvirt/images/web-01.qcow2'), { perms: 'rwk', reasons: [{ device: "disk 'vda'", detail: 'image' }] });
  t.like(json.rules.find((r) => r.path === '/var/lib/libvirt/images/debian-12-base.qcow2'), { perms: 'rk', reasons: [{ device: "disk 'vda'", detail: 'backing file (depth 1)' }] });
  t.true(json.abstractions.some((a) => a.include === 'abstractions/virt-aa-hook/swtpm'));
});

test('--profile --explain compiles and says why every rule is there', async (t) => {
  const run = await runCapture(['generate', '--config-file', emptyConfig, '--profile', '--explain', example]);
  t.is(run.code, 0, run.stderr);
  for (const line of run.stdout.split('\n').filter((l) => /^\s+"/.test(l))) t.regex(line, /, {2}# \S/, line);
  const compiled = compileProfile(run.stdout);
  t.true(compiled.ok, compiled.output);
});

test('a broken template is a host error: exit 3, one line naming the token', async (t) => {
  const dir = tmp.dirSync({ unsafeCleanup: true }).name;
  const template = path.join(dir, 'TEMPLATE.qemu');
  fs.writeFileSync(template, 'profile ###PROFILE_NAME### {\n###VM_RULES###\n###EXTRA###\n}\n');
  const run = await runCapture(['generate', '--config-file', emptyConfig, '--profile', '--template', template, example]);
  t.is(run.code, 3);
  t.is(run.stderr, `virt-aa-hook: error: path "${template}": cannot use profile template: unknown token ###EXTRA###\n`);
  fs.writeFileSync(template, 'profile ###PROFILE_NAME### {\n}\n');
  t.regex((await runCapture(['generate', '--config-file', emptyConfig, '--profile', '--template', template, example])).stderr, /token ###VM_RULES### is missing/);
});

test('a missing file and an unknown option are one-line errors', async (t) => {
  const missing = await runCapture(['generate', '--config-file', emptyConfig, '/nonexistent/domain.xml']);
  t.is(missing.code, 2);
  t.is(missing.stderr, 'virt-aa-hook: error: path "/nonexistent/domain.xml": cannot read /nonexistent/domain.xml: ENOENT\n');
  const unknown = await runCapture(['generate', '--config-file', emptyConfig, '--frobnicate', example]);
  t.is(unknown.code, 64);
  t.is(unknown.stderr, 'virt-aa-hook: error: Unknown argument: frobnicate\n');
});
