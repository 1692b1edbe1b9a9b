// <filesystem>: 9p shares QEMU serves itself (recursive rules on the shared
// directory) and virtiofs daemons it talks to over a socket. virtiofsd started
// by libvirt runs outside this profile; its socket is in the private directory.

import { devicesOf } from '../domain/types.ts';
import { fileAccess, reason, treeAccess, type Access } from '../profile/access.ts';
import type { ResourceModule } from './resource.ts';

/** 9p drivers through which QEMU itself opens files in the shared directory. */
const ninePDrivers = new Set([undefined, 'path', 'handle']);

export const filesystems: ResourceModule = {
  name: 'filesystems',
  accesses: ({ domain }) =>
    devicesOf(domain, 'filesystem').flatMap((fs): readonly Access[] => {
      if (fs.socket !== undefined) return [fileAccess(fs.socket, 'rw', reason(fs.label, 'virtiofs socket'))];
      if (fs.type !== 'mount' || fs.sourceDir === undefined || !ninePDrivers.has(fs.driver)) return [];
      return treeAccess(fs.sourceDir, fs.readonly ? 'r' : 'rwl', reason(fs.label, fs.readonly ? 'read-only 9p share' : '9p share'));
    }),
};
