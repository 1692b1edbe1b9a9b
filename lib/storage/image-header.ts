// Reads the few header fields that make QEMU open other files: backing files,
// qcow2 external data files and vmdk extents. Only formats the caller declares
// are parsed: a raw image is guest-writable, so a qcow2 header found inside it
// is the guest's word, and probing it would let a guest name host files.

import { UnsafeImageError, type HostFs, type ImageFile } from '../host/host-fs.ts';
import { resolveHostPath } from './resolve.ts';

export interface ImageHeaderInfo {
  /** Backing file name exactly as stored in the header (may be relative, a protocol URL or `json:{...}`). */
  readonly backingName: string | undefined;
  /** Backing format as recorded by the header (qcow2 backing-format extension, qed's no-probe bit means 'raw'); undefined if not recorded. */
  readonly backingFormat: string | undefined;
  /** qcow2 external data file name (header extension 0x44415441), if any. */
  readonly dataFile: string | undefined;
  /** vmdk descriptor extent file names (FLAT/SPARSE/VMFS... extents), in order. */
  readonly extents: readonly string[];
}

export class ImageHeaderError extends Error {
  override readonly name = 'ImageHeaderError';
  declare readonly path?: string;
  constructor(message: string, path?: string, options?: ErrorOptions) {
    super(message, options);
    if (path !== undefined) this.path = path;
  }
}

const noInfo: ImageHeaderInfo = { backingName: undefined, backingFormat: undefined, dataFile: undefined, extents: [] };

/** Enough for every header and text descriptor QEMU writes; more is read only at a recorded offset. */
const headSize = 64 * 1024;

type ReadAt = (offset: number, length: number) => Buffer;

function bufferReader(head: Buffer): ReadAt {
  return (offset, length) => head.subarray(offset, offset + length);
}

function readExactly(readAt: ReadAt, offset: number, length: number, what: string): Buffer {
  const bytes = readAt(offset, length);
  if (bytes.length < length) throw new ImageHeaderError(`${what} (${length} bytes at offset ${offset}) lies past the end of the image`);
  return bytes;
}

function requireLength(head: Buffer, length: number, format: string): void {
  if (head.length < length) throw new ImageHeaderError(`truncated ${format} header: ${head.length} bytes, need ${length}`);
}

/** Names are C strings in QEMU: anything after a NUL is not part of them. */
function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end === -1 ? bytes.length : end).toString('utf8');
}

function nameAt(readAt: ReadAt, offset: number, size: number, what: string): string | undefined {
  if (offset === 0 || size === 0) return undefined;
  const name = cString(readExactly(readAt, offset, size, what));
  return name === '' ? undefined : name;
}

const qcow2Extension = { end: 0, backingFormat: 0xe2792aca, dataFile: 0x44415441 } as const;
const qcow2IncompatDataFile = 1n << 2n;

function parseQcow2(head: Buffer, readAt: ReadAt): ImageHeaderInfo {
  requireLength(head, 72, 'qcow2');
  if (head.readUInt32BE(0) !== 0x514649fb) throw new ImageHeaderError('not a qcow2 image (bad magic)');
  const version = head.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw new ImageHeaderError(`unsupported qcow2 version ${version}`);
  const clusterBits = head.readUInt32BE(20);
  if (clusterBits < 9 || clusterBits > 21) throw new ImageHeaderError(`invalid qcow2 cluster_bits ${clusterBits}`);
  const clusterSize = 2 ** clusterBits;
  if (version === 3) requireLength(head, 104, 'qcow2 v3');
  const headerLength = version === 3 ? head.readUInt32BE(100) : 72;
  if (headerLength < (version === 3 ? 104 : 72) || headerLength > clusterSize) throw new ImageHeaderError(`invalid qcow2 header_length ${headerLength}`);
  // An external data file only counts when the incompatible-feature bit says so (QEMU ignores the name otherwise).
  const hasDataFile = version === 3 && (head.readBigUInt64BE(72) & qcow2IncompatDataFile) !== 0n;

  const rawBackingOffset = head.readBigUInt64BE(8);
  const backingSize = head.readUInt32BE(16);
  if (rawBackingOffset > BigInt(clusterSize)) throw new ImageHeaderError(`invalid qcow2 backing file offset ${rawBackingOffset}`);
  const backingOffset = Number(rawBackingOffset);
  if (backingOffset !== 0 && backingSize > Math.min(1023, clusterSize - backingOffset)) {
    throw new ImageHeaderError(`qcow2 backing file name too long (${backingSize} bytes)`);
  }

  let backingFormat: string | undefined;
  let dataFile: string | undefined;
  const extensionsEnd = backingOffset !== 0 ? backingOffset : clusterSize;
  // Past what was read counts as zeros, i.e. the end marker, as QEMU reads past EOF.
  for (let offset = headerLength; offset + 8 <= Math.min(extensionsEnd, head.length); ) {
    const type = head.readUInt32BE(offset);
    const length = head.readUInt32BE(offset + 4);
    offset += 8;
    if (type === qcow2Extension.end) break;
    if (length > extensionsEnd - offset) throw new ImageHeaderError(`qcow2 header extension 0x${type.toString(16)} too large (${length} bytes)`);
    if (type === qcow2Extension.backingFormat) {
      if (length >= 16) throw new ImageHeaderError(`qcow2 backing format name too long (${length} bytes)`);
      backingFormat = cString(readExactly(readAt, offset, length, 'qcow2 backing format')) || undefined;
    } else if (type === qcow2Extension.dataFile && hasDataFile) {
      dataFile = cString(readExactly(readAt, offset, length, 'qcow2 data file name')) || undefined;
    }
    offset += (length + 7) & ~7;
  }
  const backingName = nameAt(readAt, backingOffset, backingSize, 'qcow2 backing file name');
  return { backingName, backingFormat: backingName === undefined ? undefined : backingFormat, dataFile, extents: [] };
}

const qedFeature = { backingFile: 0x01n, needCheck: 0x02n, backingNoProbe: 0x04n } as const;

function parseQed(head: Buffer, readAt: ReadAt): ImageHeaderInfo {
  requireLength(head, 64, 'qed');
  if (head.readUInt32LE(0) !== 0x00444551) throw new ImageHeaderError('not a qed image (bad magic)');
  const features = head.readBigUInt64LE(16);
  if ((features & ~(qedFeature.backingFile | qedFeature.needCheck | qedFeature.backingNoProbe)) !== 0n) {
    throw new ImageHeaderError(`unsupported qed features 0x${features.toString(16)}`);
  }
  if ((features & qedFeature.backingFile) === 0n) return noInfo;
  const clusterSize = head.readUInt32LE(4);
  const headerClusters = head.readUInt32LE(12);
  const offset = head.readUInt32LE(56);
  const size = head.readUInt32LE(60);
  // QEMU keeps the name inside the header clusters and in a PATH_MAX buffer.
  if (offset + size > clusterSize * headerClusters) throw new ImageHeaderError(`qed backing file name lies outside the header (offset ${offset}, ${size} bytes)`);
  if (size >= 4096) throw new ImageHeaderError(`qed backing file name too long (${size} bytes)`);
  const backingName = nameAt(readAt, offset, size, 'qed backing file name');
  const noProbe = (features & qedFeature.backingNoProbe) !== 0n;
  return { backingName, backingFormat: backingName !== undefined && noProbe ? 'raw' : undefined, dataFile: undefined, extents: [] };
}

export function parseQcow2Header(head: Buffer): ImageHeaderInfo {
  return parseQcow2(head, bufferReader(head));
}

export function parseQedHeader(head: Buffer): ImageHeaderInfo {
  return parseQed(head, bufferReader(head));
}

const parentHint = /^\s*parentFileNameHint\s*=\s*"([^"]*)"/;
// QEMU opens only RW extents of these types; ZERO extents have no file.
const extentLine = /^\s*RW\s+(\d+)\s+(?:FLAT|SPARSE|VMFS|VMFSSPARSE|SESPARSE)\s+"([^"\r\n]+)"/;

export function parseVmdkDescriptor(text: string): ImageHeaderInfo {
  let backingName: string | undefined;
  const extents: string[] = [];
  for (const line of text.split(/\r?\n|\r/)) {
    const parent = parentHint.exec(line);
    if (parent?.[1]) backingName ??= parent[1];
    const extent = extentLine.exec(line);
    if (extent?.[2] !== undefined && Number(extent[1]) > 0) extents.push(extent[2]);
  }
  return { backingName, backingFormat: backingName === undefined ? undefined : 'vmdk', dataFile: undefined, extents };
}

function parseVmdk(head: Buffer, readAt: ReadAt): ImageHeaderInfo {
  const magic = head.subarray(0, 4).toString('latin1');
  if (magic === 'COWD') return noInfo;
  if (magic === 'KDMV') {
    requireLength(head, 44, 'vmdk');
    const sector = head.readBigUInt64LE(28);
    const sectors = head.readBigUInt64LE(36);
    if (sector === 0n) return noInfo;
    if (sector * 512n > BigInt(Number.MAX_SAFE_INTEGER)) throw new ImageHeaderError(`invalid vmdk descriptor offset ${sector}`);
    const length = sectors * 512n < BigInt(headSize) ? Number(sectors * 512n) : headSize;
    const descriptor = readAt(Number(sector) * 512, length);
    if (descriptor.length === 0) throw new ImageHeaderError(`vmdk descriptor (sector ${sector}) lies past the end of the image`);
    // A sparse image's embedded descriptor lists the image itself as its extent.
    return { ...parseVmdkDescriptor(cString(descriptor)), extents: [] };
  }
  const text = cString(head);
  if (!/^\s*# Disk DescriptorFile/.test(text)) throw new ImageHeaderError('not a vmdk image (no sparse header magic, no "# Disk DescriptorFile")');
  return parseVmdkDescriptor(text);
}

const parsers: Readonly<Record<string, (head: Buffer, readAt: ReadAt) => ImageHeaderInfo>> = {
  qcow2: parseQcow2,
  qed: parseQed,
  vmdk: parseVmdk,
};

function isIoError(error: unknown): error is Error {
  return error instanceof Error && (error instanceof UnsafeImageError || ('code' in error && typeof error.code === 'string'));
}

/**
 * The header of `path` read as the DECLARED `format`; other formats are never
 * opened. The path is resolved first and opened without following anything
 * (HostFs.openImage): only a regular file or a block device is ever opened,
 * and a missing one has no header.
 */
export function readImageHeader(path: string, format: string, fs: HostFs): ImageHeaderInfo {
  const parse = Object.hasOwn(parsers, format) ? parsers[format] : undefined;
  if (parse === undefined) return noInfo;
  const real = resolveHostPath(path, fs);
  let image: ImageFile | undefined;
  try {
    try {
      image = fs.openImage(real);
    } catch (error) {
      // Not there (yet): no header, nothing below it.
      if (isIoError(error) && 'code' in error && error.code === 'ENOENT') return noInfo;
      throw error;
    }
    const file = image;
    const head = file.read(0, headSize);
    return parse(head, (offset, length) => (offset + length <= head.length ? head.subarray(offset, offset + length) : file.read(offset, length)));
  } catch (error) {
    if (!(error instanceof ImageHeaderError) && !isIoError(error)) throw error;
    const via = real === path ? '' : ` (resolved to "${real}")`;
    throw new ImageHeaderError(`cannot read ${format} header of "${path}"${via}: ${error.message}`, path, { cause: error });
  } finally {
    image?.close();
  }
}
