// <hostdev>: host USB, PCI (VFIO), SCSI, vhost-scsi and mediated devices.
// Each VM gets its own device nodes only, found on the host at start.

import { devicesOf, type Hostdev } from '../domain/types.ts';
import { fileAccess, notice, reason, snippet, type Access } from '../profile/access.ts';
import type { ResourceContext, ResourceModule } from './resource.ts';
import { pciPassthroughAccesses } from './vfio.ts';

const pad3 = (n: number): string => String(n).padStart(3, '0');

function usbNode(hostdev: Extract<Hostdev, { type: 'usb' }>, context: ResourceContext): string | undefined {
  if (hostdev.bus !== undefined && hostdev.device !== undefined) return `/dev/bus/usb/${pad3(hostdev.bus)}/${pad3(hostdev.device)}`;
  const found = context.host.usbDevices.filter(
    (d) => d.vendor === hostdev.vendor && d.product === hostdev.product && (hostdev.bus === undefined || d.bus === hostdev.bus),
  );
  // Like libvirt, a vendor/product pair must name exactly one device.
  const [only] = found;
  return found.length === 1 && only !== undefined ? `/dev/bus/usb/${pad3(only.bus)}/${pad3(only.device)}` : undefined;
}

function hostdevAccesses(hostdev: Hostdev, context: ResourceContext): readonly Access[] {
  const device = hostdev.label;
  switch (hostdev.type) {
    case 'usb': {
      const node = usbNode(hostdev, context);
      const enumeration = snippet('usb', reason(device, 'USB enumeration'));
      if (node === undefined) return [enumeration, notice('the USB device is not present on this host (or not unique): no device rule', reason(device, 'USB device'))];
      return [enumeration, fileAccess(node, 'rw', reason(device, 'USB device node'), 'derived')];
    }
    case 'pci':
      return [
        ...pciPassthroughAccesses(hostdev.address, device, context),
        ...(hostdev.romFile === undefined ? [] : [fileAccess(hostdev.romFile, 'r', reason(device, 'option ROM'))]),
      ];
    case 'scsi': {
      if (hostdev.protocol === 'iscsi') return [];
      const key = `${hostdev.adapter ?? ''}:${hostdev.address ?? ''}`;
      const sg = context.host.scsiGenerics.get(key);
      if (sg === undefined) return [notice('the SCSI device is not present on this host: no /dev/sg rule', reason(device, 'SCSI generic node'))];
      return [fileAccess(sg, 'rw', reason(device, 'SCSI generic node'), 'derived')];
    }
    case 'scsi_host':
      return [fileAccess('/dev/vhost-scsi', 'rw', reason(device, 'vhost-scsi'), 'derived')];
    case 'mdev': {
      const group = context.host.mdevIommuGroups.get(hostdev.uuid);
      const container = snippet('vfio', reason(device, 'VFIO'));
      if (group === undefined) return [container, notice(`mediated device ${hostdev.uuid} is not present on this host: no /dev/vfio rule`, reason(device, 'VFIO group'))];
      return [container, fileAccess(`/dev/vfio/${group}`, 'rw', reason(device, 'IOMMU group of the mediated device'), 'derived')];
    }
    case 'other':
      return [];
  }
}

export const hostdevs: ResourceModule = {
  name: 'hostdevs',
  accesses: (context) => devicesOf(context.domain, 'hostdev').flatMap((h) => hostdevAccesses(h, context)),
};
