// <sysinfo type='fwcfg'> entries whose value QEMU reads from a file.

import { fileAccess, reason } from '../profile/access.ts';
import type { ResourceModule } from './resource.ts';

export const sysinfo: ResourceModule = {
  name: 'sysinfo',
  accesses: ({ domain }) => domain.fwCfgFiles.map((entry) => fileAccess(entry.path, 'r', reason(`sysinfo fw_cfg '${entry.entry}'`, 'file passed to the guest'))),
};
