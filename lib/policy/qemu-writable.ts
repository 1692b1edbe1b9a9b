// Whether the QEMU user could replace a symlink: it can write the directory
// the link lives in (and, in a sticky directory, owns the link or the
// directory). Such a link is the guest's word, not the admin's: a compromised
// QEMU can point it anywhere before the next start. POSIX ACLs are not read.

import type { EntryInfo } from '../host/host-fs.ts';
import type { QemuUser } from '../host/qemu-user.ts';

const sticky = 0o1000;

export function qemuCanReplace(user: QemuUser, directory: EntryInfo | undefined, link: EntryInfo | undefined): boolean {
  // A directory that cannot be looked at cannot be vouched for.
  if (directory === undefined) return true;
  const { uid } = user;
  if (uid === 0) return true;
  if (uid === undefined) {
    // The user is unknown (not in /etc/passwd): anything root does not hold alone counts.
    return directory.uid !== 0 || (directory.mode & 0o022) !== 0;
  }
  const writable =
    (directory.uid === uid && (directory.mode & 0o200) !== 0) ||
    (user.gids.includes(directory.gid) && (directory.mode & 0o020) !== 0) ||
    (directory.mode & 0o002) !== 0;
  if (!writable) return false;
  if ((directory.mode & sticky) === 0) return true;
  return directory.uid === uid || link === undefined || link.uid === uid;
}
