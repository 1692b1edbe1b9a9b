// Who could replace a symlink (issue 12, finding 3): the QEMU user, when it
// can write the directory the link lives in.

import test from 'ava';
import type { EntryInfo } from '../../lib/host/host-fs.ts';
import type { QemuUser } from '../../lib/host/qemu-user.ts';
import { qemuCanReplace } from '../../lib/policy/qemu-writable.ts';

const qemu: QemuUser = { name: 'libvirt-qemu', uid: 64055, gids: [64055, 107] };
const dir = (uid: number, gid: number, mode: number): EntryInfo => ({ type: 'directory', uid, gid, mode });
const link = (uid: number): EntryInfo => ({ type: 'symlink', uid, gid: 0, mode: 0o777 });

const replaces = test.macro({
  exec(t, user: QemuUser, directory: EntryInfo | undefined, entry: EntryInfo | undefined, expected: boolean) {
    t.is(qemuCanReplace(user, directory, entry), expected);
  },
  title: (given = '', _u: QemuUser, _d: EntryInfo | undefined, _e: EntryInfo | undefined, expected: boolean) => `${given}: ${expected ? 'QEMU can replace the link' : 'it cannot'}`,
});

test("libvirt's NVRAM directory (libvirt-qemu, 0755)", replaces, qemu, dir(64055, 64055, 0o755), link(64055), true);
test('a root directory, 0755', replaces, qemu, dir(0, 0, 0o755), link(0), false);
test("a root directory writable by QEMU's group", replaces, qemu, dir(0, 64055, 0o775), link(0), true);
test("a root directory writable by QEMU's supplementary group", replaces, qemu, dir(0, 107, 0o770), link(0), true);
test('a root directory writable by another group', replaces, qemu, dir(0, 1000, 0o775), link(0), false);
test("another user's directory, 0755", replaces, qemu, dir(1000, 1000, 0o755), link(1000), false);
test('a world-writable directory', replaces, qemu, dir(0, 0, 0o777), link(0), true);
test("a sticky world-writable directory, root's link", replaces, qemu, dir(0, 0, 0o1777), link(0), false);
test("a sticky world-writable directory, QEMU's own link", replaces, qemu, dir(0, 0, 0o1777), link(64055), true);
test('a directory that cannot be looked at', replaces, qemu, undefined, link(0), true);
test('QEMU running as root', replaces, { name: 'root', uid: 0, gids: [0] }, dir(0, 0, 0o755), link(0), true);
test('an unknown QEMU user, root directory 0755', replaces, { name: 'nobody-here', uid: undefined, gids: [] }, dir(0, 0, 0o755), link(0), false);
test("an unknown QEMU user, someone else's directory", replaces, { name: 'nobody-here', uid: undefined, gids: [] }, dir(1000, 1000, 0o755), link(1000), true);
