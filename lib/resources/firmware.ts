// <loader>, <nvram> and <pstore>: the firmware code is read-only, the VM's own
// variable store and persistent store are read-write, and nothing grants one
// VM another VM's NVRAM.

import { devicesOf } from '../domain/types.ts';
import { readOnlyPrefixes } from '../policy/validate.ts';
import { fileAccess, reason, type Access } from '../profile/access.ts';
import type { ResourceModule } from './resource.ts';
import { storageAccesses } from './storage-paths.ts';

function inReadOnlyLocation(path: string): boolean {
  return readOnlyPrefixes.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
}

export const firmware: ResourceModule = {
  name: 'firmware',
  accesses: (context) => {
    const { os, name } = context.domain;
    const result: Access[] = [];
    const loader = os.loader;
    if (loader?.path !== undefined) {
      // A loader in a firmware directory is shared by every VM: never writable.
      const readonly = loader.readonly === true || loader.type === 'rom' || inReadOnlyLocation(loader.path);
      result.push(fileAccess(loader.path, readonly ? 'rk' : 'rwk', reason('os <loader>', readonly ? 'firmware code' : 'firmware code and variables')));
    }
    const nvram = os.nvram?.source;
    if (nvram !== undefined) {
      result.push(...storageAccesses(nvram, 'rwk', 'os <nvram>', context));
    } else if (os.firmware === 'efi' || (loader?.type === 'pflash' && loader.readonly === true)) {
      // libvirt fills in this default after the prepare hook has run.
      result.push(fileAccess(`${context.layout.qemuLibDir}/nvram/${name}_VARS.fd`, 'rwk', reason('os <nvram>', "libvirt's default variable store"), 'derived'));
    }
    for (const pstore of devicesOf(context.domain, 'pstore')) {
      result.push(fileAccess(pstore.path, 'rw', reason(pstore.label, 'persistent store')));
    }
    return result;
  },
};
