// <redirdev>: USB redirection over a character device.

import { devicesOf } from '../domain/types.ts';
import type { ResourceModule } from './resource.ts';
import { chardevAccesses } from './chardev-paths.ts';

export const redirdev: ResourceModule = {
  name: 'redirdev',
  accesses: ({ domain }) => devicesOf(domain, 'redirdev').flatMap((r) => chardevAccesses(r.chardev, r.label)),
};
