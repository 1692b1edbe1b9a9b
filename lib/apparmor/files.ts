// Writes the files apparmor_parser reads. A reader (the parser, a hook of
// another VM, a crash in the middle) sees the old file or the new one, never
// half of one; and a file whose bytes do not change is not touched, because
// the parser's cache is only valid while it is newer than every source file.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { HostError, errnoCode } from '../errors.ts';
import { uniqueToken } from '../unique.ts';

/** A file a command cannot do without: its text, or a HostError naming it and why it could not be read. */
export function readRequiredFile(file: string, what: string, hint = ''): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new HostError(`cannot read ${what}: ${errnoCode(error)}${hint}`, { path: file });
  }
}

function writeError(file: string, error: unknown): HostError {
  return new HostError(`cannot write "${file}": ${errnoCode(error)}`, { path: file }, { cause: error });
}

/** Replaces `file` by rename(2) from a temp file in the same directory; on failure the old file is untouched. */
export function writeFileAtomically(file: string, content: string, mode = 0o644): void {
  const dir = path.dirname(file);
  // A leading dot: apparmor_parser skips dot files when it loads a whole directory.
  const temp = path.join(dir, `.${path.basename(file)}.${uniqueToken()}.tmp`);
  let fd: number | undefined;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    fd = fs.openSync(temp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, mode);
    // The umask must not decide the mode.
    fs.fchmodSync(fd, mode);
    fs.writeFileSync(fd, content);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(temp, file);
    // The rename is only durable once the directory is.
    fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    fs.fsyncSync(fd);
  } catch (error) {
    try {
      fs.unlinkSync(temp);
    } catch {
      // never created, or already renamed
    }
    throw writeError(file, error);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Writes only when the bytes differ, so an unchanged file keeps its mtime; returns whether it wrote. */
export function writeIfChanged(file: string, content: string, mode = 0o644): boolean {
  let current: Buffer | undefined;
  try {
    current = fs.readFileSync(file);
  } catch {
    // Missing or unreadable: writing says why, if it cannot.
  }
  if (current?.equals(Buffer.from(content)) === true) return false;
  writeFileAtomically(file, content, mode);
  return true;
}

/** Removes a file; returns false when it was not there. */
export function removeIfExists(file: string): boolean {
  try {
    fs.unlinkSync(file);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw new HostError(`cannot remove "${file}": ${errnoCode(error)}`, { path: file }, { cause: error });
  }
}
