import test from 'ava';
import { execFileSync } from 'node:child_process';
import * as nodeFs from 'node:fs';
import * as path from 'node:path';
import tmp from 'tmp';
import { qcow2Bytes } from '../helpers/qcow2.ts';
import { localFs, type HostFs } from '../../lib/host/host-fs.ts';
import { chainKey, maxChainDepth, readImageChain, type ChainLayer, type ImageChain } from '../../lib/storage/chain.ts';
import { resolveHostPath } from '../../lib/storage/resolve.ts';

const root = nodeFs.realpathSync(tmp.dirSync({ unsafeCleanup: true }).name);
const fs = localFs(root);
const inRoot = (name: string): string => path.join(root, name);

function qemuImg(cwd: string, ...args: string[]): void {
  execFileSync('qemu-img', args, { cwd: inRoot(cwd), stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A qcow2 header naming a qcow2 backing file: qemu-img is too slow for 1,000 of them. */
const qcow2Header = (backingName: string): Buffer => qcow2Bytes({ backingName, backingFormat: 'qcow2' });

/** A layer as the chain reports it; its type is what the test root holds at that path now. */
const layer = (path: string, format: string | undefined, depth: number, namedBy: string, role: ChainLayer['role'] = 'backing'): ChainLayer => ({
  path,
  format,
  role,
  depth,
  namedBy,
  type: fs.lstat(resolveHostPath(path, fs))?.type,
});
const chain = (fields: Partial<ImageChain>): ImageChain => ({ layers: [], remote: [], unprobed: [], problem: undefined, ...fields });

// Built at load time, as the tests below only read.
for (const dir of ['vm', 'images/base', 'store', 'links', 'deep', 'misc']) nodeFs.mkdirSync(inRoot(dir), { recursive: true });
nodeFs.writeFileSync(inRoot('images/base/root.raw'), Buffer.alloc(1024 * 1024));
qemuImg('images/base', 'create', '-f', 'qcow2', '-b', 'root.raw', '-F', 'raw', 'base.qcow2');
qemuImg('images', 'create', '-f', 'qcow2', '-b', 'base/base.qcow2', '-F', 'qcow2', 'mid.qcow2');
qemuImg('vm', 'create', '-f', 'qcow2', '-b', '../images/mid.qcow2', '-F', 'qcow2', 'top.qcow2');

test('a 3-deep chain with relative names, each against the image that names it', (t) => {
  t.deepEqual(readImageChain('/vm/top.qcow2', 'qcow2', fs), chain({
    layers: [
      layer('/vm/../images/mid.qcow2', 'qcow2', 1, '/vm/top.qcow2'),
      layer('/vm/../images/base/base.qcow2', 'qcow2', 2, '/vm/../images/mid.qcow2'),
      layer('/vm/../images/base/root.raw', 'raw', 3, '/vm/../images/base/base.qcow2'),
    ],
  }));
});

test('a relative name is taken beside the image as given, not beside its realpath', (t) => {
  qemuImg('store', 'create', '-f', 'qcow2', '-u', '-b', 'base.qcow2', '-F', 'qcow2', 'top.qcow2', '1M');
  nodeFs.symlinkSync('../store/top.qcow2', inRoot('links/top.qcow2'));
  t.deepEqual(readImageChain('/links/top.qcow2', 'qcow2', fs).layers, [layer('/links/base.qcow2', 'qcow2', 1, '/links/top.qcow2')]);
});

test('a backing file in /etc is listed (refusing it is policy\'s job)', (t) => {
  qemuImg('misc', 'create', '-f', 'qcow2', '-u', '-b', '/etc/shadow', '-F', 'raw', 'shadow.qcow2', '1M');
  t.deepEqual(readImageChain('/misc/shadow.qcow2', 'qcow2', fs), chain({ layers: [layer('/etc/shadow', 'raw', 1, '/misc/shadow.qcow2')] }));
});

test('a loop a -> b -> a', (t) => {
  qemuImg('misc', 'create', '-f', 'qcow2', 'a.qcow2', '1M');
  qemuImg('misc', 'create', '-f', 'qcow2', '-b', 'a.qcow2', '-F', 'qcow2', 'b.qcow2');
  qemuImg('misc', 'rebase', '-u', '-b', 'b.qcow2', '-F', 'qcow2', 'a.qcow2');
  t.deepEqual(readImageChain('/misc/a.qcow2', 'qcow2', fs), chain({
    layers: [layer('/misc/b.qcow2', 'qcow2', 1, '/misc/a.qcow2')],
    problem: { kind: 'loop', path: '/misc/a.qcow2' },
  }));
});

test('a loop through a symlink to the top image', (t) => {
  nodeFs.symlinkSync('self.qcow2', inRoot('misc/alias.qcow2'));
  qemuImg('misc', 'create', '-f', 'qcow2', '-u', '-b', 'alias.qcow2', '-F', 'qcow2', 'self.qcow2', '1M');
  t.deepEqual(readImageChain('/misc/self.qcow2', 'qcow2', fs).problem, { kind: 'loop', path: '/misc/alias.qcow2' });
});

test('a 1,000-deep chain stops at the limit with exactly that many layers', (t) => {
  for (let i = 0; i < 1000; i += 1) nodeFs.writeFileSync(inRoot(`deep/${i}.qcow2`), qcow2Header(`${i + 1}.qcow2`));
  const deep = readImageChain('/deep/0.qcow2', 'qcow2', fs);
  t.is(deep.layers.length, maxChainDepth);
  t.deepEqual(deep.layers.at(-1), layer('/deep/200.qcow2', 'qcow2', 200, '/deep/199.qcow2'));
  t.deepEqual(deep.problem, { kind: 'too-deep', path: '/deep/201.qcow2', limit: 200 });
  const shallow = readImageChain('/deep/0.qcow2', 'qcow2', fs, 5);
  t.is(shallow.layers.length, 5);
  t.deepEqual(shallow.problem, { kind: 'too-deep', path: '/deep/6.qcow2', limit: 5 });
});

const remote = test.macro({
  exec(t, file: string, name: string) {
    qemuImg('misc', 'create', '-f', 'qcow2', '-u', '-b', name, '-F', 'raw', file, '1M');
    t.deepEqual(readImageChain(`/misc/${file}`, 'qcow2', fs), chain({ remote: [{ name, namedBy: `/misc/${file}` }] }));
  },
  title: (_provided, _file: string, name: string) => `a remote backing ${name}`,
});

test(remote, 'nbd.qcow2', 'nbd://localhost:10809/export');
test(remote, 'rbd.qcow2', 'rbd:pool/image');
test(remote, 'json.qcow2', 'json:{"driver":"file","filename":"/etc/passwd"}');

test('a file: backing name is a local path', (t) => {
  qemuImg('misc', 'create', '-f', 'qcow2', '-u', '-b', 'file:local.raw', '-F', 'raw', 'file-prefix.qcow2', '1M');
  t.deepEqual(readImageChain('/misc/file-prefix.qcow2', 'qcow2', fs).layers, [layer('/misc/local.raw', 'raw', 1, '/misc/file-prefix.qcow2')]);
});

test('a missing backing file is still a layer', (t) => {
  qemuImg('misc', 'create', '-f', 'qcow2', '-u', '-b', 'gone.qcow2', '-F', 'qcow2', 'orphan.qcow2', '1M');
  t.deepEqual(readImageChain('/misc/orphan.qcow2', 'qcow2', fs), chain({ layers: [layer('/misc/gone.qcow2', 'qcow2', 1, '/misc/orphan.qcow2')] }));
});

test('a backing file of unrecorded format is granted but never probed', (t) => {
  // The guest wrote a qcow2 header into its raw disk, naming a host file.
  nodeFs.writeFileSync(inRoot('misc/guest.img'), qcow2Header('/etc/passwd'));
  qemuImg('misc', 'create', '-f', 'qcow2', '-F', 'qcow2', '-u', '-b', 'guest.img', 'over-guest.qcow2', '1M');
  const image = inRoot('misc/over-guest.qcow2');
  const bytes = nodeFs.readFileSync(image);
  bytes.writeUInt32BE(0x0badf00d, bytes.indexOf(Buffer.from('e2792aca', 'hex')));
  nodeFs.writeFileSync(image, bytes);
  t.deepEqual(readImageChain('/misc/over-guest.qcow2', 'qcow2', fs), chain({
    layers: [layer('/misc/guest.img', undefined, 1, '/misc/over-guest.qcow2')],
    unprobed: ['/misc/guest.img'],
  }));
});

test('a header that cannot be parsed ends the chain with the reason', (t) => {
  nodeFs.writeFileSync(inRoot('misc/junk.qcow2'), 'not an image');
  qemuImg('misc', 'create', '-f', 'qcow2', '-u', '-b', 'junk.qcow2', '-F', 'qcow2', 'over-junk.qcow2', '1M');
  t.deepEqual(readImageChain('/misc/over-junk.qcow2', 'qcow2', fs), chain({
    layers: [layer('/misc/junk.qcow2', 'qcow2', 1, '/misc/over-junk.qcow2')],
    problem: { kind: 'unreadable', path: '/misc/junk.qcow2', message: 'cannot read qcow2 header of "/misc/junk.qcow2": truncated qcow2 header: 12 bytes, need 72' },
  }));
});

test('data files and extents carry the depth of the image that names them', (t) => {
  qemuImg('misc', 'create', '-f', 'vmdk', '-o', 'subformat=monolithicFlat', 'flat.vmdk', '1M');
  qemuImg('misc', 'create', '-f', 'vmdk', '-b', 'flat.vmdk', '-F', 'vmdk', 'sparse.vmdk');
  qemuImg('misc', 'create', '-f', 'qcow2', '-o', 'data_file=top.data', 'with-data.qcow2', '1M');
  t.deepEqual(readImageChain('/misc/sparse.vmdk', 'vmdk', fs), chain({
    layers: [layer('/misc/flat.vmdk', 'vmdk', 1, '/misc/sparse.vmdk'), layer('/misc/flat-flat.vmdk', undefined, 1, '/misc/flat.vmdk', 'extent')],
  }));
  t.deepEqual(readImageChain('/misc/flat.vmdk', 'vmdk', fs).layers, [layer('/misc/flat-flat.vmdk', undefined, 0, '/misc/flat.vmdk', 'extent')]);
  t.deepEqual(readImageChain('/misc/with-data.qcow2', 'qcow2', fs).layers, [layer('/misc/top.data', 'raw', 0, '/misc/with-data.qcow2', 'data-file')]);
});

test('the top image is read only for its declared format', (t) => {
  const reads: string[] = [];
  const spy: HostFs = { ...fs, openImage: (p) => (reads.push(p), fs.openImage(p)) };
  t.deepEqual(readImageChain('/vm/top.qcow2', 'raw', spy), chain({}));
  t.deepEqual(reads, []);
});

test('chain keys tell formats apart', (t) => {
  t.not(chainKey('/vm/top.qcow2', 'qcow2'), chainKey('/vm/top.qcow2', 'raw'));
  t.is(chainKey('/a', 'qcow2'), chainKey('/a', 'qcow2'));
});

// Issue 12, finding 1: what a header names is looked at (lstat, symlinks
// followed) and never read further unless it is a regular file.
test('a layer that is not a regular file ends the chain, unread, with its type', (t) => {
  execFileSync('mkfifo', [inRoot('misc/fifo.img')]);
  qemuImg('misc', 'create', '-f', 'qcow2', '-u', '-b', 'fifo.img', '-F', 'qcow2', 'fifo-top.qcow2', '1M');
  const opened: string[] = [];
  const spy: HostFs = { ...fs, openImage: (p) => (opened.push(p), fs.openImage(p)) };
  const result = readImageChain('/misc/fifo-top.qcow2', 'qcow2', spy);
  t.like(result.layers[0], { path: '/misc/fifo.img', type: 'fifo', role: 'backing', depth: 1 });
  t.is(result.layers.length, 1);
  t.deepEqual(opened, ['/misc/fifo-top.qcow2'], 'the FIFO is never opened');

  qemuImg('misc', 'create', '-f', 'qcow2', '-u', '-b', '/dev/vg0/base', '-F', 'qcow2', 'lv-top.qcow2', '1M');
  const asBlock: HostFs = { ...fs, lstat: (p) => (p === '/dev/vg0/base' ? { type: 'block', mode: 0o660, uid: 0, gid: 6 } : fs.lstat(p)), openImage: (p) => (opened.push(p), fs.openImage(p)) };
  t.like(readImageChain('/misc/lv-top.qcow2', 'qcow2', asBlock).layers[0], { path: '/dev/vg0/base', type: 'block' });
  t.false(opened.includes('/dev/vg0/base'));
});

test('a layer that is not there yet has no type', (t) => {
  qemuImg('misc', 'create', '-f', 'qcow2', '-u', '-b', 'nowhere.qcow2', '-F', 'qcow2', 'dangling-top.qcow2', '1M');
  t.like(readImageChain('/misc/dangling-top.qcow2', 'qcow2', fs).layers[0], { path: '/misc/nowhere.qcow2', type: undefined });
});
