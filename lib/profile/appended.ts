// Paths libvirt's AppArmor driver asks the helper to add to a running
// domain's profile (`virt-aa-helper -r -F PATH` or `-f PATH`): a hotplugged
// disk, a new snapshot overlay, a block job's layers, a hostdev node, the
// private directories it creates at start, a restore file. They are libvirt's
// word, like the domain XML, and go through the same policy checks, escaping
// and rendering as every path the XML names.

import type { HostLayout } from '../host/layout.ts';
import { reason, treeAccess, fileAccess, type PathAccess } from './access.ts';

export interface AppendedPath {
  /** The path as libvirt passed it, without a subtree suffix. */
  readonly path: string;
  /** libvirt wrote `DIR/{,**}` (its SetPathLabel with a subtree): the directory and everything below it. */
  readonly subtree: boolean;
}

/** libvirt's own subtree spelling, and the plain `DIR/**` its test suite passes. */
const subtreeSuffixes = ['/{,**}', '/**'] as const;

/** What libvirt passed, read as a path or a directory tree; every other character is literal. */
export function parseAppendedPath(text: string): AppendedPath {
  const suffix = subtreeSuffixes.find((s) => text.endsWith(s) && text.length > s.length);
  return suffix === undefined ? { path: text, subtree: false } : { path: text.slice(0, -suffix.length), subtree: true };
}

export function appendedText(append: AppendedPath): string {
  return append.subtree ? `${append.path}/{,**}` : append.path;
}

/** Why such a rule is there, in the rules file and in an error: no device of the XML asked, libvirt did. */
const appendedReason = reason('libvirt at run time', 'path added with virt-aa-helper -F');

/** libvirt's helper grants every appended path `rwk`; so does ours, after the same checks as any XML path. */
export function appendedAccesses(appends: readonly AppendedPath[]): readonly PathAccess[] {
  return appends.flatMap((append) => (append.subtree ? treeAccess(append.path, 'rwk', appendedReason) : [fileAccess(append.path, 'rwk', appendedReason)]));
}

function under(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

/**
 * Whether an append outlives the next `-r` without a file. libvirt runs that
 * after a device is unplugged, with the XML that no longer names it: a device
 * path (disk image, media, hostdev node, restore file) goes then, because the
 * XML now names everything still attached. What libvirt creates for the
 * running domain and never writes into the XML stays until the domain stops:
 * subtrees (private, channel, hugepage and memory-backing directories) and
 * paths in its per-domain state, run and cache directories (master key,
 * pr-helper and dbus sockets, screenshots). libvirt's own helper drops all of
 * them, which is where its post-unplug denials come from.
 */
export function outlivesReplace(append: AppendedPath, layout: HostLayout): boolean {
  if (append.subtree) return true;
  return [layout.qemuLibDir, layout.qemuRunDir, layout.qemuCacheDir].some((dir) => under(append.path, dir));
}

/** The appends in order, each once. */
export function mergeAppends(...lists: readonly (readonly AppendedPath[])[]): readonly AppendedPath[] {
  const seen = new Map<string, AppendedPath>();
  for (const append of lists.flat()) seen.set(appendedText(append), append);
  return [...seen.values()];
}
