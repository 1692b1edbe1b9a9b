// The name AppArmor matches is the one the kernel arrives at when QEMU opens a
// path: symlinks followed, and `..` taken after them (so `/link/..` is the
// parent of the link's target, not of the link). Only the part that does not
// exist yet (an image QEMU will create) can be normalised lexically. The walk
// goes one name at a time, as the kernel's does, and reports every symlink it
// followed: whoever can write the directory a symlink lives in chooses where
// the path leads.

import * as path from 'node:path';
import type { HostFs } from '../host/host-fs.ts';

/** The kernel's own limit on symlinks followed in one lookup. */
const maxLinkHops = 40;

/** `.`, `..` and `//` collapsed as text; no trailing slash except for "/". */
export function normalizeLexically(p: string): string {
  const normal = path.posix.normalize(p);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}

export interface Resolution {
  /** The path as AppArmor will see it. */
  readonly path: string;
  /** Every symlink followed on the way, as host paths whose directory is already resolved, in order. */
  readonly links: readonly string[];
}

const join = (dir: string, name: string): string => (dir === '/' ? `/${name}` : `${dir}/${name}`);
const names = (p: string): string[] => p.split('/').filter((n) => n !== '' && n !== '.');

/** The path as AppArmor will see it when QEMU opens `hostPath` (which must be absolute), and the symlinks on the way. */
export function resolveWithLinks(hostPath: string, fs: HostFs): Resolution {
  if (!hostPath.startsWith('/')) throw new Error(`cannot resolve "${hostPath}": not an absolute path`);
  const links: string[] = [];
  let done = '/';
  const todo = names(hostPath);
  while (todo.length > 0) {
    const name = todo.shift() ?? '';
    if (name === '..') {
      // The parent of what is resolved so far: `..` comes after the symlinks.
      done = path.posix.dirname(done);
      continue;
    }
    const candidate = join(done, name);
    const entry = fs.lstat(candidate);
    if (entry === undefined) {
      // Nothing there (yet): the rest is text.
      return { path: normalizeLexically([candidate, ...todo].join('/')), links };
    }
    if (entry.type === 'symlink') {
      if (links.length >= maxLinkHops) {
        // The kernel would fail the open with ELOOP; the rule names the path as written.
        return { path: normalizeLexically(hostPath), links };
      }
      let target: string;
      try {
        target = fs.readlink(candidate);
      } catch {
        return { path: normalizeLexically(hostPath), links };
      }
      links.push(candidate);
      if (target.startsWith('/')) done = '/';
      todo.unshift(...names(target));
      continue;
    }
    done = candidate;
    // Below a file the kernel finds nothing (ENOTDIR): the rest is text.
    if (entry.type !== 'directory' && todo.length > 0) return { path: normalizeLexically([done, ...todo].join('/')), links };
  }
  return { path: done, links };
}

/** The path as AppArmor will see it when QEMU opens `hostPath` (which must be absolute). */
export function resolveHostPath(hostPath: string, fs: HostFs): string {
  return resolveWithLinks(hostPath, fs).path;
}
