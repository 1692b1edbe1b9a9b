// PCI devices handed to QEMU through VFIO: host devices, SR-IOV interfaces
// and NVMe disks all need the container device and the device's own IOMMU
// group, never every group on the host.

import { fileAccess, notice, patternAccess, reason, snippet, type Access } from '../profile/access.ts';
import type { ResourceContext } from './resource.ts';

export function vfioGroupAccesses(pciAddress: string, device: string, context: ResourceContext): readonly Access[] {
  const group = context.host.pciIommuGroups.get(pciAddress);
  const result: Access[] = [snippet('vfio', reason(device, 'VFIO'))];
  if (group === undefined) {
    result.push(notice(`PCI device ${pciAddress} has no IOMMU group on this host: no /dev/vfio rule`, reason(device, 'VFIO group')));
  } else {
    result.push(fileAccess(`/dev/vfio/${group}`, 'rw', reason(device, `IOMMU group of ${pciAddress}`), 'derived'));
  }
  return result;
}

/** The sysfs files of a passed-through PCI device that QEMU reads and resets. */
export function pciSysfsAccesses(pciAddress: string, device: string, context: ResourceContext): readonly Access[] {
  const dir = context.host.pciSysfsDirs.get(pciAddress);
  if (dir === undefined) return [];
  const why = reason(device, `sysfs of ${pciAddress}`);
  return [
    ...['config', 'rom', 'vendor', 'device', 'reset'].map((file) => fileAccess(`${dir}/${file}`, 'rw', why, 'derived')),
    patternAccess([`${dir}/resource`, { wildcard: 'any' }], 'rw', why),
  ];
}

export function pciPassthroughAccesses(pciAddress: string, device: string, context: ResourceContext): readonly Access[] {
  return [...vfioGroupAccesses(pciAddress, device, context), ...pciSysfsAccesses(pciAddress, device, context)];
}
