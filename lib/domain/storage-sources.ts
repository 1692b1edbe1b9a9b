// Every storage source a domain names (disks, their mirrors and NVRAM), with
// the layers the XML already lists below them. Host fact gathering and the
// disk rules walk the same list.

import type { Domain, StorageSource } from './types.ts';

export interface NamedStorageSource {
  /** The device that names it, e.g. "disk 'vda'", "nvram". */
  readonly device: string;
  readonly source: StorageSource;
}

export function topStorageSources(domain: Domain): readonly NamedStorageSource[] {
  const result: NamedStorageSource[] = [];
  for (const device of domain.devices) {
    if (device.kind !== 'disk') continue;
    if (device.source !== undefined) result.push({ device: device.label, source: device.source });
    if (device.mirror !== undefined) result.push({ device: device.label, source: device.mirror });
  }
  const nvram = domain.os.nvram?.source;
  if (nvram !== undefined) result.push({ device: 'nvram', source: nvram });
  return result;
}

/** A source and every layer below it that the XML itself spells out. */
export function xmlLayers(source: StorageSource): readonly StorageSource[] {
  const layers: StorageSource[] = [];
  let current: StorageSource | undefined = source;
  while (current !== undefined) {
    layers.push(current);
    if ((current.type === 'file' || current.type === 'block') && current.dataStore !== undefined) layers.push(current.dataStore);
    current = (current.type === 'file' || current.type === 'block' || current.type === 'network') && current.backing.kind === 'layer' ? current.backing.source : undefined;
  }
  return layers;
}

/**
 * The file and block paths of every disk image the XML itself names (sources,
 * mirrors and the layers it lists): where its images live. Not the NVRAM,
 * whose directory holds other guests' variable stores.
 */
export function xmlImagePaths(domain: Domain): readonly string[] {
  return topStorageSources(domain)
    .filter(({ device }) => device !== 'nvram')
    .flatMap(({ source }) => xmlLayers(source).flatMap((layer) => (layer.type === 'file' || layer.type === 'block' ? [layer.path] : [])));
}

/** Formats whose headers can name other files; every other format is never opened by us. */
export const chainFormats: ReadonlySet<string> = new Set(['qcow2', 'qed', 'vmdk']);

/** Images whose lower layers only their headers can tell: the XML has no `<backingStore>` for them. */
export function imagesToInspect(domain: Domain): readonly { readonly path: string; readonly format: string }[] {
  const result = new Map<string, { path: string; format: string }>();
  for (const { source } of topStorageSources(domain)) {
    for (const layer of xmlLayers(source)) {
      if ((layer.type === 'file' || layer.type === 'block') && layer.backing.kind === 'unknown' && layer.format !== undefined && chainFormats.has(layer.format)) {
        result.set(`${layer.format}\0${layer.path}`, { path: layer.path, format: layer.format });
      }
    }
  }
  return [...result.values()];
}
