// <vsock>: libvirt opens /dev/vhost-vsock and passes the descriptor, which
// AppArmor re-checks when QEMU is exec'd.

import { devicesOf } from '../domain/types.ts';
import { fileAccess, reason } from '../profile/access.ts';
import type { ResourceModule } from './resource.ts';

export const vsock: ResourceModule = {
  name: 'vsock',
  accesses: ({ domain }) => devicesOf(domain, 'vsock').map((v) => fileAccess('/dev/vhost-vsock', 'rw', reason(v.label, 'vhost-vsock'), 'derived')),
};
