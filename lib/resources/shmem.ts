// <shmem>: ivshmem shared memory in /dev/shm, or the socket of an ivshmem
// server (libvirt's default location when the XML names none).

import { devicesOf, type Shmem } from '../domain/types.ts';
import { fileAccess, reason, type Access } from '../profile/access.ts';
import type { ResourceContext, ResourceModule } from './resource.ts';

/**
 * What QEMU opens (libvirt's qemuBuildShmemCommandLine): a doorbell device,
 * and any model with a <server>, talks to the server over a unix socket,
 * whose default path libvirt fills in (qemuDomainPrepareShmemChardev); a
 * doorbell always has one, as libvirt refuses it without a server. Without
 * a server, ivshmem-plain maps /dev/shm/<name> through a memory backend and
 * the legacy ivshmem device (QEMU < 4.0) shm_open()s the same file.
 */
function shmemAccesses(shmem: Shmem, context: ResourceContext): readonly Access[] {
  const device = shmem.label;
  // The name is the guest's choice of file name: policy checks the paths it makes.
  if (typeof shmem.serverSocket === 'string') return [fileAccess(shmem.serverSocket, 'rw', reason(device, 'ivshmem server socket'))];
  if (shmem.serverSocket === null || shmem.model === 'ivshmem-doorbell') {
    return [fileAccess(`${context.layout.shmemDir}/shmem-${shmem.name}-sock`, 'rw', reason(device, 'ivshmem server socket (default)'))];
  }
  return [fileAccess(`/dev/shm/${shmem.name}`, 'rw', reason(device, 'shared memory file'))];
}

export const shmem: ResourceModule = {
  name: 'shmem',
  accesses: (context) => devicesOf(context.domain, 'shmem').flatMap((s) => shmemAccesses(s, context)),
};
