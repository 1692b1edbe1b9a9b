// The files libvirt keeps for every running domain (issue 12, finding 2):
// the managed-save image is not among the paths QEMU may open.

import test from 'ava';
import { generateProfile, pathGrants } from '../helpers/compiled.ts';

const xml = `<domain type='kvm' id='3'><name>web-01</name><uuid>6c1d4f3a-5b7e-4a29-9d0c-2f8e1b3a7c55</uuid>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>`;

test('no rule of the compiled profile grants the managed-save image or anything in the save directory', async (t) => {
  const run = await generateProfile(xml);
  t.is(run.code, 0, run.stderr);
  t.deepEqual(pathGrants(run.stdout, '/var/lib/libvirt/qemu/save/web-01.save'), []);
  t.deepEqual(pathGrants(run.stdout, '/var/lib/libvirt/qemu/save/other.save'), []);
  // The helper does see rules: the private directory is there.
  t.not(pathGrants(run.stdout, '/var/lib/libvirt/qemu/domain-3-web-01/monitor.sock').length, 0);
});
