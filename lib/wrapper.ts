// The emulator wrappers: scripts/qemu-wrapper with the real emulator's path
// filled in. Named exactly like the emulators and kept in one directory that
// goes first in the libvirt daemon's PATH (libvirt finds the emulator of a
// domain defined without <emulator> by searching its PATH only), so every new
// domain names a wrapper. Pure: names, paths and text; lib/cli/setup.ts
// writes them.

import * as path from 'node:path';
import { UsageError, oneLine } from './errors.ts';

const placeholder = '@REAL_EMULATOR@';

/** The file names of the per-domain wrappers of earlier versions (`virt-aa-hook.qemu-system-x86_64`), still recognised. */
export const legacyWrapperPrefix = 'virt-aa-hook.';

/** Below the emulator directory: wrappers of emulators outside the daemon's PATH, at their own path (`by-path/opt/qemu/bin/qemu-system-x86_64`). */
export const byPathDir = 'by-path';

/**
 * The PATH a libvirt daemon gets from systemd (and, through our line, from
 * Debian's sysv init script): where libvirt finds `qemu-system-<arch>`. The
 * real emulator a wrapper of a name stands for is the first one found here,
 * exactly the one libvirt would find without us.
 */
export const daemonSearchPath: readonly string[] = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** RHEL's qemu-kvm lives outside PATH, where libvirt looks for it by absolute path. */
const libexecEmulator = '/usr/libexec/qemu-kvm';

/** The names libvirt looks for (`qemu-system-<arch>`), their variants (`qemu-system-x86_64-microvm`), and `qemu-kvm`. */
export function isEmulatorName(name: string): boolean {
  return /^qemu-system-[A-Za-z0-9_.+-]+$/.test(name) || name === 'qemu-kvm';
}

/** Emulator name to the real emulator a wrapper of that name execs. */
export type EmulatorSet = ReadonlyMap<string, string>;

/**
 * The emulators of a host, from what its directories hold: per name, the
 * first executable in the daemon's search path, and /usr/libexec/qemu-kvm.
 */
export function emulatorSet(listDir: (dir: string) => readonly string[], isExecutable: (file: string) => boolean): EmulatorSet {
  const result = new Map<string, string>();
  for (const dir of daemonSearchPath) {
    for (const name of [...listDir(dir)].sort()) {
      const file = `${dir}/${name}`;
      if (!result.has(name) && isEmulatorName(name) && isExecutable(file)) result.set(name, file);
    }
  }
  if (!result.has('qemu-kvm') && isExecutable(libexecEmulator)) result.set('qemu-kvm', libexecEmulator);
  return result;
}

/** The path lands between single quotes in a shell script and in a file name: refuse what could break out. */
function checkEmulatorPath(realEmulator: string): void {
  const refuse = (reason: string): never => {
    throw new UsageError(`cannot wrap emulator "${oneLine(realEmulator)}": ${reason}`);
  };
  if (!path.posix.isAbsolute(realEmulator) || path.posix.normalize(realEmulator) !== realEmulator || realEmulator.endsWith('/')) {
    refuse('not an absolute, normalised path');
  }
  // eslint-disable-next-line no-control-regex
  if (/['\u0000-\u001f\u007f]/.test(realEmulator)) refuse('it contains a single quote or a control character');
  if (path.posix.basename(realEmulator).startsWith(legacyWrapperPrefix)) refuse('it is a virt-aa-hook wrapper itself');
}

/** The wrapper script for `realEmulator`, from the template text. */
export function renderWrapper(template: string, realEmulator: string): string {
  checkEmulatorPath(realEmulator);
  const parts = template.split(placeholder);
  if (parts.length !== 2) throw new Error(`cannot render the emulator wrapper: the template holds ${parts.length - 1} ${placeholder} markers, expected 1`);
  return parts.join(realEmulator);
}

/** The real emulator a wrapper's text execs (its `real='...'` line), or undefined for any other file. */
export function wrappedEmulator(text: string): string | undefined {
  if (!text.startsWith('#!/bin/sh\n# virt-aa-hook emulator wrapper')) return undefined;
  return /^real='([^'\n]*)'$/m.exec(text)?.[1];
}

/** Whether an <emulator> is a wrapper of ours: one in the emulator directory, or a per-domain one of earlier versions. */
export function isWrapperPath(emulator: string, paths: { readonly emulatorDir: string; readonly wrapperDir: string }): boolean {
  return emulator.startsWith(`${paths.emulatorDir}/`) || emulator.startsWith(`${paths.wrapperDir}/${legacyWrapperPrefix}`);
}

/**
 * Where the wrapper of `realEmulator` is: `<dir>/<name>` for the emulator the
 * daemon's PATH finds under that name, `<dir>/by-path<realEmulator>` for any
 * other (a build in /opt, the /usr/bin one where /usr/local/bin has its own),
 * so two emulators never share a wrapper and no PATH lookup finds the latter.
 */
export function wrapperPathFor(emulatorDir: string, realEmulator: string, emulators: EmulatorSet): string {
  checkEmulatorPath(realEmulator);
  if (realEmulator === emulatorDir || realEmulator.startsWith(`${emulatorDir}/`)) {
    throw new UsageError(`cannot wrap emulator "${oneLine(realEmulator)}": it is a virt-aa-hook wrapper itself`);
  }
  const name = path.posix.basename(realEmulator);
  return emulators.get(name) === realEmulator ? `${emulatorDir}/${name}` : `${emulatorDir}/${byPathDir}${realEmulator}`;
}

/**
 * The wrapper already on the host for a real emulator: the one named like it
 * or the one at its own path, whichever execs exactly it. The hook uses it on
 * an incoming domain, where it must not scan the host's directories.
 */
export function existingWrapperFor(emulatorDir: string, realEmulator: string, readText: (file: string) => string | undefined): string | undefined {
  if (!path.posix.isAbsolute(realEmulator) || realEmulator.startsWith(`${emulatorDir}/`)) return undefined;
  const candidates = [`${emulatorDir}/${path.posix.basename(realEmulator)}`, `${emulatorDir}/${byPathDir}${path.posix.normalize(realEmulator)}`];
  return candidates.find((file) => {
    const text = readText(file);
    return text !== undefined && wrappedEmulator(text) === realEmulator;
  });
}
