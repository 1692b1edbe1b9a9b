// The name AppArmor matches is the one the kernel arrives at when QEMU opens a
// path: symlinks followed, and `..` taken after them (so `/link/..` is the
// parent of the link's target, not of the link). Only the part that does not
// exist yet (an image QEMU will create) can be normalised lexically.

import * as path from 'node:path';
import type { HostFs } from '../host/host-fs.ts';

/** The kernel's own limit on symlinks followed in one lookup. */
const maxLinkHops = 40;

/** `.`, `..` and `//` collapsed as text; no trailing slash except for "/". */
export function normalizeLexically(p: string): string {
  const normal = path.posix.normalize(p);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}

type Step =
  | { readonly kind: 'resolved'; readonly path: string }
  | { readonly kind: 'link'; readonly path: string }
  | { readonly kind: 'give-up' };

function errorCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
}

function isSymlink(hostPath: string, fs: HostFs): boolean {
  try {
    return fs.lstat(hostPath)?.isSymbolicLink === true;
  } catch {
    // ENOTDIR and friends: nothing is there to follow.
    return false;
  }
}

/** realpath of the longest existing prefix plus the rest, or the next hop through a dangling link. */
function resolveOnce(current: string, fs: HostFs, mayFollow: boolean): Step {
  const parts = current.split('/').filter((part) => part !== '');
  for (let end = parts.length; end > 0; end -= 1) {
    const prefix = `/${parts.slice(0, end).join('/')}`;
    const tail = parts.slice(end).join('/');
    try {
      return { kind: 'resolved', path: normalizeLexically(`${fs.realpath(prefix)}/${tail}`) };
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ELOOP') return { kind: 'give-up' };
      // EACCES: a root-squashed NFS directory still has a resolvable prefix above it.
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EACCES') throw error;
    }
    if (isSymlink(prefix, fs)) {
      if (!mayFollow) return { kind: 'give-up' };
      let target: string;
      try {
        target = fs.readlink(prefix);
      } catch {
        return { kind: 'give-up' };
      }
      const base = target.startsWith('/') ? '' : `/${parts.slice(0, end - 1).join('/')}`;
      return { kind: 'link', path: `${base}/${target}/${tail}` };
    }
  }
  return { kind: 'resolved', path: normalizeLexically(current) };
}

/** The path as AppArmor will see it when QEMU opens `hostPath` (which must be absolute). */
export function resolveHostPath(hostPath: string, fs: HostFs): string {
  if (!hostPath.startsWith('/')) throw new Error(`cannot resolve "${hostPath}": not an absolute path`);
  let current = hostPath;
  for (let hops = 0; ; hops += 1) {
    const step = resolveOnce(current, fs, hops < maxLinkHops);
    if (step.kind === 'resolved') return step.path;
    if (step.kind === 'give-up') return normalizeLexically(hostPath);
    current = step.path;
  }
}
