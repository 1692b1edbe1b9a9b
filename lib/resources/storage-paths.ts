// Rules for one storage source and everything below it: the image, its
// external data file, and its backing chain, taken from the XML where the XML
// lists it and from the image headers (gathered as host facts) where not.

import type { StorageSource } from '../domain/types.ts';
import { DomainRefusedError } from '../errors.ts';
import { entryTypeText } from '../host/host-fs.ts';
import { chainKey, type ChainLayer } from '../storage/chain.ts';
import { fileAccess, notice, reason, snippet, treeAccess, type Access } from '../profile/access.ts';
import type { ResourceContext } from './resource.ts';
import { vfioGroupAccesses } from './vfio.ts';

/** Backing layers are opened read-only; QEMU takes locks on every layer. */
const backingPerms = 'rk';

/**
 * The same words whether a layer came from <backingStore> (the XML of start)
 * or from an image header (the XML of prepare has no chain): the rules text
 * must not change between the two, or apparmor_parser compiles it twice.
 */
function layerDetail(depth: number, what: 'image' | 'block device' | 'external data file' | 'extent'): string {
  if (depth === 0) return what;
  return what === 'image' || what === 'block device' ? `backing file (depth ${depth})` : `${what} of the backing file at depth ${depth}`;
}

/**
 * A layer named by a header, never by the XML: the guest's word. It is never
 * a device (one in a chain belongs in the XML, as <backingStore type='block'>)
 * and never writable, even a data file or extent of the disk itself, which
 * QEMU opens read-write: only <dataStore> in the XML makes that writable.
 */
function headerLayerAccesses(layer: ChainLayer, perms: string, device: string, depth: number, context: ResourceContext): readonly Access[] {
  const layerDepth = depth + layer.depth;
  const what = layer.role === 'backing' ? 'image' : layer.role === 'data-file' ? 'external data file' : 'extent';
  const detail = layerDetail(layerDepth, what);
  if (layer.type !== undefined && layer.type !== 'file') {
    throw new DomainRefusedError(
      `refusing the ${detail} named by the header of "${layer.namedBy}": it is ${entryTypeText(layer.type)}, and only regular files are followed from image headers (a device in a chain belongs in the XML, as <backingStore type='block'>)`,
      { device, path: layer.path },
    );
  }
  const result: Access[] = [{ ...fileAccess(layer.path, backingPerms, reason(device, detail)), origin: 'image' }];
  if (layerDepth === 0 && perms.includes('w')) {
    const declare = layer.role === 'data-file' ? 'declare it in the XML with <dataStore> to make it writable' : `grant it in domains.${context.settings.settingsKey}.rules of the configuration to make it writable`;
    result.push(notice(`the ${detail} "${layer.path}" is named by the header of ${layer.namedBy}, not by the XML: it is read-only (${declare})`, reason(device, detail)));
  }
  return result;
}

/**
 * The layers an image's header names. `xmlDataStore`: the XML gives the
 * image a <dataStore>, which libvirt hands QEMU in place of the data file
 * the header names (so that one is never opened).
 */
function headerChainAccesses(path: string, format: string, perms: string, device: string, depth: number, context: ResourceContext, xmlDataStore: boolean): readonly Access[] {
  const chain = context.host.chains.get(chainKey(path, format));
  if (chain === undefined) return [];
  const opened = chain.layers.filter((layer) => !(xmlDataStore && layer.role === 'data-file' && layer.depth === 0));
  const result: Access[] = opened.flatMap((layer) => headerLayerAccesses(layer, perms, device, depth, context));
  for (const remote of chain.remote) {
    result.push(notice(`backing "${remote.name}" of ${remote.namedBy} is not a local file: no rule`, reason(device, 'backing chain')));
  }
  for (const unprobed of chain.unprobed) {
    result.push(notice(`the format of backing file ${unprobed} is not recorded in its parent's header: it is granted but not probed, so layers below it are not followed`, reason(device, 'backing chain')));
  }
  const problem = chain.problem;
  if (problem?.kind === 'loop') {
    throw new DomainRefusedError('cannot follow backing chain: it loops back to an image already in the chain', { device, path: problem.path });
  }
  if (problem?.kind === 'too-deep') {
    throw new DomainRefusedError(`cannot follow backing chain: deeper than ${problem.limit} layers`, { device, path: problem.path });
  }
  if (problem?.kind === 'unreadable') {
    result.push(notice(`cannot read the image header of ${problem.path} (${problem.message}): layers below it get no rules`, reason(device, 'backing chain')));
  }
  return result;
}

export function storageAccesses(source: StorageSource, perms: string, device: string, context: ResourceContext, depth = 0): readonly Access[] {
  const result: Access[] = [];
  switch (source.type) {
    case 'file':
    case 'block': {
      result.push(fileAccess(source.path, depth === 0 ? perms : backingPerms, reason(device, layerDetail(depth, source.type === 'file' ? 'image' : 'block device'))));
      const data = source.dataStore;
      if (data !== undefined && (data.type === 'file' || data.type === 'block')) {
        result.push(fileAccess(data.path, depth === 0 ? perms : backingPerms, reason(device, layerDetail(depth, 'external data file'))));
      }
      if (source.backing.kind === 'layer') {
        result.push(...storageAccesses(source.backing.source, perms, device, context, depth + 1));
      } else if (source.backing.kind === 'unknown' && source.format !== undefined) {
        result.push(...headerChainAccesses(source.path, source.format, perms, device, depth, context, data !== undefined));
      }
      break;
    }
    case 'dir':
      result.push(...treeAccess(source.path, perms.includes('w') ? 'rwk' : 'r', reason(device, 'directory exposed as a disk')));
      break;
    case 'volume': {
      const path = context.host.volumes.get(`${source.pool}/${source.volume}`);
      if (path === undefined) {
        result.push(notice(`volume '${source.volume}' of storage pool '${source.pool}' could not be resolved from libvirt's pool definitions: no rule`, reason(device, 'volume')));
      } else {
        result.push(fileAccess(path, perms, reason(device, `volume '${source.volume}' of pool '${source.pool}'`)));
      }
      break;
    }
    case 'network':
      result.push(snippet('nameservice', reason(device, `${source.protocol} server (reached by host name or address)`)));
      if (source.protocol === 'rbd') result.push(snippet('ceph', reason(device, 'Ceph RBD configuration')));
      if (source.configFile !== undefined) result.push(fileAccess(source.configFile, 'r', reason(device, `${source.protocol} configuration file`)));
      if (source.tls) result.push(snippet('tls', reason(device, `TLS for ${source.protocol}`)));
      if (source.backing.kind === 'layer') result.push(...storageAccesses(source.backing.source, perms, device, context, depth + 1));
      break;
    case 'nvme':
      result.push(...vfioGroupAccesses(source.pciAddress, device, context));
      break;
    case 'vhostuser':
      result.push(fileAccess(source.socket, 'rw', reason(device, 'vhost-user socket')));
      break;
    case 'vhostvdpa':
      result.push(fileAccess(source.device, 'rw', reason(device, 'vhost-vdpa device')));
      break;
  }
  return result;
}
