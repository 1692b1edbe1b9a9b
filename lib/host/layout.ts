// Where libvirt's QEMU driver keeps per-domain runtime files on a system
// instance. None of these paths are in the domain XML the hook receives, so
// they are rebuilt from the name, the id and the UUID, as libvirt does.

import * as path from 'node:path';
import type { PathPart } from '../profile/access.ts';

export interface HostLayout {
  /** libvirt's qemu state under /var/lib (private dirs, nvram, ram, save). */
  readonly qemuLibDir: string;
  /** libvirt's qemu state under /run (pid files, channel dirs, swtpm sockets). */
  readonly qemuRunDir: string;
  readonly qemuLogDir: string;
  readonly qemuCacheDir: string;
  readonly swtpmStateDir: string;
  readonly swtpmLogDir: string;
  /** Where ivshmem servers listen by default. */
  readonly shmemDir: string;
  /** Used when the host has no hugetlbfs mounted at gather time. */
  readonly defaultHugetlbfsMount: string;
}

export const defaultLayout: HostLayout = {
  qemuLibDir: '/var/lib/libvirt/qemu',
  qemuRunDir: '/run/libvirt/qemu',
  qemuLogDir: '/var/log/libvirt/qemu',
  qemuCacheDir: '/var/cache/libvirt/qemu',
  swtpmStateDir: '/var/lib/libvirt/swtpm',
  swtpmLogDir: '/var/log/swtpm/libvirt/qemu',
  shmemDir: '/var/lib/libvirt',
  defaultHugetlbfsMount: '/dev/hugepages',
};

/**
 * Where libvirt keeps per-domain state: every domain's NVRAM, save images,
 * private directories (master keys, monitors), swtpm state, logs and pid
 * files. None of it is ever a disk's backing file.
 */
export function libvirtStateDirs(layout: HostLayout): readonly string[] {
  // The run dir's parent holds libvirt's other daemons' state too (/run/libvirt).
  return [layout.qemuLibDir, path.posix.dirname(layout.qemuRunDir), layout.qemuLogDir, layout.qemuCacheDir, layout.swtpmStateDir, layout.swtpmLogDir];
}

/** libvirt truncates names to 20 characters in per-domain directory names. */
const shortNameLength = 20;

/**
 * libvirt's "short name", `<id>-<name up to 20 characters>`, as path parts.
 * A name strictly shorter than 20 bytes is the whole short name, names are
 * unique on a host, and a longer name is always cut to 20: any id can match
 * without reaching another domain's files, the rules stay the same from one
 * start to the next (a new id each time), and apparmor_parser's cache keeps
 * serving them. From 20 bytes on, another domain's cut name can be this one
 * (`db-replica-east-00012` cut is `db-replica-east-0001`), and only the live
 * id tells their directories apart; without an id (the XML of migrate and
 * restore) there is no variant at all, and the prepare event, which has the
 * id, adds the rules. libvirt counts wide characters when its locale can
 * decode the name and bytes otherwise; for a non-ASCII name both spellings
 * are allowed, the byte one as a prefix since it may cut a character in half.
 */
export function shortNameVariants(id: number | undefined, name: string): readonly (readonly PathPart[])[] {
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length < shortNameLength) return [[{ wildcard: 'domain-id' }, `-${name}`]];
  if (id === undefined) return [];
  const idPart = String(id);
  const byChars = Array.from(name).slice(0, shortNameLength).join('');
  const variants: PathPart[][] = [[idPart, `-${byChars}`]];
  if (bytes.length !== Array.from(name).length) {
    const cut = bytes.subarray(0, shortNameLength).toString('utf8').replace(/\uFFFD+$/, '');
    if (cut !== byChars) variants.push([idPart, `-${cut}`, { wildcard: 'any' }]);
  }
  return variants;
}

/** Whether the rules for libvirt's per-domain directories must wait for the domain's id. */
export function shortNameNeedsId(id: number | undefined, name: string): boolean {
  return shortNameVariants(id, name).length === 0;
}
