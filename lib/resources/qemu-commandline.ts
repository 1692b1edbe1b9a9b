// <qemu:commandline>: arguments libvirt passes through unchecked. Paths in them
// cannot be confined from the XML's structure, so they are reported instead.

import { notice, reason } from '../profile/access.ts';
import type { ResourceModule } from './resource.ts';

export const qemuCommandline: ResourceModule = {
  name: 'qemu-commandline',
  accesses: ({ domain }) => {
    const args = domain.qemuCommandline;
    if (args.length === 0) return [];
    return [
      notice(
        `${args.length} argument(s) passed to QEMU outside libvirt's model (${args.map((a) => JSON.stringify(a)).join(' ')}): any host path they name gets no rule; grant it with per-domain rules`,
        reason('qemu:commandline', 'not confinable from the XML'),
      ),
    ];
  },
};
