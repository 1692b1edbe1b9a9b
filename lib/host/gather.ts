// Reads, once and only for what this domain uses, the host facts synthesis
// needs: image headers, storage pools, IOMMU groups, USB and SCSI nodes,
// render nodes, hugetlbfs mounts and macvtap indexes. All through HostFs.

import { devicesOf, type Domain } from '../domain/types.ts';
import { imagesToInspect, topStorageSources, xmlLayers } from '../domain/storage-sources.ts';
import { parseXmlDocument } from '../domain/xml.ts';
import * as path from 'node:path';
import { chainKey, readImageChain } from '../storage/chain.ts';
import { resolveWithLinks } from '../storage/resolve.ts';
import type { HostFacts, ResolvedPath, UsbDeviceFact } from './facts.ts';
import type { HostFs } from './host-fs.ts';
import { readQemuUser } from './qemu-user.ts';

const storageDirs = ['/etc/libvirt/storage', '/run/libvirt/storage'];
/** Pool types whose volumes are files (or LVs) named <target path>/<volume>. */
const pathPoolTypes = new Set(['dir', 'fs', 'netfs', 'logical']);

/** The target directory of a pool definition whose volumes are files, or undefined. */
function targetOf(text: string): string | undefined {
  try {
    const root = parseXmlDocument(text);
    if (root.tag !== 'pool' || !pathPoolTypes.has(root.attr('type') ?? '')) return undefined;
    return root.child('target')?.childText('path');
  } catch {
    return undefined;
  }
}

function poolTargetPath(pool: string, fs: HostFs): string | undefined {
  for (const dir of storageDirs) {
    const text = fs.readText(`${dir}/${pool}.xml`);
    if (text !== undefined) return targetOf(text);
  }
  return undefined;
}

/** The target directory of every storage pool libvirt defines or runs: where images may lie. */
function storagePoolDirs(fs: HostFs): readonly string[] {
  const dirs = storageDirs.flatMap((dir) =>
    fs
      .readdir(dir)
      .filter((entry) => entry.endsWith('.xml'))
      .flatMap((entry) => {
        const target = targetOf(fs.readText(`${dir}/${entry}`) ?? '');
        return target?.startsWith('/') === true ? [target] : [];
      }),
  );
  return [...new Set(dirs)].sort();
}

function volumes(domain: Domain, fs: HostFs): ReadonlyMap<string, string> {
  const result = new Map<string, string>();
  for (const { source } of topStorageSources(domain)) {
    for (const layer of xmlLayers(source)) {
      if (layer.type !== 'volume' || layer.pool.includes('/')) continue;
      const target = poolTargetPath(layer.pool, fs);
      if (target !== undefined) result.set(`${layer.pool}/${layer.volume}`, `${target}/${layer.volume}`);
    }
  }
  return result;
}

function pciAddresses(domain: Domain): readonly string[] {
  const addresses = new Set<string>();
  for (const h of devicesOf(domain, 'hostdev')) if (h.type === 'pci') addresses.add(h.address);
  for (const i of devicesOf(domain, 'interface')) if (i.pciAddress !== undefined) addresses.add(i.pciAddress);
  for (const { source } of topStorageSources(domain)) if (source.type === 'nvme') addresses.add(source.pciAddress);
  return [...addresses];
}

function linkBasename(path: string, fs: HostFs): string | undefined {
  try {
    return fs.readlink(path).split('/').pop();
  } catch {
    return undefined;
  }
}

function collect<K>(keys: readonly K[], lookup: (key: K) => string | undefined): ReadonlyMap<K, string> {
  const result = new Map<K, string>();
  for (const key of keys) {
    const value = lookup(key);
    if (value !== undefined && value !== '') result.set(key, value);
  }
  return result;
}

function readNumber(path: string, fs: HostFs, radix: number): number | undefined {
  const text = fs.readText(path)?.trim();
  if (text === undefined || text === '') return undefined;
  const value = Number.parseInt(text, radix);
  return Number.isNaN(value) ? undefined : value;
}

function usbDevices(fs: HostFs): readonly UsbDeviceFact[] {
  const base = '/sys/bus/usb/devices';
  return fs.readdir(base).flatMap((entry) => {
    const field = (name: string, radix: number): number | undefined => readNumber(`${base}/${entry}/${name}`, fs, radix);
    const [bus, device, vendor, product] = [field('busnum', 10), field('devnum', 10), field('idVendor', 16), field('idProduct', 16)];
    return bus === undefined || device === undefined || vendor === undefined || product === undefined ? [] : [{ bus, device, vendor, product }];
  });
}

function scsiGeneric(key: string, fs: HostFs): string | undefined {
  const [adapter, ...address] = key.split(':');
  const host = /^scsi_host(\d+)$/.exec(adapter ?? '')?.[1];
  if (host === undefined) return undefined;
  const sg = fs.readdir(`/sys/bus/scsi/devices/${host}:${address.join(':')}/scsi_generic`)[0];
  return sg === undefined ? undefined : `/dev/${sg}`;
}

/** hugetlbfs mount points from /proc/mounts, whose fields escape spaces as \040. */
function hugetlbfsMounts(fs: HostFs): readonly string[] {
  return (fs.readText('/proc/mounts') ?? '')
    .split('\n')
    .map((line) => line.split(' '))
    .filter((fields) => fields[2] === 'hugetlbfs' && fields[1] !== undefined)
    .map((fields) => (fields[1] ?? '').replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))));
}

function needsHostRenderNode(domain: Domain): boolean {
  return (
    devicesOf(domain, 'graphics').some((g) => g.gl && g.renderNode === undefined) ||
    devicesOf(domain, 'video').some((v) => v.accel3d && v.renderNode === undefined)
  );
}

/**
 * Every path as the kernel will resolve it, with the symlinks followed and
 * the directories they live in: who can replace a link decides whether a
 * writable rule through it can be trusted.
 */
export function resolvePaths(paths: readonly string[], fs: HostFs): ReadonlyMap<string, ResolvedPath> {
  return new Map(
    paths.map((p) => {
      const { path: resolved, links } = resolveWithLinks(p, fs);
      return [p, { path: resolved, links: links.map((link) => ({ path: link, entry: fs.lstat(link), directory: fs.lstat(path.posix.dirname(link)) })) }] as const;
    }),
  );
}

export function gatherHostFacts(domain: Domain, fs: HostFs, libvirtConfigDir = '/etc/libvirt'): HostFacts {
  const pci = pciAddresses(domain);
  const usb = devicesOf(domain, 'hostdev').filter((h) => h.type === 'usb');
  const scsiKeys = devicesOf(domain, 'hostdev').flatMap((h) => (h.type === 'scsi' && h.protocol !== 'iscsi' ? [`${h.adapter ?? ''}:${h.address ?? ''}`] : []));
  const mdevs = devicesOf(domain, 'hostdev').flatMap((h) => (h.type === 'mdev' ? [h.uuid] : []));
  const macvtaps = devicesOf(domain, 'interface').flatMap((i) => (i.type === 'direct' && i.targetDev !== undefined && !i.targetDev.includes('/') ? [i.targetDev] : []));
  const renderNodes = needsHostRenderNode(domain) ? fs.readdir('/dev/dri').filter((e) => e.startsWith('renderD')).sort() : [];
  return {
    chains: new Map(imagesToInspect(domain).map(({ path, format }) => [chainKey(path, format), readImageChain(path, format, fs)])),
    volumes: volumes(domain, fs),
    pciIommuGroups: collect(pci, (a) => linkBasename(`/sys/bus/pci/devices/${a}/iommu_group`, fs)),
    pciSysfsDirs: collect(pci, (a) => {
      try {
        return fs.realpath(`/sys/bus/pci/devices/${a}`);
      } catch {
        return undefined;
      }
    }),
    mdevIommuGroups: collect(mdevs.filter((u) => /^[0-9a-f-]+$/i.test(u)), (u) => linkBasename(`/sys/bus/mdev/devices/${u}/iommu_group`, fs)),
    usbDevices: usb.some((h) => h.type === 'usb' && (h.bus === undefined || h.device === undefined)) ? usbDevices(fs) : [],
    scsiGenerics: collect(scsiKeys, (k) => scsiGeneric(k, fs)),
    renderNode: renderNodes[0] === undefined ? undefined : `/dev/dri/${renderNodes[0]}`,
    hugetlbfsMounts: domain.memoryBacking.hugepages ? hugetlbfsMounts(fs) : [],
    netIfindex: new Map(
      macvtaps.flatMap((dev) => {
        const index = readNumber(`/sys/class/net/${dev}/ifindex`, fs, 10);
        return index === undefined ? [] : [[dev, index] as const];
      }),
    ),
    qemuUser: readQemuUser(fs, libvirtConfigDir),
    storagePoolDirs: imagesToInspect(domain).length > 0 ? storagePoolDirs(fs) : [],
  };
}
