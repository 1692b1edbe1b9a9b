// The only window synthesis has onto the host's file system. Everything goes
// through a root directory so tests can point it at a temp tree; on a host the
// root is "/". Paths given and returned are always host-absolute.

import * as fs from 'node:fs';
import * as path from 'node:path';

export interface EntryInfo {
  readonly isFile: boolean;
  readonly isDirectory: boolean;
  readonly isSymbolicLink: boolean;
  readonly isBlockDevice: boolean;
}

export interface HostFs {
  /** realpath(3) of an existing path; throws the errno error otherwise. */
  realpath(hostPath: string): string;
  /** lstat without following a final symlink; undefined if nothing is there. */
  lstat(hostPath: string): EntryInfo | undefined;
  /** stat following symlinks; undefined if nothing is there. */
  stat(hostPath: string): EntryInfo | undefined;
  readlink(hostPath: string): string;
  /** Up to `length` bytes from `offset`; fewer at the end of the file. */
  read(hostPath: string, offset: number, length: number): Buffer;
  /** A whole small text file, or undefined when it cannot be read. */
  readText(hostPath: string): string | undefined;
  /** Entry names of a directory, or [] when it cannot be read. */
  readdir(hostPath: string): readonly string[];
}

function info(stats: fs.Stats): EntryInfo {
  return {
    isFile: stats.isFile(),
    isDirectory: stats.isDirectory(),
    isSymbolicLink: stats.isSymbolicLink(),
    isBlockDevice: stats.isBlockDevice(),
  };
}

export function localFs(root = '/'): HostFs {
  const base = path.resolve(root);
  // Plain concatenation: path.join would fold `..` as text, before the kernel sees symlinks.
  const onHost = (hostPath: string): string => (base === '/' ? hostPath : `${base}${hostPath}`);
  const fromHost = (real: string): string => {
    if (base === '/') return real;
    if (real === base) return '/';
    // A symlink that leaves the test root names a real host path: keep it as such.
    return real.startsWith(`${base}/`) ? real.slice(base.length) : real;
  };
  return {
    realpath: (hostPath) => fromHost(fs.realpathSync.native(onHost(hostPath))),
    lstat: (hostPath) => {
      try {
        return info(fs.lstatSync(onHost(hostPath)));
      } catch {
        return undefined;
      }
    },
    stat: (hostPath) => {
      try {
        return info(fs.statSync(onHost(hostPath)));
      } catch {
        return undefined;
      }
    },
    readlink: (hostPath) => fs.readlinkSync(onHost(hostPath)),
    read: (hostPath, offset, length) => {
      const fd = fs.openSync(onHost(hostPath), fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      try {
        const buffer = Buffer.alloc(length);
        const count = fs.readSync(fd, buffer, 0, length, offset);
        return buffer.subarray(0, count);
      } finally {
        fs.closeSync(fd);
      }
    },
    readText: (hostPath) => {
      try {
        return fs.readFileSync(onHost(hostPath), 'utf8');
      } catch {
        return undefined;
      }
    },
    readdir: (hostPath) => {
      try {
        return fs.readdirSync(onHost(hostPath));
      } catch {
        return [];
      }
    },
  };
}
