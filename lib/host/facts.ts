// Everything synthesis needs to know about the host, gathered once by
// lib/host/gather.ts and then passed in as a plain value, so that the
// resource modules stay pure and are tested with literals.

import type { ImageChain } from '../storage/chain.ts';
import type { EntryInfo } from './host-fs.ts';
import type { QemuUser } from './qemu-user.ts';

export interface UsbDeviceFact {
  readonly bus: number;
  readonly device: number;
  readonly vendor: number;
  readonly product: number;
}

/** A symlink followed while resolving a path, with what decides who could replace it. */
export interface LinkFact {
  readonly path: string;
  /** The symlink itself (lstat). */
  readonly entry: EntryInfo | undefined;
  /** The directory it lives in. */
  readonly directory: EntryInfo | undefined;
}

/** A path as the kernel resolves it, and the symlinks on the way. */
export interface ResolvedPath {
  readonly path: string;
  readonly links: readonly LinkFact[];
}

export interface HostFacts {
  /** Backing chains read from image headers, keyed by the top image's path as written. */
  readonly chains: ReadonlyMap<string, ImageChain>;
  /** Storage-pool volumes resolved from libvirt's pool definitions: "pool/volume" to a path. */
  readonly volumes: ReadonlyMap<string, string>;
  /** PCI address ("0000:03:00.0") to its IOMMU group number. */
  readonly pciIommuGroups: ReadonlyMap<string, string>;
  /** PCI address to its sysfs device directory (`/sys/devices/pci.../0000:03:00.0`). */
  readonly pciSysfsDirs: ReadonlyMap<string, string>;
  /** Mediated device UUID to its IOMMU group number. */
  readonly mdevIommuGroups: ReadonlyMap<string, string>;
  readonly usbDevices: readonly UsbDeviceFact[];
  /** SCSI address ("host:bus:target:unit", host from the adapter name) to its /dev/sgN node. */
  readonly scsiGenerics: ReadonlyMap<string, string>;
  /** The first DRM render node, used when GL is on without an explicit one. */
  readonly renderNode: string | undefined;
  /** Mount points of hugetlbfs. */
  readonly hugetlbfsMounts: readonly string[];
  /** Network interface name to ifindex (macvtap devices become /dev/tapN). */
  readonly netIfindex: ReadonlyMap<string, number>;
  /** Who QEMU runs as (qemu.conf), to tell which directories it can write. */
  readonly qemuUser: QemuUser;
  /** Target directories of libvirt's file-based storage pools (read only when an image header is). */
  readonly storagePoolDirs: readonly string[];
}
