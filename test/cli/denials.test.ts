import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dispatch } from '../../lib/hook/dispatch.ts';
import { parseHookArgv } from '../../lib/hook/event.ts';
import { runCapture } from '../helpers/cli.ts';
import { domainXml, hookEnv } from '../helpers/hook-env.ts';

const web = '22222222-0000-4000-8000-000000000001';
const db = '22222222-0000-4000-8000-000000000002';

const record = (uuid: string, file: string): string =>
  `[  181.9] audit: type=1400 audit(1795936392.272:14): apparmor="DENIED" operation="open" profile="libvirt-${uuid}" name="${file}" pid=1299 comm="qemu-system-x86" requested_mask="r" denied_mask="r" fsuid=64055 ouid=64055`;

function setup() {
  const env = hookEnv();
  // web-01 has run (our state knows its name); db is only defined in libvirt.
  const xml = domainXml(env, { name: 'web-01', uuid: web, id: 2, disk: null });
  if (dispatch(parseHookArgv(['web-01', 'prepare', 'begin', '-']), xml, env.deps()).exitCode !== 0) throw new Error('prepare failed');
  const definitions = path.join(env.config.paths.libvirtConfigDir, 'qemu');
  fs.mkdirSync(definitions, { recursive: true });
  fs.writeFileSync(path.join(definitions, 'db.xml'), `<domain type='kvm'><name>db</name><uuid>${db}</uuid></domain>`);
  const log = path.join(env.root, 'kern.log');
  fs.writeFileSync(log, [record(web, '/srv/elsewhere/other.qcow2'), 'unrelated line', record(db, '/etc/shadow')].join('\n'));
  return { env, log };
}

test('denials names the domain of every record, and says where a rule goes', async (t) => {
  const { env, log } = setup();
  const run = await runCapture(['denials', '--log', log, '--config-file', env.configFile]);
  t.is(run.code, 0, run.stderr);
  t.is(
    run.stdout,
    [
      `# 2 AppArmor record(s) of virt-aa-hook profiles in ${log}`,
      `domain 'web-01' (libvirt-${web}): DENIED open "/srv/elsewhere/other.qcow2" r (qemu-system-x86 pid 1299)`,
      `domain 'db' (libvirt-${db}): DENIED open "/etc/shadow" r (qemu-system-x86 pid 1299)`,
      `# A device's path: add it with 'virt-aa-hook attach-device' or 'update-device'. Anything else: a rule in ${env.config.paths.apparmorDir}/virt-aa-hook/local/libvirt-<uuid>, then restart the domain.`,
      '',
    ].join('\n'),
  );
});

test('denials DOMAIN keeps that domain only, by name or UUID', async (t) => {
  const { env, log } = setup();
  for (const which of ['db', db.toUpperCase()]) {
    const run = await runCapture(['denials', which, '--log', log, '--config-file', env.configFile]);
    t.is(run.code, 0, run.stderr);
    t.deepEqual(run.stdout.split('\n').filter((l) => l.startsWith('domain ')), [`domain 'db' (libvirt-${db}): DENIED open "/etc/shadow" r (qemu-system-x86 pid 1299)`]);
  }
});

test('denials with a log it cannot read: one line, exit 3', async (t) => {
  const { env } = setup();
  const run = await runCapture(['denials', '--log', '/nonexistent/kern.log', '--config-file', env.configFile]);
  t.is(run.code, 3);
  t.is(run.stderr, 'virt-aa-hook: error: path "/nonexistent/kern.log": cannot read /nonexistent/kern.log: ENOENT\n');
});
