// <os> direct kernel boot: kernel, initrd, device tree, shim and ACPI tables,
// all read once by QEMU and never written.

import { fileAccess, reason, type Access } from '../profile/access.ts';
import type { ResourceModule } from './resource.ts';

export const boot: ResourceModule = {
  name: 'boot',
  accesses: ({ domain: { os } }) => {
    const result: Access[] = [];
    const add = (path: string | undefined, element: string): void => {
      if (path !== undefined) result.push(fileAccess(path, 'r', reason(`os <${element}>`, 'read at boot')));
    };
    add(os.kernel, 'kernel');
    add(os.initrd, 'initrd');
    add(os.dtb, 'dtb');
    add(os.shim, 'shim');
    for (const table of os.acpiTables) add(table, 'acpi table');
    return result;
  },
};
