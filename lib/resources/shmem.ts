// <shmem>: ivshmem shared memory in /dev/shm, or the socket of an ivshmem
// server (libvirt's default location when the XML names none).

import { devicesOf, type Shmem } from '../domain/types.ts';
import { fileAccess, reason, type Access } from '../profile/access.ts';
import type { ResourceContext, ResourceModule } from './resource.ts';

function shmemAccesses(shmem: Shmem, context: ResourceContext): readonly Access[] {
  const device = shmem.label;
  // The name is the guest's choice of file name: policy checks the paths it makes.
  if (shmem.serverSocket === null) return [fileAccess(`${context.layout.shmemDir}/shmem-${shmem.name}-sock`, 'rw', reason(device, 'ivshmem server socket (default)'))];
  if (shmem.serverSocket !== undefined) return [fileAccess(shmem.serverSocket, 'rw', reason(device, 'ivshmem server socket'))];
  return [fileAccess(`/dev/shm/${shmem.name}`, 'rw', reason(device, 'shared memory file'))];
}

export const shmem: ResourceModule = {
  name: 'shmem',
  accesses: (context) => devicesOf(context.domain, 'shmem').flatMap((s) => shmemAccesses(s, context)),
};
