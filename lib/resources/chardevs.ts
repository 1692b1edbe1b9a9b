// <serial>, <console>, <parallel> and <channel> backends.

import { devicesOf } from '../domain/types.ts';
import type { ResourceModule } from './resource.ts';
import { chardevAccesses } from './chardev-paths.ts';

export const chardevs: ResourceModule = {
  name: 'chardevs',
  accesses: ({ domain }) => devicesOf(domain, 'chardev').flatMap((device) => chardevAccesses(device.chardev, device.label)),
};
