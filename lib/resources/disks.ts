// <disk>: images of every source type with their backing chains, block-copy
// destinations, unmanaged persistent-reservation sockets and raw SCSI access.

import { devicesOf } from '../domain/types.ts';
import { fileAccess, reason, snippet, type Access } from '../profile/access.ts';
import type { ResourceModule } from './resource.ts';
import { storageAccesses } from './storage-paths.ts';

export const disks: ResourceModule = {
  name: 'disks',
  accesses: (context) =>
    devicesOf(context.domain, 'disk').flatMap((disk): readonly Access[] => {
      // A CD-ROM is read-only media whatever the XML says.
      const perms = disk.readonly || disk.device === 'cdrom' ? 'rk' : 'rwk';
      return [
        ...(disk.source === undefined ? [] : storageAccesses(disk.source, perms, disk.label, context)),
        ...(disk.mirror === undefined ? [] : storageAccesses(disk.mirror, 'rwk', `${disk.label} block-copy destination`, context)),
        ...(disk.reservationsSocket === undefined ? [] : [fileAccess(disk.reservationsSocket, 'rw', reason(disk.label, 'persistent reservation helper socket'))]),
        ...(disk.rawio ? [snippet('rawio', reason(disk.label, 'raw SCSI commands (rawio)'))] : []),
      ];
    }),
};
