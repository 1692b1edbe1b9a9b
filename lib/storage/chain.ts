// Every file QEMU opens below a disk image, read from the headers the way QEMU
// (and libvirt, when the XML lists no <backingStore>) would follow them. The
// walk trusts a format only when a header recorded it: an unrecorded one could
// be raw, and a raw image's first bytes belong to the guest.

import type { EntryType, HostFs } from '../host/host-fs.ts';
import { ImageHeaderError, readImageHeader, type ImageHeaderInfo } from './image-header.ts';
import { resolveHostPath } from './resolve.ts';

export interface ChainLayer {
  /** Absolute host path (relative names resolved against the directory of the image that named them, as QEMU does: the image's path as given, not its realpath). */
  readonly path: string;
  readonly format: string | undefined;
  readonly role: 'backing' | 'data-file' | 'extent';
  /** 1 for the first backing layer; data files and extents carry the depth of the image that names them. */
  readonly depth: number;
  /** The image whose header named this layer. */
  readonly namedBy: string;
  /** What is there now, symlinks followed; undefined: nothing. Only a regular file is ever read further. */
  readonly type: EntryType | undefined;
}

export type ChainProblem =
  | { readonly kind: 'loop'; readonly path: string }
  | { readonly kind: 'too-deep'; readonly path: string; readonly limit: number }
  | { readonly kind: 'unreadable'; readonly path: string; readonly message: string };

export interface ImageChain {
  readonly layers: readonly ChainLayer[];
  /** Backing names that are not local files (nbd://, rbd:, json:{...}, ...): no file rule for these. */
  readonly remote: readonly { readonly name: string; readonly namedBy: string }[];
  /** Layers whose format the header did not record: named (and granted) but never probed further. */
  readonly unprobed: readonly string[];
  readonly problem: ChainProblem | undefined;
}

/** libvirt's limit when it probes a chain (virStorageSourceGetMetadata). */
export const maxChainDepth = 200;

export function chainKey(path: string, format: string): string {
  return `${format}:${path}`;
}

const protocolPrefix = /^[a-z][a-z0-9+.-]*:/;

/** A local path for a name from a header, or undefined for a protocol, URL or `json:` name. */
function localName(name: string): string | undefined {
  if (name.startsWith('file:')) return name.slice('file:'.length) || undefined;
  return protocolPrefix.test(name) ? undefined : name;
}

/** QEMU's path_combine: the text up to the last slash of the naming image, never normalised. */
function besideImage(image: string, name: string): string {
  if (name.startsWith('/')) return name;
  return `${image.slice(0, image.lastIndexOf('/') + 1)}${name}`;
}

export function readImageChain(topPath: string, topFormat: string, fs: HostFs, limit = maxChainDepth): ImageChain {
  const layers: ChainLayer[] = [];
  const remote: { name: string; namedBy: string }[] = [];
  const unprobed: string[] = [];
  const visited = new Set([resolveHostPath(topPath, fs)]);
  const finish = (problem?: ChainProblem): ImageChain => ({ layers, remote, unprobed, problem });
  const place = (name: string, image: string): string | undefined => {
    const local = localName(name);
    if (local === undefined) remote.push({ name, namedBy: image });
    return local === undefined ? undefined : besideImage(image, local);
  };
  const typeOf = (path: string): EntryType | undefined => fs.lstat(resolveHostPath(path, fs))?.type;

  let image = topPath;
  let format = topFormat;
  for (let depth = 0; ; depth += 1) {
    let info: ImageHeaderInfo;
    try {
      info = readImageHeader(image, format, fs);
    } catch (error) {
      if (!(error instanceof ImageHeaderError)) throw error;
      return finish({ kind: 'unreadable', path: image, message: error.message });
    }
    const dataFile = info.dataFile === undefined ? undefined : place(info.dataFile, image);
    if (dataFile !== undefined) layers.push({ path: dataFile, format: 'raw', role: 'data-file', depth, namedBy: image, type: typeOf(dataFile) });
    for (const name of info.extents) {
      const extent = place(name, image);
      if (extent !== undefined) layers.push({ path: extent, format: undefined, role: 'extent', depth, namedBy: image, type: typeOf(extent) });
    }

    const backing = info.backingName === undefined ? undefined : place(info.backingName, image);
    if (backing === undefined) return finish();
    if (depth + 1 > limit) return finish({ kind: 'too-deep', path: backing, limit });
    const real = resolveHostPath(backing, fs);
    if (visited.has(real)) return finish({ kind: 'loop', path: backing });
    visited.add(real);
    const type = fs.lstat(real)?.type;
    layers.push({ path: backing, format: info.backingFormat, role: 'backing', depth: depth + 1, namedBy: image, type });
    // A device or anything but a regular file is refused by policy: its header is never read.
    if (type !== undefined && type !== 'file') return finish();
    if (info.backingFormat === undefined) {
      unprobed.push(backing);
      return finish();
    }
    image = backing;
    format = info.backingFormat;
  }
}
