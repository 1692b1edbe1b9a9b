// Rules for one storage source and everything below it: the image, its
// external data file, and its backing chain, taken from the XML where the XML
// lists it and from the image headers (gathered as host facts) where not.

import type { StorageSource } from '../domain/types.ts';
import { DomainRefusedError } from '../errors.ts';
import { chainKey } from '../storage/chain.ts';
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

function headerChainAccesses(path: string, format: string, perms: string, device: string, depth: number, context: ResourceContext): readonly Access[] {
  const chain = context.host.chains.get(chainKey(path, format));
  if (chain === undefined) return [];
  const result: Access[] = [];
  for (const layer of chain.layers) {
    const layerDepth = depth + layer.depth;
    // An extent or data file belongs to the image that names it and shares its access.
    const layerPerms = layerDepth === 0 ? perms : backingPerms;
    const what = layer.role === 'backing' ? 'image' : layer.role === 'data-file' ? 'external data file' : 'extent';
    result.push({ ...fileAccess(layer.path, layerPerms, reason(device, layerDetail(layerDepth, what))), origin: 'image' });
  }
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
        result.push(...headerChainAccesses(source.path, source.format, perms, device, depth, context));
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
