// <rng>: a host entropy device, or an EGD daemon behind a character device.
// /dev/random and /dev/urandom are in the base abstraction already.

import { devicesOf } from '../domain/types.ts';
import { fileAccess, reason, type Access } from '../profile/access.ts';
import type { ResourceModule } from './resource.ts';
import { chardevAccesses } from './chardev-paths.ts';

export const rng: ResourceModule = {
  name: 'rng',
  accesses: ({ domain }) =>
    devicesOf(domain, 'rng').flatMap((r): readonly Access[] => {
      const backend = r.backend;
      if (backend.model === 'random') return backend.device === undefined ? [] : [fileAccess(backend.device, 'r', reason(r.label, 'entropy source'))];
      if (backend.model === 'egd') return chardevAccesses(backend.chardev, r.label);
      return [];
    }),
};
