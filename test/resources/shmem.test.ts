// <shmem> (issue 12, finding 11): the file each model makes QEMU open, as
// libvirt 9.0 builds the command line, checked in the compiled profile.

import test from 'ava';
import { generateProfile, pathGrants } from '../helpers/compiled.ts';

const domain = (shmem: string): string => `<domain type='kvm' id='3'><name>vm</name><uuid>6c1d4f3a-5b7e-4a29-9d0c-2f8e1b3a7c55</uuid>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>${shmem}</devices></domain>`;

const socket = '/var/lib/libvirt/shmem-shmem_server-sock';
const memory = '/dev/shm/shmem_server';

const opens = test.macro({
  async exec(t, shmem: string, granted: string, notGranted: string) {
    const run = await generateProfile(domain(shmem));
    t.is(run.code, 0, run.stderr);
    t.not(pathGrants(run.stdout, granted).length, 0, `${granted} is granted`);
    t.deepEqual(pathGrants(run.stdout, notGranted), [], `${notGranted} is not granted`);
  },
  title: (given = '', _shmem: string, granted: string) => `${given}: ${granted}`,
});

test('ivshmem-doorbell without <server> (libvirt\'s own helper test)', opens, "<shmem name='shmem_server'><model type='ivshmem-doorbell'/></shmem>", socket, memory);
test('ivshmem-doorbell with <server/>', opens, "<shmem name='shmem_server'><model type='ivshmem-doorbell'/><server/></shmem>", socket, memory);
test('ivshmem-doorbell with a server path', opens, "<shmem name='shmem_server'><model type='ivshmem-doorbell'/><server path='/var/lib/libvirt/ivshmem_socket'/></shmem>", '/var/lib/libvirt/ivshmem_socket', socket);
test('ivshmem-plain', opens, "<shmem name='shmem_server'><model type='ivshmem-plain'/><size unit='M'>4</size></shmem>", memory, socket);
test('legacy ivshmem without a server: shm=<name>', opens, "<shmem name='shmem_server'><model type='ivshmem'/><size unit='M'>4</size></shmem>", memory, socket);
test('legacy ivshmem with <server/>: a chardev on the default socket', opens, "<shmem name='shmem_server'><model type='ivshmem'/><server/></shmem>", socket, memory);
