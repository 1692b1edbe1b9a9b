// HostFs.openImage (issue 12, finding 10): image headers are read from a
// regular file or a block device opened without following any symlink and
// without blocking, checked with fstat before the first read; a FIFO or a
// character device is never opened. Every fs call of localFs is watched.

import test from 'ava';
import { execFileSync } from 'node:child_process';
import * as nodeFs from 'node:fs';
import tmp from 'tmp';
import { localFs, UnsafeImageError, type FsCalls } from '../../lib/host/host-fs.ts';

const { O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = nodeFs.constants;

interface Watched {
  readonly calls: FsCalls;
  /** "open <path> <flags>", "fstat", "read", "lstat <path>" in order. */
  readonly log: string[];
}

function watched(hooks: { readonly afterLstat?: (path: string) => void } = {}): Watched {
  const log: string[] = [];
  const calls: FsCalls = {
    ...nodeFs,
    openSync: ((path: nodeFs.PathLike, flags?: nodeFs.OpenMode, mode?: nodeFs.Mode) => {
      log.push(`open ${String(path)} ${String(flags)}`);
      return nodeFs.openSync(path, flags ?? "r", mode);
    }) as typeof nodeFs.openSync,
    lstatSync: ((path: nodeFs.PathLike) => {
      log.push(`lstat ${String(path)}`);
      const stats = nodeFs.lstatSync(path);
      hooks.afterLstat?.(String(path));
      return stats;
    }) as typeof nodeFs.lstatSync,
    fstatSync: ((fd: number) => (log.push('fstat'), nodeFs.fstatSync(fd))) as typeof nodeFs.fstatSync,
    readSync: ((fd: number, buffer: NodeJS.ArrayBufferView, offset: number, length: number, position: number | null) => {
      log.push('read');
      return nodeFs.readSync(fd, buffer, offset, length, position);
    }) as typeof nodeFs.readSync,
  };
  return { calls, log };
}

const opens = (log: readonly string[], name: string): readonly string[] => log.filter((l) => l.startsWith('open ') && l.split(' ')[1]?.endsWith(`/${name}`));

function tree(): string {
  const root = nodeFs.realpathSync(tmp.dirSync({ unsafeCleanup: true }).name);
  nodeFs.mkdirSync(`${root}/images/sub`, { recursive: true });
  nodeFs.writeFileSync(`${root}/images/sub/disk.qcow2`, 'QFI\xfb header bytes');
  execFileSync('mkfifo', [`${root}/images/sub/pipe.qcow2`]);
  return root;
}

test('a regular file: every directory and the file opened no-follow, the file non-blocking, fstat before the first read', (t) => {
  const root = tree();
  const { calls, log } = watched();
  const image = localFs(root, calls).openImage('/images/sub/disk.qcow2');
  t.is(image.type, 'file');
  t.is(image.read(0, 3).toString('latin1'), 'QFI');
  image.close();
  const dirOpens = log.filter((l) => l.startsWith('open ') && !l.includes('disk.qcow2')).slice(1);
  t.is(dirOpens.length, 2, log.join('\n'));
  for (const open of dirOpens) t.true((Number(open.split(' ')[2]) & (O_NOFOLLOW | O_DIRECTORY)) === (O_NOFOLLOW | O_DIRECTORY), open);
  const [fileOpen] = opens(log, 'disk.qcow2');
  t.true((Number(fileOpen?.split(' ')[2]) & (O_NOFOLLOW | O_NONBLOCK)) === (O_NOFOLLOW | O_NONBLOCK), fileOpen);
  t.true(log.indexOf('fstat') > log.indexOf(fileOpen ?? ''), 'fstat after open');
  t.true(log.indexOf('fstat') < log.indexOf('read'), 'fstat before the first read');
});

test('a FIFO is looked at, never opened', (t) => {
  const root = tree();
  const { calls, log } = watched();
  t.throws(() => localFs(root, calls).openImage('/images/sub/pipe.qcow2'), { instanceOf: UnsafeImageError, message: 'not a regular file or block device: it is a FIFO' });
  t.deepEqual(opens(log, 'pipe.qcow2'), []);
});

test('a character device (/dev/null) is looked at, never opened', (t) => {
  const { calls, log } = watched();
  t.throws(() => localFs('/', calls).openImage('/dev/null'), { instanceOf: UnsafeImageError, message: 'not a regular file or block device: it is a character device' });
  t.deepEqual(opens(log, 'null'), []);
});

test('a directory swapped for a symlink after resolution is not followed', (t) => {
  const root = tree();
  nodeFs.mkdirSync(`${root}/elsewhere`);
  nodeFs.writeFileSync(`${root}/elsewhere/disk.qcow2`, 'other');
  nodeFs.renameSync(`${root}/images/sub`, `${root}/images/old-sub`);
  nodeFs.symlinkSync('../elsewhere', `${root}/images/sub`);
  const { calls, log } = watched();
  const error = t.throws(() => localFs(root, calls).openImage('/images/sub/disk.qcow2'));
  t.regex((error as NodeJS.ErrnoException).code ?? '', /^(ENOTDIR|ELOOP)$/);
  t.deepEqual(opens(log, 'disk.qcow2'), []);
});

test('a file swapped for a symlink between lstat and open is not followed', (t) => {
  const root = tree();
  const swap = (path: string): void => {
    if (!path.endsWith('/disk.qcow2')) return;
    nodeFs.renameSync(`${root}/images/sub/disk.qcow2`, `${root}/images/sub/moved.qcow2`);
    nodeFs.symlinkSync('pipe.qcow2', `${root}/images/sub/disk.qcow2`);
  };
  const { calls } = watched({ afterLstat: swap });
  const error = t.throws(() => localFs(root, calls).openImage('/images/sub/disk.qcow2'));
  t.is((error as NodeJS.ErrnoException).code, 'ELOOP');
});

test('a file replaced by another between lstat and open is refused before any read', (t) => {
  const root = tree();
  const swap = (path: string): void => {
    if (!path.endsWith('/disk.qcow2')) return;
    nodeFs.renameSync(`${root}/images/sub/disk.qcow2`, `${root}/images/sub/moved.qcow2`);
    nodeFs.writeFileSync(`${root}/images/sub/disk.qcow2`, 'another file');
  };
  const { calls, log } = watched({ afterLstat: swap });
  t.throws(() => localFs(root, calls).openImage('/images/sub/disk.qcow2'), { instanceOf: UnsafeImageError, message: 'it was replaced while being opened' });
  t.false(log.includes('read'));
});

test('lstat reports the type, mode and owner, and says nothing for what is not there', (t) => {
  const root = tree();
  const fs = localFs(root);
  nodeFs.chmodSync(`${root}/images/sub`, 0o1777);
  t.like(fs.lstat('/images/sub'), { type: 'directory', mode: 0o1777, uid: process.getuid?.() });
  t.like(fs.lstat('/images/sub/pipe.qcow2'), { type: 'fifo' });
  t.is(fs.lstat('/images/none'), undefined);
  t.is(fs.lstat('/images/sub/disk.qcow2/below'), undefined, 'ENOTDIR');
});
