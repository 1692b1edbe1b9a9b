// What the kernel says about AppArmor: is it on, which profiles are loaded,
// which label a process runs under. Read from files whose roots are
// parameters, so tests point them at temp files.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Paths } from '../config.ts';
import { errnoCode } from '../errors.ts';

export type AppArmorStatus = { readonly enabled: true } | { readonly enabled: false; readonly reason: string };

export const moduleEnabledFile = '/sys/module/apparmor/parameters/enabled';

/** Both checks runc and LXD make: the module says "Y", and securityfs shows its directory. */
export function appArmorEnabled(paths: Pick<Paths, 'securityfs'>, enabledFile = moduleEnabledFile): AppArmorStatus {
  let flag: string;
  try {
    flag = fs.readFileSync(enabledFile, 'utf8').trim();
  } catch (error) {
    return { enabled: false, reason: `${enabledFile} cannot be read (${errnoCode(error)}): the kernel has no AppArmor` };
  }
  if (flag !== 'Y') return { enabled: false, reason: `${enabledFile} reads "${flag}": AppArmor is disabled in the kernel` };
  if (!isDirectory(paths.securityfs)) return { enabled: false, reason: `${paths.securityfs} is not a directory: securityfs is not mounted` };
  return { enabled: true };
}

/** Loaded profiles by name, each with its mode; empty when the list cannot be read (no AppArmor, not root). */
export function loadedProfiles(paths: Pick<Paths, 'securityfs'>): ReadonlyMap<string, string> {
  let text: string;
  try {
    text = fs.readFileSync(path.join(paths.securityfs, 'profiles'), 'utf8');
  } catch {
    return new Map();
  }
  const profiles = new Map<string, string>();
  for (const line of text.split('\n')) {
    // Names may contain spaces and parentheses: the mode is the last "(...)".
    const match = /^(.+) \(([^()]+)\)$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) profiles.set(match[1], match[2]);
  }
  return profiles;
}

/** The AppArmor label of a process (`unconfined`, `name (enforce)`), or undefined when it cannot be read. */
export function processLabel(pid: number, procRoot = '/proc'): string | undefined {
  // attr/apparmor/ is AppArmor's own view (kernel 5.8+); attr/current belongs to whichever LSM is major.
  for (const file of ['attr/apparmor/current', 'attr/current']) {
    try {
      const label = fs.readFileSync(path.join(procRoot, String(pid), file), 'utf8').replace(/^[\s\0]+|[\s\0]+$/g, '');
      return label === '' ? undefined : label;
    } catch {
      // next file
    }
  }
  return undefined;
}

function isDirectory(file: string): boolean {
  try {
    return fs.statSync(file).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The tasks the kernel confines in a domain's profile `libvirt-<uuid>` (or a
 * child of it), in any policy namespace. Only processes whose command line
 * names the UUID are asked for their label (QEMU has `-uuid`, swtpm its state
 * directory): reading another process's label is a ptrace read, which our
 * hook's profile allows for libvirt-* peers only, and anything else would
 * fill the audit log.
 */
export function domainTasks(uuid: string, procRoot = '/proc'): readonly number[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(procRoot);
  } catch {
    return [];
  }
  const ours = new RegExp(`^(:[^:]*:)?libvirt-${uuid}(//[^ ]*)? \\(`);
  return entries
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return fs.readFileSync(path.join(procRoot, pid, 'cmdline'), 'latin1').includes(uuid);
      } catch {
        return false;
      }
    })
    .map(Number)
    .filter((pid) => ours.test(processLabel(pid, procRoot) ?? ''));
}
