// The only window synthesis has onto the host's file system. Everything goes
// through a root directory so tests can point it at a temp tree; on a host the
// root is "/". Paths given and returned are always host-absolute.

import * as nodeFs from 'node:fs';
import * as path from 'node:path';

export type EntryType = 'file' | 'directory' | 'symlink' | 'block' | 'character' | 'fifo' | 'socket';

export interface EntryInfo {
  readonly type: EntryType;
  /** Permission bits with setuid, setgid and sticky (st_mode & 07777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

/** An image opened for its header: a regular file or a block device, and nothing else. */
export interface ImageFile {
  readonly type: 'file' | 'block';
  /** Up to `length` bytes from `offset`; fewer at the end of the file. */
  read(offset: number, length: number): Buffer;
  close(): void;
}

/** What `openImage` refuses to open, or found changed under it. */
export class UnsafeImageError extends Error {
  override readonly name = 'UnsafeImageError';
}

export interface HostFs {
  /** realpath(3) of an existing path; throws the errno error otherwise. */
  realpath(hostPath: string): string;
  /**
   * lstat without following a final symlink; undefined if nothing is there or
   * it cannot be looked at (ENOENT, ENOTDIR, EACCES); other errors throw.
   */
  lstat(hostPath: string): EntryInfo | undefined;
  readlink(hostPath: string): string;
  /**
   * Opens `hostPath`, which must already be resolved (no symlink in it), for
   * reading an image header. No symlink is followed on the way, so nothing
   * swapped in after resolution is reached; the entry must be a regular file
   * or a block device before it is opened (a FIFO would block the hook, and
   * opening a character device such as /dev/watchdog has effects), and the
   * descriptor must still be that entry after (fstat). Throws
   * UnsafeImageError, or the errno error.
   */
  openImage(hostPath: string): ImageFile;
  /** A whole small text file, or undefined when it cannot be read. */
  readText(hostPath: string): string | undefined;
  /** Entry names of a directory, or [] when it cannot be read. */
  readdir(hostPath: string): readonly string[];
}

function typeOf(stats: nodeFs.Stats): EntryType {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'directory';
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isBlockDevice()) return 'block';
  if (stats.isCharacterDevice()) return 'character';
  if (stats.isFIFO()) return 'fifo';
  return 'socket';
}

function info(stats: nodeFs.Stats): EntryInfo {
  return { type: typeOf(stats), mode: stats.mode & 0o7777, uid: stats.uid, gid: stats.gid };
}

const describeType: { readonly [T in EntryType]: string } = {
  file: 'a regular file',
  directory: 'a directory',
  symlink: 'a symbolic link',
  block: 'a block device',
  character: 'a character device',
  fifo: 'a FIFO',
  socket: 'a socket',
};

export function entryTypeText(type: EntryType): string {
  return describeType[type];
}

const errnoOf = (error: unknown): unknown => (typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined);

/**
 * Linux's O_PATH (not in Node's constants): a directory handle that needs no
 * read permission and opens nothing. The same value on every architecture
 * Debian runs libvirt on except alpha, parisc and sparc.
 */
const O_PATH = 0o10000000;

/** The node fs calls localFs makes, replaceable so tests can watch every open. */
export type FsCalls = Pick<typeof nodeFs, 'realpathSync' | 'lstatSync' | 'readlinkSync' | 'openSync' | 'fstatSync' | 'readSync' | 'closeSync' | 'readFileSync' | 'readdirSync'>;

export function localFs(root = '/', calls: FsCalls = nodeFs): HostFs {
  const base = path.resolve(root);
  // Plain concatenation: path.join would fold `..` as text, before the kernel sees symlinks.
  const onHost = (hostPath: string): string => (base === '/' ? hostPath : `${base}${hostPath}`);
  const fromHost = (real: string): string => {
    if (base === '/') return real;
    if (real === base) return '/';
    // A symlink that leaves the test root names a real host path: keep it as such.
    return real.startsWith(`${base}/`) ? real.slice(base.length) : real;
  };

  /**
   * One directory at a time, each opened with O_NOFOLLOW from the previous
   * one's descriptor (through /proc/self/fd, Node has no openat): a
   * directory swapped for a symlink after resolution is not followed.
   */
  function openImage(hostPath: string): ImageFile {
    const names = hostPath.split('/').filter((n) => n !== '');
    const last = names.pop();
    if (last === undefined || names.includes('..') || names.includes('.') || last === '..' || last === '.') throw new UnsafeImageError(`"${hostPath}" is not a resolved path to a file`);
    let dir = calls.openSync(base, O_PATH | nodeFs.constants.O_DIRECTORY);
    let fd: number | undefined;
    try {
      for (const name of names) {
        const next = calls.openSync(`/proc/self/fd/${dir}/${name}`, O_PATH | nodeFs.constants.O_DIRECTORY | nodeFs.constants.O_NOFOLLOW);
        calls.closeSync(dir);
        dir = next;
      }
      const entry = `/proc/self/fd/${dir}/${last}`;
      const before = calls.lstatSync(entry);
      const type = typeOf(before);
      if (type !== 'file' && type !== 'block') throw new UnsafeImageError(`not a regular file or block device: it is ${describeType[type]}`);
      fd = calls.openSync(entry, nodeFs.constants.O_RDONLY | nodeFs.constants.O_NOFOLLOW | nodeFs.constants.O_NONBLOCK | nodeFs.constants.O_NOCTTY);
      const after = calls.fstatSync(fd);
      if (after.dev !== before.dev || after.ino !== before.ino || typeOf(after) !== type) throw new UnsafeImageError('it was replaced while being opened');
      const opened = fd;
      fd = undefined;
      return {
        type,
        read: (offset, length) => {
          const buffer = Buffer.alloc(length);
          const count = calls.readSync(opened, buffer, 0, length, offset);
          return buffer.subarray(0, count);
        },
        close: () => calls.closeSync(opened),
      };
    } finally {
      if (fd !== undefined) calls.closeSync(fd);
      calls.closeSync(dir);
    }
  }

  return {
    realpath: (hostPath) => fromHost(calls.realpathSync.native(onHost(hostPath))),
    lstat: (hostPath) => {
      try {
        return info(calls.lstatSync(onHost(hostPath)));
      } catch (error) {
        const code = errnoOf(error);
        if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES' || code === 'ENAMETOOLONG') return undefined;
        throw error;
      }
    },
    readlink: (hostPath) => calls.readlinkSync(onHost(hostPath), 'utf8'),
    openImage,
    readText: (hostPath) => {
      try {
        return calls.readFileSync(onHost(hostPath), 'utf8');
      } catch {
        return undefined;
      }
    },
    readdir: (hostPath) => {
      try {
        return calls.readdirSync(onHost(hostPath));
      } catch {
        return [];
      }
    },
  };
}
