// <disk>, its backing chain, data store and mirror, and the storage sources
// that NVRAM shares with disks.

import type { Backing, Disk, StorageSource } from './types.ts';
import type { XmlElement } from './xml.ts';
import { pciAddressOf } from './parse-values.ts';

/** libvirt itself refuses chains deeper than this; it also bounds our recursion. */
const maxXmlChainDepth = 200;

function backingOf(element: XmlElement, depth: number): Backing {
  const backing = element.child('backingStore');
  if (backing === undefined) return { kind: 'unknown' };
  if (backing.attr('type') === undefined && backing.child('source') === undefined) return { kind: 'none' };
  if (depth >= maxXmlChainDepth) throw new RangeError(`<backingStore> nested deeper than ${maxXmlChainDepth}`);
  const source = storageSource(backing.attr('type') ?? 'file', backing.child('source'), backing.child('format')?.attr('type'), backing, depth + 1);
  return source === undefined ? { kind: 'none' } : { kind: 'layer', source };
}

/**
 * A storage source of the given type. `holder` is the element that carries
 * `<backingStore>` (the disk itself, or a backing layer); `format` comes from
 * `<driver type>` on disks and `<format type>` below them.
 */
export function storageSource(
  type: string,
  source: XmlElement | undefined,
  format: string | undefined,
  holder: XmlElement | undefined,
  depth = 0,
): StorageSource | undefined {
  const backing = (): Backing => (holder === undefined ? { kind: 'unknown' } : backingOf(holder, depth));
  switch (type) {
    case 'file':
    case 'block': {
      const path = source?.attr(type === 'file' ? 'file' : 'dev');
      if (path === undefined || path === '') return undefined;
      const dataStoreElement = source?.child('dataStore');
      const dataStore =
        dataStoreElement === undefined
          ? undefined
          : storageSource(dataStoreElement.attr('type') ?? 'file', dataStoreElement.child('source'), dataStoreElement.child('format')?.attr('type'), undefined, depth);
      return { type, path, format, backing: backing(), dataStore };
    }
    case 'dir': {
      const path = source?.attr('dir');
      return path === undefined || path === '' ? undefined : { type, path };
    }
    case 'volume': {
      const pool = source?.attr('pool');
      const volume = source?.attr('volume');
      return pool === undefined || volume === undefined ? undefined : { type, pool, volume };
    }
    case 'network': {
      const protocol = source?.attr('protocol');
      if (protocol === undefined) return undefined;
      return {
        type,
        protocol,
        name: source?.attr('name'),
        tls: source?.flag('tls') === true,
        configFile: source?.child('config')?.attr('file'),
        backing: backing(),
      };
    }
    case 'nvme': {
      const address = source?.child('address');
      return address === undefined ? undefined : { type, pciAddress: pciAddressOf(address) };
    }
    case 'vhostuser': {
      const socket = source?.attr('path');
      return socket === undefined ? undefined : { type, socket };
    }
    case 'vhostvdpa': {
      const device = source?.attr('dev');
      return device === undefined ? undefined : { type, device };
    }
    default:
      return undefined;
  }
}

function mirrorOf(disk: XmlElement): StorageSource | undefined {
  const mirror = disk.child('mirror');
  if (mirror === undefined) return undefined;
  const type = mirror.attr('type') ?? 'file';
  const format = mirror.child('format')?.attr('type') ?? mirror.attr('format');
  // Old status XML writes the destination as an attribute instead of a <source>.
  const legacyFile = mirror.attr('file');
  if (mirror.child('source') === undefined && legacyFile !== undefined) {
    return { type: 'file', path: legacyFile, format, backing: { kind: 'unknown' }, dataStore: undefined };
  }
  return storageSource(type, mirror.child('source'), format, mirror);
}

export function parseDisk(element: XmlElement, index: number): Disk {
  const target = element.child('target')?.attr('dev');
  const label = target !== undefined ? `disk '${target}'` : `disk #${index}`;
  const sourceElement = element.child('source');
  const reservations = sourceElement?.child('reservations');
  const reservationsSocket = reservations?.flag('managed') === false ? reservations.child('source')?.attr('path') : undefined;
  return {
    kind: 'disk',
    label,
    device: element.attr('device') ?? 'disk',
    readonly: element.child('readonly') !== undefined,
    rawio: element.flag('rawio') === true,
    source: storageSource(element.attr('type') ?? 'file', sourceElement, element.child('driver')?.attr('type'), element),
    mirror: mirrorOf(element),
    reservationsSocket,
  };
}
