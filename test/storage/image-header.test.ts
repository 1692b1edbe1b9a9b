import test from 'ava';
import { execFileSync } from 'node:child_process';
import * as nodeFs from 'node:fs';
import * as path from 'node:path';
import tmp from 'tmp';
import { backingFormatExtension, dataFileExtension, qcow2Bytes } from '../helpers/qcow2.ts';
import { localFs, type HostFs } from '../../lib/host/host-fs.ts';
import {
  ImageHeaderError,
  parseQcow2Header,
  parseQedHeader,
  parseVmdkDescriptor,
  readImageHeader,
  type ImageHeaderInfo,
} from '../../lib/storage/image-header.ts';

const root = nodeFs.realpathSync(tmp.dirSync({ unsafeCleanup: true }).name);
const fs = localFs(root);
const inRoot = (name: string): string => path.join(root, name);

function qemuImg(...args: string[]): void {
  execFileSync('qemu-img', args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Every HostFs call, and every read of an opened image, so a test can prove what was (not) touched. */
function recording(inner: HostFs): { readonly fs: HostFs; readonly calls: string[] } {
  const calls: string[] = [];
  const fs: HostFs = {
    realpath: (p) => (calls.push(`realpath ${p}`), inner.realpath(p)),
    lstat: (p) => (calls.push(`lstat ${p}`), inner.lstat(p)),
    readlink: (p) => (calls.push(`readlink ${p}`), inner.readlink(p)),
    openImage: (p) => {
      calls.push(`openImage ${p}`);
      const image = inner.openImage(p);
      return {
        type: image.type,
        read: (offset, length) => (calls.push(`read ${p} ${offset} ${length}`), image.read(offset, length)),
        close: () => (calls.push(`close ${p}`), image.close()),
      };
    },
    readText: (p) => (calls.push(`readText ${p}`), inner.readText(p)),
    readdir: (p) => (calls.push(`readdir ${p}`), inner.readdir(p)),
  };
  return { fs, calls };
}

/** An image whose reads fail with `error`. */
function failingReads(inner: HostFs, error: Error): HostFs {
  return {
    ...inner,
    openImage: (p) => {
      const image = inner.openImage(p);
      return { ...image, read: () => { throw error; } };
    },
  };
}

const none: ImageHeaderInfo = { backingName: undefined, backingFormat: undefined, dataFile: undefined, extents: [] };
const info = (fields: Partial<ImageHeaderInfo>): ImageHeaderInfo => ({ ...none, ...fields });

// Built at load time: test arguments below read these files.
{
  nodeFs.writeFileSync(inRoot('base.raw'), Buffer.alloc(1024 * 1024));
  qemuImg('create', '-f', 'qcow2', 'base.qcow2', '1M');
  qemuImg('create', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'top.qcow2');
  qemuImg('create', '-f', 'qcow2', '-o', 'compat=0.10', '-b', 'base.qcow2', '-F', 'qcow2', 'v2.qcow2');
  qemuImg('create', '-f', 'qcow2', '-b', inRoot('base.raw'), '-F', 'raw', 'absolute.qcow2');
  qemuImg('create', '-f', 'qcow2', '-o', 'data_file=data.raw', 'data.qcow2', '1M');
  // qemu-img >= 6.1 refuses to write a backing name without a format, as older
  // versions did: turn the recorded format into an extension QEMU ignores.
  qemuImg('create', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'unformatted.qcow2');
  const unformatted = nodeFs.readFileSync(inRoot('unformatted.qcow2'));
  unformatted.writeUInt32BE(0x0badf00d, unformatted.indexOf(Buffer.from('e2792aca', 'hex')));
  nodeFs.writeFileSync(inRoot('unformatted.qcow2'), unformatted);
  qemuImg('create', '-f', 'qed', '-b', 'base.raw', '-F', 'raw', 'raw-backed.qed');
  qemuImg('create', '-f', 'qed', '-b', 'base.qcow2', '-F', 'qcow2', 'probed.qed');
  qemuImg('create', '-f', 'qed', 'plain.qed', '1M');
  qemuImg('create', '-f', 'vmdk', '-o', 'subformat=monolithicFlat', 'flat.vmdk', '1M');
  qemuImg('create', '-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentSparse', 'split.vmdk', '3G');
  qemuImg('create', '-f', 'vmdk', 'base.vmdk', '1M');
  qemuImg('create', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', 'child.vmdk');
}

const reads = test.macro({
  exec(t, file: string, format: string, expected: ImageHeaderInfo) {
    t.deepEqual(readImageHeader(`/${file}`, format, fs), expected);
  },
  title: (provided = '', file: string, format: string) => `${provided} ${format} ${file}`.trim(),
});

test('no backing', reads, 'base.qcow2', 'qcow2', none);
test('backing with -F', reads, 'top.qcow2', 'qcow2', info({ backingName: 'base.qcow2', backingFormat: 'qcow2' }));
test('compat=0.10 (version 2)', reads, 'v2.qcow2', 'qcow2', info({ backingName: 'base.qcow2', backingFormat: 'qcow2' }));
test('absolute backing name', reads, 'absolute.qcow2', 'qcow2', info({ backingName: inRoot('base.raw'), backingFormat: 'raw' }));
test('external data file', reads, 'data.qcow2', 'qcow2', info({ dataFile: 'data.raw' }));
test('backing format not recorded', reads, 'unformatted.qcow2', 'qcow2', info({ backingName: 'base.qcow2' }));
test('no-probe bit means raw', reads, 'raw-backed.qed', 'qed', info({ backingName: 'base.raw', backingFormat: 'raw' }));
test('backing format left to probing', reads, 'probed.qed', 'qed', info({ backingName: 'base.qcow2' }));
test('no backing', reads, 'plain.qed', 'qed', none);
test('monolithicFlat descriptor', reads, 'flat.vmdk', 'vmdk', info({ extents: ['flat-flat.vmdk'] }));
test('twoGbMaxExtentSparse descriptor', reads, 'split.vmdk', 'vmdk', info({ extents: ['split-s001.vmdk', 'split-s002.vmdk'] }));
test('sparse extent without a descriptor', reads, 'split-s001.vmdk', 'vmdk', none);
test('monolithicSparse does not list itself', reads, 'base.vmdk', 'vmdk', none);
test('monolithicSparse with a parent', reads, 'child.vmdk', 'vmdk', info({ backingName: 'base.vmdk', backingFormat: 'vmdk' }));
test('missing file', reads, 'no-such.qcow2', 'qcow2', none);

test('qemu-img agrees that the patched image records no backing format', (t) => {
  const json = execFileSync('qemu-img', ['info', '--output=json', '-U', inRoot('unformatted.qcow2')], { encoding: 'utf8' });
  const reported = JSON.parse(json) as Record<string, unknown>;
  t.is(reported['backing-filename'], 'base.qcow2');
  t.false('backing-filename-format' in reported);
});

test('the parsers agree with the reader on real headers', (t) => {
  t.deepEqual(parseQcow2Header(nodeFs.readFileSync(inRoot('top.qcow2'))), info({ backingName: 'base.qcow2', backingFormat: 'qcow2' }));
  t.deepEqual(parseQedHeader(nodeFs.readFileSync(inRoot('raw-backed.qed'))), info({ backingName: 'base.raw', backingFormat: 'raw' }));
  t.deepEqual(parseVmdkDescriptor(nodeFs.readFileSync(inRoot('flat.vmdk'), 'utf8')), info({ extents: ['flat-flat.vmdk'] }));
});

test('a backing name beyond the first 64 KiB is read at its offset, and only it', (t) => {
  const name = 'far/away.qcow2';
  nodeFs.writeFileSync(inRoot('far.qcow2'), qcow2Bytes({ clusterBits: 21, backingOffset: 100_000, backingName: name, extensions: [[backingFormatExtension, Buffer.from('qcow2')]] }));
  const { fs: spy, calls } = recording(fs);
  t.deepEqual(readImageHeader('/far.qcow2', 'qcow2', spy), info({ backingName: name, backingFormat: 'qcow2' }));
  t.deepEqual(calls, ['lstat /far.qcow2', 'openImage /far.qcow2', 'read /far.qcow2 0 65536', `read /far.qcow2 100000 ${name.length}`, 'close /far.qcow2']);
  t.throws(() => parseQcow2Header(nodeFs.readFileSync(inRoot('far.qcow2')).subarray(0, 65536)), { instanceOf: ImageHeaderError, message: /past the end/ });
});

test('a raw image with a qcow2 header inside is never opened', (t) => {
  nodeFs.writeFileSync(inRoot('guest.raw'), qcow2Bytes({ backingOffset: 512, backingName: '/etc/shadow', extensions: [[backingFormatExtension, Buffer.from('raw')]] }));
  t.deepEqual(parseQcow2Header(nodeFs.readFileSync(inRoot('guest.raw'))).backingName, '/etc/shadow');
  for (const format of ['raw', 'luks', 'vdi', 'vpc', 'vhdx', 'iso', '', 'toString', '__proto__']) {
    const { fs: spy, calls } = recording(fs);
    t.deepEqual(readImageHeader('/guest.raw', format, spy), none, format);
    t.deepEqual(calls, [], format);
  }
});

test('a FIFO declared as qcow2 is refused without opening it', (t) => {
  execFileSync('mkfifo', [inRoot('pipe.qcow2')]);
  const { fs: spy, calls } = recording(fs);
  const error = t.throws(() => readImageHeader('/pipe.qcow2', 'qcow2', spy), { instanceOf: ImageHeaderError });
  t.is(error?.message, 'cannot read qcow2 header of "/pipe.qcow2": not a regular file or block device: it is a FIFO');
  t.is(error?.path, '/pipe.qcow2');
  t.deepEqual(calls, ['lstat /pipe.qcow2', 'openImage /pipe.qcow2'], 'nothing read');
});

test('a directory declared as qcow2 is refused', (t) => {
  nodeFs.mkdirSync(inRoot('dir.qcow2'));
  t.throws(() => readImageHeader('/dir.qcow2', 'qcow2', fs), { instanceOf: ImageHeaderError, message: /not a regular file/ });
});

test('an I/O error becomes an ImageHeaderError with its cause', (t) => {
  const eio = Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
  const failing = failingReads(fs, eio);
  const error = t.throws(() => readImageHeader('/top.qcow2', 'qcow2', failing), { instanceOf: ImageHeaderError });
  t.is(error?.message, 'cannot read qcow2 header of "/top.qcow2": EIO: i/o error, read');
  t.is(error?.cause, eio);
});

test('a programming error is not disguised as a bad header', (t) => {
  const buggy = failingReads(fs, new TypeError('bug'));
  t.throws(() => readImageHeader('/top.qcow2', 'qcow2', buggy), { instanceOf: TypeError });
});

const refuses = test.macro({
  exec(t, parse: (head: Buffer) => ImageHeaderInfo, head: Buffer, message: RegExp) {
    t.throws(() => parse(head), { instanceOf: ImageHeaderError, message });
  },
  title: (provided = '') => `refuses ${provided}`,
});

const realQed = (): Buffer => nodeFs.readFileSync(inRoot('raw-backed.qed'));
const withField = (bytes: Buffer, write: (b: Buffer) => unknown): Buffer => (write(bytes), bytes);

test('an empty qcow2 header', refuses, parseQcow2Header, Buffer.alloc(0), /truncated qcow2 header/);
test('a qcow2 header cut at 50 bytes', refuses, parseQcow2Header, qcow2Bytes().subarray(0, 50), /truncated qcow2 header/);
test('a qcow2 v3 header cut at 90 bytes', refuses, parseQcow2Header, qcow2Bytes().subarray(0, 90), /truncated qcow2 v3 header/);
test('a bad qcow2 magic', refuses, parseQcow2Header, withField(qcow2Bytes(), (b) => b.write('QFI?', 0)), /bad magic/);
test('qcow2 version 4', refuses, parseQcow2Header, qcow2Bytes({ version: 4 }), /version 4/);
test('qcow2 cluster_bits 40', refuses, parseQcow2Header, qcow2Bytes({ clusterBits: 40 }), /cluster_bits 40/);
test('a qcow2 header_length beyond the cluster', refuses, parseQcow2Header, withField(qcow2Bytes(), (b) => b.writeUInt32BE(70_000, 100)), /header_length 70000/);
test('a qcow2 backing offset beyond EOF', refuses, parseQcow2Header, qcow2Bytes({ backingOffset: 3000, backingSize: 10 }).subarray(0, 2048), /past the end/);
test('a qcow2 backing offset beyond the cluster', refuses, parseQcow2Header, qcow2Bytes({ clusterBits: 9, backingOffset: 1000, backingName: 'x' }), /backing file offset 1000/);
test('a qcow2 backing offset of 2^64-1', refuses, parseQcow2Header, withField(qcow2Bytes(), (b) => b.writeBigUInt64BE(2n ** 64n - 1n, 8)), /backing file offset/);
test('a qcow2 backing size of 2^32-1', refuses, parseQcow2Header, qcow2Bytes({ backingOffset: 512, backingSize: 0xffffffff }), /name too long/);
test('a qcow2 backing name over 1023 bytes', refuses, parseQcow2Header, qcow2Bytes({ backingOffset: 512, backingName: 'x'.repeat(1024) }), /name too long/);
test('a qcow2 extension of 2^32-1 bytes', refuses, parseQcow2Header, qcow2Bytes({ extensions: [[dataFileExtension, Buffer.alloc(0)]] }).fill(0xff, 108, 112), /extension 0x44415441 too large/);
test('a qcow2 backing format of 16 bytes', refuses, parseQcow2Header, qcow2Bytes({ extensions: [[backingFormatExtension, Buffer.alloc(16, 0x61)]] }), /backing format name too long/);
test('a truncated qed header', refuses, parseQedHeader, realQed().subarray(0, 40), /truncated qed header/);
test('a bad qed magic', refuses, parseQedHeader, withField(realQed(), (b) => b.write('QEX', 0)), /bad magic/);
test('unknown qed features', refuses, parseQedHeader, withField(realQed(), (b) => b.writeBigUInt64LE(0x101n, 16)), /unsupported qed features 0x101/);
test('a qed backing name outside the header', refuses, parseQedHeader, withField(realQed(), (b) => b.writeUInt32LE(0xfffffff0, 56)), /outside the header/);
test('a qed backing size of 2^32-1', refuses, parseQedHeader, withField(realQed(), (b) => b.writeUInt32LE(0xffffffff, 60)), /outside the header/);
test('a qed backing name of 4096 bytes', refuses, parseQedHeader, withField(realQed(), (b) => b.writeUInt32LE(4096, 60)), /too long/);
test('a qed backing name past EOF', refuses, parseQedHeader, realQed().subarray(0, 70), /past the end/);

test('qcow2 fields that are legal but odd', (t) => {
  t.deepEqual(parseQcow2Header(qcow2Bytes({ backingOffset: 512, backingName: 'base.qcow2\0junk' })), info({ backingName: 'base.qcow2' }));
  t.deepEqual(parseQcow2Header(qcow2Bytes({ backingOffset: 512, backingSize: 0 })), none);
  // Without the incompatible-feature bit QEMU ignores the data file name.
  const named = { extensions: [[dataFileExtension, Buffer.from('data.raw')]] } as const;
  t.deepEqual(parseQcow2Header(qcow2Bytes(named)), none);
  t.deepEqual(parseQcow2Header(qcow2Bytes({ ...named, incompatible: 1n << 2n })), info({ dataFile: 'data.raw' }));
  // A backing format without a backing name is not a backing file.
  t.deepEqual(parseQcow2Header(qcow2Bytes({ extensions: [[backingFormatExtension, Buffer.from('raw')]] })), none);
});

test('a huge vmdk descriptor size reads at most 64 KiB', (t) => {
  const sparse = nodeFs.readFileSync(inRoot('child.vmdk'));
  sparse.writeBigUInt64LE(2n ** 62n, 36);
  nodeFs.writeFileSync(inRoot('huge.vmdk'), sparse);
  const { fs: spy, calls } = recording(fs);
  t.deepEqual(readImageHeader('/huge.vmdk', 'vmdk', spy), info({ backingName: 'base.vmdk', backingFormat: 'vmdk' }));
  t.true(calls.every((call) => Number(call.split(' ')[3] ?? 0) <= 65536), calls.join('\n'));
});

test('a vmdk descriptor offset past EOF', (t) => {
  const sparse = nodeFs.readFileSync(inRoot('child.vmdk'));
  sparse.writeBigUInt64LE(2n ** 40n, 28);
  nodeFs.writeFileSync(inRoot('lost.vmdk'), sparse);
  t.throws(() => readImageHeader('/lost.vmdk', 'vmdk', fs), { instanceOf: ImageHeaderError, message: /descriptor .* past the end/ });
});

test('a file declared vmdk that is neither sparse nor a descriptor', (t) => {
  nodeFs.writeFileSync(inRoot('text.vmdk'), 'hello\n');
  t.throws(() => readImageHeader('/text.vmdk', 'vmdk', fs), { instanceOf: ImageHeaderError, message: /not a vmdk image/ });
});

const descriptor = test.macro({
  exec(t, lines: readonly string[], expected: ImageHeaderInfo) {
    t.deepEqual(parseVmdkDescriptor(lines.join('\n')), expected);
    t.deepEqual(parseVmdkDescriptor(lines.join('\r\n')), expected);
  },
  title: (provided = '') => `vmdk descriptor: ${provided}`,
});

test('extents QEMU opens, in order', descriptor, [
  '# Disk DescriptorFile',
  'RW 2048 FLAT "disk-flat.vmdk" 0',
  'RW 4192256 VMFS "x-flat.vmdk"',
  '  RW 10 SPARSE "s 1.vmdk"',
  'RW 10 VMFSSPARSE "v.vmdk"',
  'RW 10 SESPARSE "se.vmdk"',
], info({ extents: ['disk-flat.vmdk', 'x-flat.vmdk', 's 1.vmdk', 'v.vmdk', 'se.vmdk'] }));
test('extents QEMU skips', descriptor, [
  'RDONLY 2048 SPARSE "ro.vmdk"',
  'NOACCESS 2048 FLAT "none.vmdk" 0',
  'RW 2048 ZERO',
  'RW 0 FLAT "empty.vmdk" 0',
  'RW 2048 VMFSRDM "rdm.vmdk"',
  '# RW 2048 FLAT "comment.vmdk" 0',
], none);
test('parent hint', descriptor, ['parentCID=1234', 'parentFileNameHint="../base dir/base.vmdk"'], info({ backingName: '../base dir/base.vmdk', backingFormat: 'vmdk' }));
test('empty parent hint', descriptor, ['parentFileNameHint=""'], none);
