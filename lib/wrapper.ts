// The emulator wrapper of "wrapper" mode: scripts/qemu-wrapper with the real
// emulator's path filled in, one file per real emulator.

import * as path from 'node:path';
import { UsageError, oneLine } from './errors.ts';
import { sha256 } from './sha256.ts';

const placeholder = '@REAL_EMULATOR@';

/** Every wrapper's file name starts with this, which is how a wrapped <emulator> is recognised. */
export const wrapperFilePrefix = 'virt-aa-hook.';

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
  if (path.posix.basename(realEmulator).startsWith(wrapperFilePrefix)) refuse('it is a virt-aa-hook wrapper itself');
}

/** The wrapper script for `realEmulator`, from the template text. */
export function renderWrapper(template: string, realEmulator: string): string {
  checkEmulatorPath(realEmulator);
  const parts = template.split(placeholder);
  if (parts.length !== 2) throw new Error(`cannot render the emulator wrapper: the template holds ${parts.length - 1} ${placeholder} markers, expected 1`);
  return parts.join(realEmulator);
}

/**
 * `virt-aa-hook.qemu-system-x86_64` for an emulator in /usr/bin, where names
 * are unique; elsewhere the basename plus 8 hex digits of the path's SHA-256,
 * so that /usr/libexec/qemu-kvm and a /usr/bin/qemu-kvm, or two builds in
 * /opt, never share a wrapper (one of them would exec the wrong QEMU).
 */
export function wrapperFileName(realEmulator: string): string {
  checkEmulatorPath(realEmulator);
  const name = wrapperFilePrefix + path.posix.basename(realEmulator);
  if (path.posix.dirname(realEmulator) === '/usr/bin') return name;
  return `${name}.${sha256(realEmulator).slice(0, 8)}`;
}
