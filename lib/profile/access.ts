// What a resource module asks for: host paths with permissions, static
// snippets from apparmor.d, and notices about what cannot be confined. Each
// carries the reason (the device that asked), so every rule can explain itself.

/** AARE wildcards our rules may use; everything else in a path is literal. */
export type Wildcard =
  /** `*`: any characters within one path component */
  | 'any'
  /** `**`: anything, across components */
  | 'anypath'
  /** one to ten decimal digits: a domain id not yet known (no `id` in the XML) */
  | 'domain-id';

export type PathPart = string | { readonly wildcard: Wildcard };

/** Permission letters in canonical order, e.g. "rwk", "r", "rmix". */
export type Perms = string;

export interface Reason {
  /** The element that asked, e.g. "disk 'vda'", "domain", "tpm #0". */
  readonly device: string;
  /** What about it, e.g. "image", "backing file (depth 1)". */
  readonly detail: string;
}

/**
 * Where a path came from. `xml`: written in the domain XML; `image`: named by
 * an image header (a backing file, an external data file): policy checks both.
 * `derived`: built by us from libvirt's layout or host facts (runtime
 * directories, /dev/vfio groups, sysfs nodes).
 */
export type Origin = 'xml' | 'image' | 'derived';

/** Helpers that libvirt starts inside the VM's profile and that run in a child profile of their own. */
export type ChildProfile = 'passt';

export interface PathAccess {
  readonly kind: 'path';
  readonly parts: readonly PathPart[];
  readonly perms: Perms;
  readonly origin: Origin;
  readonly reason: Reason;
  /** Granted to this child profile instead of QEMU's. */
  readonly child?: ChildProfile;
}

/** Static snippets shipped in apparmor.d/abstractions/virt-aa-hook/. */
export const snippetNames = [
  'audio-alsa',
  'audio-jack',
  'audio-oss',
  'audio-pipewire',
  'audio-pulseaudio',
  'ceph',
  'gl',
  'nameservice',
  'passt',
  'passt-child',
  'rawio',
  'swtpm',
  'tls',
  'usb',
  'vfio',
  'x11',
] as const;
export type SnippetName = (typeof snippetNames)[number];

export interface SnippetAccess {
  readonly kind: 'snippet';
  readonly name: SnippetName;
  readonly reason: Reason;
}

/** Something the profile cannot cover, said out loud instead of silently. */
export interface Notice {
  readonly kind: 'notice';
  readonly message: string;
  readonly reason: Reason;
}

export type Access = PathAccess | SnippetAccess | Notice;

const permOrder = 'rwmklix';

export function canonicalPerms(perms: string): Perms {
  for (const letter of perms) {
    if (!permOrder.includes(letter)) throw new Error(`unknown permission letter "${letter}" in "${perms}"`);
  }
  return [...permOrder].filter((letter) => perms.includes(letter)).join('');
}

export function mergePerms(a: Perms, b: Perms): Perms {
  return canonicalPerms(a + b);
}

export function reason(device: string, detail: string): Reason {
  return { device, detail };
}

export function fileAccess(path: string, perms: string, why: Reason, origin: Origin = 'xml'): PathAccess {
  return { kind: 'path', parts: [path], perms: canonicalPerms(perms), origin, reason: why };
}

/** A directory and everything below it: `dir/ r` plus `dir/** perms`. */
export function treeAccess(dir: string, perms: string, why: Reason, origin: Origin = 'xml'): readonly PathAccess[] {
  const base = dir.endsWith('/') && dir !== '/' ? dir.slice(0, -1) : dir;
  return treePattern([base], perms, why, origin);
}

/** The same for a directory named by pattern parts (without a trailing slash). */
export function treePattern(parts: readonly PathPart[], perms: string, why: Reason, origin: Origin = 'derived'): readonly PathAccess[] {
  return [patternAccess([...parts, '/'], 'r', why, origin), patternAccess([...parts, '/', { wildcard: 'anypath' }], perms, why, origin)];
}

export function patternAccess(parts: readonly PathPart[], perms: string, why: Reason, origin: Origin = 'derived'): PathAccess {
  return { kind: 'path', parts, perms: canonicalPerms(perms), origin, reason: why };
}

export function snippet(name: SnippetName, why: Reason): SnippetAccess {
  return { kind: 'snippet', name, reason: why };
}

export function notice(message: string, why: Reason): Notice {
  return { kind: 'notice', message, reason: why };
}
