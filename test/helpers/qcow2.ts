// qcow2 headers written field by field, for what qemu-img refuses to produce
// (loops, hostile names) or is too slow to produce (1,000-layer chains).

export const backingFormatExtension = 0xe2792aca;
export const dataFileExtension = 0x44415441;

export interface Qcow2Fields {
  readonly version?: number;
  readonly clusterBits?: number;
  readonly incompatible?: bigint;
  readonly backingOffset?: number;
  readonly backingSize?: number;
  readonly backingName?: string;
  /** Shorthand for a backing-format header extension. */
  readonly backingFormat?: string;
  readonly extensions?: readonly (readonly [number, Buffer])[];
}

export function qcow2Bytes(fields: Qcow2Fields = {}): Buffer {
  const { version = 3, clusterBits = 16, incompatible = 0n, backingName = '' } = fields;
  const backingOffset = fields.backingOffset ?? (backingName === '' ? 0 : 1024);
  const extensions = [...(fields.extensions ?? []), ...(fields.backingFormat === undefined ? [] : [[backingFormatExtension, Buffer.from(fields.backingFormat)] as const])];
  const bytes = Buffer.alloc(Math.max(4096, backingOffset + Buffer.byteLength(backingName)));
  bytes.writeUInt32BE(0x514649fb, 0);
  bytes.writeUInt32BE(version, 4);
  bytes.writeBigUInt64BE(BigInt(backingOffset), 8);
  bytes.writeUInt32BE(fields.backingSize ?? Buffer.byteLength(backingName), 16);
  bytes.writeUInt32BE(clusterBits, 20);
  let offset = 72;
  if (version === 3) {
    bytes.writeBigUInt64BE(incompatible, 72);
    bytes.writeUInt32BE(104, 100);
    offset = 104;
  }
  for (const [type, data] of extensions) {
    bytes.writeUInt32BE(type, offset);
    bytes.writeUInt32BE(data.length, offset + 4);
    data.copy(bytes, offset + 8);
    offset += 8 + ((data.length + 7) & ~7);
  }
  bytes.write(backingName, backingOffset);
  return bytes;
}
