import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import tmp from 'tmp';
import { listImageRecords, recordImageLocations } from '../../lib/apparmor/image-record.ts';
import { listStates } from '../../lib/apparmor/state.ts';
import { dispatch } from '../../lib/hook/dispatch.ts';
import { parseHookArgv } from '../../lib/hook/event.ts';
import { runCapture } from '../helpers/cli.ts';
import { domainXml, hookEnv, type HookEnv } from '../helpers/hook-env.ts';

const running = '11111111-0000-4000-8000-000000000001';
const gone = '11111111-0000-4000-8000-000000000002';

function withRunDir(): HookEnv & { readonly runDir: string } {
  const runDir = fs.realpathSync(tmp.dirSync({ unsafeCleanup: true }).name);
  return { ...hookEnv({ layout: { qemuRunDir: runDir } }), runDir };
}

const xml = (env: HookEnv, name: string, uuid: string, mode: 'wrapper' | 'libvirt' | 'none'): string => domainXml(env, { name, uuid, id: 2, disk: `/srv/vms/${name}.img`, enrolled: mode });

test('gc removes the profiles of domains that no longer run and keeps the running ones', async (t) => {
  const env = withRunDir();
  for (const [name, uuid] of [['up', running], ['down', gone]] as const) {
    t.is(dispatch(parseHookArgv([name, 'prepare', 'begin', '-']), xml(env, name, uuid, 'wrapper'), env.deps()).exitCode, 0);
  }
  // libvirt's status file of the running domain.
  fs.writeFileSync(path.join(env.runDir, 'up.xml'), `<domstatus state='running' pid='1'>${xml(env, 'up', running, 'wrapper')}</domstatus>`);
  const gc = await runCapture(['gc', '--config-file', env.configFile]);
  t.is(gc.code, 0, gc.stderr);
  // Neither is defined here: the stopped one's image record goes too.
  t.is(gc.stdout, `removed profile libvirt-${gone} of 'down' (not-loaded)\nremoved the image record of ${gone}: libvirt defines no such domain\n`);
  t.deepEqual(listStates(env.config.paths.stateDir).map((s) => s.uuid), [running]);
  t.true(fs.existsSync(env.filesFile(running)));
  t.false(fs.existsSync(env.filesFile(gone)));
});

test('gc prunes the image records of domains libvirt no longer defines, and keeps those of defined and running ones', async (t) => {
  const env = withRunDir();
  const defined = '11111111-0000-4000-8000-000000000003';
  const definitions = path.join(env.config.paths.libvirtConfigDir, 'qemu');
  fs.mkdirSync(definitions, { recursive: true });
  fs.writeFileSync(path.join(definitions, 'kept.xml'), xml(env, 'kept', defined, 'wrapper'));
  for (const uuid of [running, gone, defined]) recordImageLocations(env.config.paths.stateDir, uuid, ['/srv/vms']);
  fs.writeFileSync(path.join(env.runDir, 'up.xml'), `<domstatus state='running' pid='1'>${xml(env, 'up', running, 'wrapper')}</domstatus>`);
  const gc = await runCapture(['gc', '--config-file', env.configFile]);
  t.is(gc.code, 0, gc.stderr);
  t.is(gc.stdout, `removed the image record of ${gone}: libvirt defines no such domain\n`);
  t.deepEqual(listImageRecords(env.config.paths.stateDir), [running, gone, defined].filter((u) => u !== gone).sort());
});

test('sync loads placeholders for defined libvirt-mode domains and the profiles of running ones', async (t) => {
  const env = withRunDir();
  const definitions = path.join(env.config.paths.libvirtConfigDir, 'qemu');
  fs.mkdirSync(definitions, { recursive: true });
  fs.writeFileSync(path.join(definitions, 'down.xml'), xml(env, 'down', gone, 'libvirt'));
  fs.writeFileSync(path.join(definitions, 'plain.xml'), xml(env, 'plain', '11111111-0000-4000-8000-000000000003', 'none'));
  fs.writeFileSync(path.join(env.runDir, 'up.xml'), `<domstatus state='running' pid='1'>${xml(env, 'up', running, 'wrapper')}</domstatus>`);
  const sync = await runCapture(['sync', '--config-file', env.configFile]);
  t.is(sync.code, 0, sync.stderr);
  t.deepEqual(sync.stdout.split('\n').filter((l) => l.startsWith('loaded')), ["loaded profile of running domain 'up'", "loaded placeholder for 'down'"]);
  t.true(fs.existsSync(path.join(env.config.paths.apparmorDir, 'virt-aa-hook/placeholders', `libvirt-${gone}`)));
  t.true(fs.existsSync(env.filesFile(running)));
});

test('gc and sync report a bad configuration with exit code 64', async (t) => {
  const env = hookEnv();
  fs.writeFileSync(env.configFile, '{"loader": "sometimes"}');
  for (const command of ['gc', 'sync']) {
    const run = await runCapture([command, '--config-file', env.configFile]);
    t.is(run.code, 64);
    t.regex(run.stderr, /^virt-aa-hook: error: invalid configuration .*"loader" must be one of kernel, compile-only/);
  }
});

test("sync under libvirt's active AppArmor driver warns about every domain that still names a wrapper", async (t) => {
  const env = hookEnv({ libvirtDriver: 'active' });
  const definitions = path.join(env.config.paths.libvirtConfigDir, 'qemu');
  fs.mkdirSync(definitions, { recursive: true });
  fs.writeFileSync(path.join(definitions, 'new.xml'), xml(env, 'new', running, 'none').replace('/usr/bin/qemu-system-x86_64', `${env.config.paths.emulatorDir}/qemu-system-x86_64`));
  fs.writeFileSync(path.join(definitions, 'plain.xml'), xml(env, 'plain', gone, 'none'));
  const sync = await runCapture(['sync', '--config-file', env.configFile]);
  t.is(sync.code, 0, sync.stderr);
  t.is(sync.stderr, `virt-aa-hook: warning: domain 'new' names the wrapper ${env.config.paths.emulatorDir}/qemu-system-x86_64, which cannot run while libvirt's AppArmor driver is active: run 'virt-aa-hook unenroll --all'\n`);
});
