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

// Issue 12, finding 4: libvirt cuts names to 20 characters in directory
// names, so `db-replica-east-00012` (id 12) has `domain-12-db-replica-east-0001/`.
const named = (name: string, id: number | undefined): string => `<domain type='kvm'${id === undefined ? '' : ` id='${id}'`}><name>${name}</name><uuid>6c1d4f3a-5b7e-4a29-9d0c-2f8e1b3a7c55</uuid>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator><tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm></devices></domain>`;
const otherDomainsFiles = [
  '/var/lib/libvirt/qemu/domain-12-db-replica-east-0001/master-key.aes',
  '/run/libvirt/qemu/channel/12-db-replica-east-0001/org.qemu.guest_agent.0',
  '/run/libvirt/qemu/swtpm/12-db-replica-east-0001-swtpm.sock',
];

test('a 20-character name reaches its own directories by its live id, never those of a longer name cut to it', async (t) => {
  const run = await generateProfile(named('db-replica-east-0001', 9));
  t.is(run.code, 0, run.stderr);
  t.not(pathGrants(run.stdout, '/var/lib/libvirt/qemu/domain-9-db-replica-east-0001/monitor.sock').length, 0);
  t.not(pathGrants(run.stdout, '/run/libvirt/qemu/swtpm/9-db-replica-east-0001-swtpm.sock').length, 0);
  for (const file of otherDomainsFiles) t.deepEqual(pathGrants(run.stdout, file), [], file);
});

test('without an id (migrate, restore) a 20-character name gets no id-dependent rule, and a notice says why', async (t) => {
  const run = await generateProfile(named('db-replica-east-0001', undefined));
  t.is(run.code, 0, run.stderr);
  for (const file of [...otherDomainsFiles, '/var/lib/libvirt/qemu/domain-9-db-replica-east-0001/monitor.sock']) t.deepEqual(pathGrants(run.stdout, file), [], file);
  t.regex(run.stderr, /domain 'db-replica-east-0001', domain: the domain's id is not known yet and its name is 20 bytes or longer: its per-domain directories get rules at the prepare event, which knows the id/);
});

test('a name shorter than 20 characters keeps the any-id rule, which no cut name can match', async (t) => {
  const run = await generateProfile(named('db-replica-east-00', undefined));
  t.is(run.code, 0, run.stderr);
  t.not(pathGrants(run.stdout, '/var/lib/libvirt/qemu/domain-31-db-replica-east-00/monitor.sock').length, 0);
  t.deepEqual(pathGrants(run.stdout, '/var/lib/libvirt/qemu/domain-31-db-replica-east-0001/monitor.sock'), []);
});
