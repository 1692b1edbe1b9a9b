// <disk>: images of every source type with their backing chains, block-copy
// destinations, unmanaged persistent-reservation sockets and raw SCSI access.

import { devicesOf, type Disk } from '../domain/types.ts';
import { DomainRefusedError } from '../errors.ts';
import { fileAccess, reason, snippet, type Access } from '../profile/access.ts';
import type { ResourceContext, ResourceModule } from './resource.ts';
import { storageAccesses } from './storage-paths.ts';

/**
 * sys_rawio lets QEMU send the LUN any SCSI command the kernel would filter,
 * as good as root to a compromised QEMU: the XML alone, which a member of
 * the libvirt group can write, does not get it. Starting the domain without
 * it would fail the guest's raw commands with I/O errors and a denial in the
 * log, far from the cause; the refusal names the setting that decides.
 */
function rawioAccesses(disk: Disk, context: ResourceContext): readonly Access[] {
  if (!disk.rawio) return [];
  if (!context.settings.rawio) {
    const path = disk.source?.type === 'block' || disk.source?.type === 'file' ? disk.source.path : undefined;
    throw new DomainRefusedError(
      `refusing capability sys_rawio for rawio='yes': it lets QEMU send raw SCSI commands to the host device; allow it with "rawio": true in domains.${context.settings.settingsKey} of the configuration`,
      { device: disk.label, path },
    );
  }
  return [snippet('rawio', reason(disk.label, 'raw SCSI commands (rawio, allowed by the configuration)'))];
}

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
        ...rawioAccesses(disk, context),
      ];
    }),
};
