// <interface>: vhost-user and vDPA sockets and devices, tap and vhost-net
// descriptors libvirt passes in (AppArmor re-checks inherited descriptors at
// exec), macvtap nodes, passt sockets and SR-IOV functions.

import { devicesOf, type NetInterface } from '../domain/types.ts';
import { shortNameVariants } from '../host/layout.ts';
import { fileAccess, notice, patternAccess, reason, snippet, type Access } from '../profile/access.ts';
import type { ResourceContext, ResourceModule } from './resource.ts';
import { pciPassthroughAccesses } from './vfio.ts';

/** Interface types whose backend is a tap-like descriptor that vhost-net can accelerate. */
const tapTypes = new Set(['network', 'bridge', 'ethernet', 'direct']);

/** Socket backends: QEMU itself talks to a peer (tcp client or server, udp, multicast). */
const socketTypes = new Set(['client', 'server', 'udp', 'mcast']);

function usesVhostNet(iface: NetInterface, domainType: string): boolean {
  const virtio = iface.model === undefined || iface.model.startsWith('virtio');
  return domainType === 'kvm' && tapTypes.has(iface.type) && virtio && iface.driverName !== 'qemu';
}

function interfaceAccesses(iface: NetInterface, context: ResourceContext): readonly Access[] {
  const { domain, layout, host } = context;
  const device = iface.label;
  const result: Access[] = [];
  if (iface.vhostuserSocket !== undefined) result.push(fileAccess(iface.vhostuserSocket, 'rw', reason(device, 'vhost-user socket')));
  if (iface.vdpaDevice !== undefined) result.push(fileAccess(iface.vdpaDevice, 'rw', reason(device, 'vhost-vdpa device')));
  if (iface.tapDevice !== undefined) result.push(fileAccess(iface.tapDevice, 'rw', reason(device, 'tap device (backend)')));
  if (iface.vhostDevice !== undefined) {
    result.push(fileAccess(iface.vhostDevice, 'rw', reason(device, 'vhost device (backend)')));
  } else if (usesVhostNet(iface, domain.type)) {
    result.push(fileAccess('/dev/vhost-net', 'rw', reason(device, 'vhost-net acceleration'), 'derived'));
  }
  if (iface.type === 'direct') {
    const ifindex = iface.targetDev === undefined ? undefined : host.netIfindex.get(iface.targetDev);
    if (ifindex === undefined) {
      result.push(notice('the macvtap device does not exist yet: its /dev/tapN rule is added at the start event', reason(device, 'macvtap')));
    } else {
      result.push(fileAccess(`/dev/tap${ifindex}`, 'rw', reason(device, `macvtap ${iface.targetDev ?? ''}`), 'derived'));
    }
  }
  if (socketTypes.has(iface.type)) result.push(snippet('nameservice', reason(device, `${iface.type} socket backend (a peer by host name or address)`)));
  if (iface.type === 'user' && iface.backendType !== 'passt') result.push(snippet('nameservice', reason(device, "user-mode networking in QEMU (slirp forwards the guest's UDP and DNS)")));
  if (iface.type === 'user' && iface.backendType === 'passt') {
    result.push(snippet('passt', reason(device, 'passt user networking')));
    for (const shortName of shortNameVariants(domain.id, domain.name)) {
      const base = [`${layout.qemuRunDir}/passt/`, ...shortName, `-${iface.alias ?? ''}`, { wildcard: 'any' as const }];
      const socket = patternAccess([...base, '.socket'], 'rw', reason(device, 'passt socket'));
      // passt creates the socket and its pid file in its own profile; QEMU only connects.
      result.push(socket, { ...socket, child: 'passt' }, { ...patternAccess([...base, '-passt.pid'], 'rw', reason(device, 'passt pid file')), child: 'passt' });
    }
  }
  if (iface.type === 'hostdev' && iface.pciAddress !== undefined) result.push(...pciPassthroughAccesses(iface.pciAddress, device, context));
  if (iface.romFile !== undefined) result.push(fileAccess(iface.romFile, 'r', reason(device, 'option ROM')));
  return result;
}

export const interfaces: ResourceModule = {
  name: 'interfaces',
  accesses: (context) => devicesOf(context.domain, 'interface').flatMap((i) => interfaceAccesses(i, context)),
};
