// Header-named layers in a new location (issue 12, finding 1), through the
// hook as libvirt calls it: the first start records where the chain lies; a
// header rebased elsewhere (as a guest could, with qemu-img rebase -u) is
// refused at the next start in one line, until the configuration allows the
// new location. Real qcow2 images, the real parser (compile-only).

import test from 'ava';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readImageRecord } from '../../lib/apparmor/image-record.ts';
import type { Config } from '../../lib/config.ts';
import { dispatch } from '../../lib/hook/dispatch.ts';
import { parseHookArgv } from '../../lib/hook/event.ts';
import { hookEnv, type HookEnv } from '../helpers/hook-env.ts';

const uuid = '3a1f2b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b';

function qemuImg(cwd: string, ...args: string[]): void {
  fs.mkdirSync(cwd, { recursive: true });
  execFileSync('qemu-img', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

interface Setup {
  readonly env: HookEnv;
  readonly xml: string;
  readonly top: string;
  readonly templates: string;
  readonly elsewhere: string;
}

function setup(): Setup {
  const env = hookEnv();
  const [vms, templates, elsewhere] = ['vms', 'templates', 'elsewhere'].map((d) => path.join(env.root, d)) as [string, string, string];
  qemuImg(templates, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '16M');
  qemuImg(elsewhere, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '16M');
  qemuImg(vms, 'create', '-q', '-f', 'qcow2', '-b', path.join(templates, 'base.qcow2'), '-F', 'qcow2', 'web-01.qcow2');
  const top = path.join(vms, 'web-01.qcow2');
  const xml = `<domain type='kvm' id='4'><name>web-01</name><uuid>${uuid}</uuid>
  <devices><emulator>${env.config.paths.wrapperDir}/virt-aa-hook.qemu-system-x86_64</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${top}'/><target dev='vda'/></disk>
  </devices></domain>`;
  return { env, xml, top, templates, elsewhere };
}

const hook = (s: Setup, argv: string, config: Config = s.env.config) => dispatch(parseHookArgv(argv.split(' ')), s.xml, s.env.deps({ config }));
const rebase = (s: Setup, dir: string): void => qemuImg(path.dirname(s.top), 'rebase', '-u', '-b', path.join(dir, 'base.qcow2'), '-F', 'qcow2', path.basename(s.top));

test('the first start records the chain; a rebase to a new location is refused at the next start, in one line', (t) => {
  const s = setup();
  t.is(readImageRecord(s.env.config.paths.stateDir, uuid), undefined, 'never started: no record');
  const first = hook(s, 'web-01 prepare begin -');
  t.is(first.exitCode, 0, first.stderr.join('\n'));
  t.deepEqual(readImageRecord(s.env.config.paths.stateDir, uuid), [s.templates]);
  t.is(hook(s, 'web-01 release end destroyed').exitCode, 0);
  t.deepEqual(readImageRecord(s.env.config.paths.stateDir, uuid), [s.templates], 'the record outlives the run');

  rebase(s, s.elsewhere);
  const refused = hook(s, 'web-01 prepare begin -');
  t.is(refused.exitCode, 2);
  t.deepEqual(refused.stderr, [
    `virt-aa-hook: error: domain 'web-01', disk 'vda', path "${s.elsewhere}/base.qcow2": refusing the backing file (depth 1) named by an image header: its directory "${s.elsewhere}" is a new location since the last start (if the image was rebased on purpose, allow the directory in "imageDirs" or "domains.web-01.imageDirs" of the configuration)`,
  ]);
  t.deepEqual(readImageRecord(s.env.config.paths.stateDir, uuid), [s.templates], 'a refused start records nothing');
  t.false(fs.existsSync(s.env.filesFile(uuid)), 'and writes no rules');
});

test('the configuration allows a new location, globally or for the domain, and it is recorded', (t) => {
  const s = setup();
  t.is(hook(s, 'web-01 prepare begin -').exitCode, 0);
  rebase(s, s.elsewhere);
  const globally: Config = { ...s.env.config, imageDirs: [s.elsewhere] };
  const byDomain: Config = { ...s.env.config, domains: new Map([['web-01', { rules: [], complain: false, uuid: undefined, rawio: false, imageDirs: [path.dirname(s.elsewhere)], confine: true }]]) };
  const otherDomain: Config = { ...s.env.config, domains: new Map([['web-02', { rules: [], complain: false, uuid: undefined, rawio: false, imageDirs: [s.elsewhere], confine: true }]]) };
  t.is(hook(s, 'web-01 prepare begin -', otherDomain).exitCode, 2, "another domain's imageDirs do not count");
  t.is(hook(s, 'web-01 prepare begin -', byDomain).exitCode, 0, 'domains.web-01.imageDirs (a parent directory)');
  t.is(hook(s, 'web-01 prepare begin -', globally).exitCode, 0, 'imageDirs');
  t.deepEqual(readImageRecord(s.env.config.paths.stateDir, uuid), [s.elsewhere, s.templates].sort());
  t.is(hook(s, 'web-01 prepare begin -').exitCode, 0, 'recorded: allowed from now on without the configuration');
});

test("a backing file beside the disk, as a snapshot makes it, is the XML's own location", (t) => {
  const s = setup();
  t.is(hook(s, 'web-01 prepare begin -').exitCode, 0);
  qemuImg(path.dirname(s.top), 'create', '-q', '-f', 'qcow2', 'base.qcow2', '16M');
  rebase(s, path.dirname(s.top));
  const next = hook(s, 'web-01 prepare begin -');
  t.is(next.exitCode, 0, next.stderr.join('\n'));
});

test('removing the record makes the next start take the chain as it is, and record it', (t) => {
  const s = setup();
  t.is(hook(s, 'web-01 prepare begin -').exitCode, 0);
  rebase(s, s.elsewhere);
  t.is(hook(s, 'web-01 prepare begin -').exitCode, 2);
  fs.rmSync(path.join(s.env.config.paths.stateDir, 'images', `${uuid}.json`));
  t.is(hook(s, 'web-01 prepare begin -').exitCode, 0);
  t.deepEqual(readImageRecord(s.env.config.paths.stateDir, uuid), [s.elsewhere]);
});

test('a record that cannot be trusted vouches for nothing', (t) => {
  const s = setup();
  const file = path.join(s.env.config.paths.stateDir, 'images', `${uuid}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  for (const text of ['{', '[]', `{"uuid": "00000000-0000-0000-0000-000000000000", "dirs": ["${s.templates}"]}`]) {
    fs.writeFileSync(file, text);
    t.deepEqual(readImageRecord(s.env.config.paths.stateDir, uuid), [], text);
    t.is(hook(s, 'web-01 prepare begin -').exitCode, 2, text);
  }
});
