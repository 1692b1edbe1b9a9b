// <disk rawio='yes'> (issue 12, finding 8): capability sys_rawio only with
// the admin's opt-in in the configuration, checked in the flattened profile.

import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import tmp from 'tmp';
import { flattened, generateProfile } from '../helpers/compiled.ts';

const lun = (rawio: boolean): string => `<domain type='kvm' id='3'><name>db</name><uuid>6c1d4f3a-5b7e-4a29-9d0c-2f8e1b3a7c55</uuid>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='block' device='lun'${rawio ? " rawio='yes'" : ''}><driver name='qemu' type='raw'/><source dev='/dev/sdx'/><target dev='sda' bus='scsi'/></disk>
  </devices></domain>`;

function configFile(json: unknown): string {
  const file = path.join(tmp.dirSync({ unsafeCleanup: true }).name, 'config.json');
  fs.writeFileSync(file, JSON.stringify(json));
  return file;
}

const grantsRawio = (profile: string): boolean => /^\s*capability sys_rawio,/m.test(flattened(profile));

test("rawio='yes' without the configuration's opt-in is refused in one line naming the setting", async (t) => {
  const run = await generateProfile(lun(true), { configFile: configFile({}) });
  t.is(run.code, 2);
  t.is(run.stderr, `virt-aa-hook: error: domain 'db', disk 'sda', path "/dev/sdx": refusing capability sys_rawio for rawio='yes': it lets QEMU send raw SCSI commands to the host device; allow it with "rawio": true in domains.db of the configuration\n`);
});

test('an opt-in for another domain, or a name entry pinned to another UUID, does not count', async (t) => {
  for (const domains of [{ other: { rawio: true } }, { db: { rawio: true, uuid: '00000000-0000-0000-0000-000000000001' } }]) {
    const run = await generateProfile(lun(true), { configFile: configFile({ domains }) });
    t.is(run.code, 2, JSON.stringify(domains));
  }
});

test('with "rawio": true for the domain (by name or UUID) the profile has sys_rawio, and only then', async (t) => {
  for (const key of ['db', '6c1d4f3a-5b7e-4a29-9d0c-2f8e1b3a7c55']) {
    const run = await generateProfile(lun(true), { configFile: configFile({ domains: { [key]: { rawio: true } } }) });
    t.is(run.code, 0, run.stderr);
    t.true(grantsRawio(run.stdout), key);
  }
  const plain = await generateProfile(lun(false), { configFile: configFile({ domains: { db: { rawio: true } } }) });
  t.is(plain.code, 0, plain.stderr);
  t.false(grantsRawio(plain.stdout), 'the opt-in alone grants nothing');
});
