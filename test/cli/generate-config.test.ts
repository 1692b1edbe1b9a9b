// `generate` reads the configuration through the profile store's own path:
// for a domain with per-domain rules (and graphicsTls and a moved libvirt
// layout), what it prints is byte for byte the `.files` the hook writes and
// the rules our virt-aa-helper's dry run would write.

import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseHelperArgv } from '../../lib/helper/argv.ts';
import { runHelper } from '../../lib/helper/run.ts';
import { dispatch } from '../../lib/hook/dispatch.ts';
import { parseHookArgv } from '../../lib/hook/event.ts';
import { renderWrapper } from '../../lib/wrapper.ts';
import { checkoutRoot } from '../helpers/apparmor-parser.ts';
import { emptyConfig, runCapture } from '../helpers/cli.ts';
import { hookEnv } from '../helpers/hook-env.ts';

const uuid = '3a1f2b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b';
const rules = ['/srv/web-01/snapshots/** rwk,', '/srv/shared/readme.txt r,'];

function environment() {
  const env = hookEnv({
    graphicsTls: true,
    layout: { qemuRunDir: '/run/elsewhere/qemu' },
    domains: { 'web-01': { rules, complain: true } },
  });
  // Our wrapper, as libvirt finds it first in its PATH: the profile names the emulator it execs.
  const wrapper = path.join(env.config.paths.emulatorDir, 'qemu-system-x86_64');
  fs.mkdirSync(path.dirname(wrapper), { recursive: true });
  fs.writeFileSync(wrapper, renderWrapper(fs.readFileSync(path.join(checkoutRoot, 'scripts/qemu-wrapper'), 'utf8'), '/usr/bin/qemu-system-x86_64'), { mode: 0o755 });
  const xml = `<domain type='kvm' id='4'><name>web-01</name><uuid>${uuid}</uuid>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>${wrapper}</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/srv/vms/web-01.img'/><target dev='vda'/></disk>
    <graphics type='vnc' port='-1' autoport='yes'/>
  </devices></domain>`;
  const file = path.join(env.root, 'web-01.xml');
  fs.writeFileSync(file, xml);
  return { env, xml, file };
}

test("generate prints the .files the hook writes and the rules our helper's dry run gives, with the configuration's rules", async (t) => {
  const { env, xml, file } = environment();
  const generated = await runCapture(['generate', '--config-file', env.configFile, file]);
  t.is(generated.code, 0, generated.stderr);

  const prepare = dispatch(parseHookArgv(['web-01', 'prepare', 'begin', '-']), xml, env.deps());
  t.is(prepare.exitCode, 0, prepare.stderr.join('\n'));
  const written = fs.readFileSync(env.filesFile(uuid), 'utf8');

  const helper = runHelper(parseHelperArgv(['-d', '-r', '-u', `libvirt-${uuid}`]), { ...env.deps(), readXml: () => xml });
  if (helper.kind !== 'done') return t.fail('the helper passed the domain on');
  t.is(helper.exitCode, 0, helper.stderr.join('\n'));
  const helperRules = helper.stderr[helper.stderr.indexOf(env.filesFile(uuid)) + 2];

  t.is(generated.stdout, written);
  t.is(helperRules, written);
  // What the configuration put there, so the equality above is not the equality of two empty configurations.
  t.true(written.includes(`# configuration: domains.web-01.rules\n${rules.join('\n')}\n`), written);
  t.true(written.includes('#include <abstractions/virt-aa-hook/tls>'), 'graphicsTls');
  t.true(written.includes('"/run/elsewhere/qemu/web-01.pid" rwk,'), 'the layout of the configuration');
  t.true(written.includes('"/usr/bin/qemu-system-x86_64" ix,'), 'the emulator the wrapper of the configured emulatorDir execs');
});

test('generate --explain and --json carry the configuration too; without it they do not', async (t) => {
  const { env, file } = environment();
  const explained = await runCapture(['generate', '--config-file', env.configFile, '--explain', file]);
  t.is(explained.code, 0, explained.stderr);
  t.true(explained.stdout.endsWith(`\n# configuration: domains.web-01.rules\n${rules.join('\n')}\n`), explained.stdout);
  const json = await runCapture(['generate', '--config-file', env.configFile, '--json', file]);
  t.like(JSON.parse(json.stdout), { configuredRules: { key: 'web-01', rules }, complain: true });
  const bare = await runCapture(['generate', '--config-file', emptyConfig, '--json', file]);
  const plain = JSON.parse(bare.stdout) as { configuredRules: unknown; complain: boolean; abstractions: { include: string }[]; rules: { path: string }[] };
  t.is(plain.configuredRules, null);
  t.false(plain.complain);
  t.false(plain.abstractions.some((a) => a.include.endsWith('/tls')));
  t.true(plain.rules.some((r) => r.path === '/run/libvirt/qemu/web-01.pid'));
  // Without the configuration's emulatorDir the wrapper is just some program.
  t.false(plain.rules.some((r) => r.path === '/usr/bin/qemu-system-x86_64'));
});

test('a bad configuration is a usage error, as for the hook', async (t) => {
  const { env, file } = environment();
  fs.writeFileSync(env.configFile, '{"domains": {"web-01": {"rules": ["no comma"]}}}');
  const run = await runCapture(['generate', '--config-file', env.configFile, file]);
  t.is(run.code, 64);
  t.regex(run.stderr, /^virt-aa-hook: error: invalid configuration .*"domains\.web-01\.rules\[0\]" must be one AppArmor rule/);
});
