// <input type='evdev'|'passthrough'>: host input devices handed to the guest.

import { devicesOf } from '../domain/types.ts';
import { fileAccess, reason, type Access } from '../profile/access.ts';
import type { ResourceModule } from './resource.ts';

export const input: ResourceModule = {
  name: 'input',
  accesses: ({ domain }) =>
    devicesOf(domain, 'input').flatMap((i): readonly Access[] => (i.evdev === undefined ? [] : [fileAccess(i.evdev, 'rw', reason(i.label, 'host input device'))])),
};
