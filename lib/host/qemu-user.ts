// Who QEMU runs as: qemu.conf's `user` and `group` (Debian's build default is
// libvirt-qemu for both), resolved through /etc/passwd and /etc/group with the
// supplementary groups libvirt gives it (every group that lists the user).
// Read through HostFs, so tests use a temp root.

import type { HostFs } from './host-fs.ts';
import { qemuConfString } from './qemu-conf.ts';

export interface QemuUser {
  /** The user as qemu.conf (or the default) names it, for messages. */
  readonly name: string;
  /** undefined: the user is not in /etc/passwd, so nothing is known about it. */
  readonly uid: number | undefined;
  /** Its primary group, passwd's group and every group listing it. */
  readonly gids: readonly number[];
}

/** Debian's libvirt is built with qemu_user and qemu_group libvirt-qemu. */
export const defaultQemuUser = 'libvirt-qemu';

interface DbEntry {
  readonly name: string;
  readonly id: number;
  readonly rest: readonly string[];
}

function database(text: string | undefined): readonly DbEntry[] {
  return (text ?? '').split('\n').flatMap((line) => {
    const [name = '', , id = '', ...rest] = line.split(':');
    return name !== '' && /^\d+$/.test(id) ? [{ name, id: Number(id), rest }] : [];
  });
}

/** `+N` is a numeric id in qemu.conf; anything else a name. */
function lookup(value: string, entries: readonly DbEntry[]): DbEntry | { readonly id: number } | undefined {
  const numeric = /^\+(\d+)$/.exec(value)?.[1];
  if (numeric !== undefined) return entries.find((e) => e.id === Number(numeric)) ?? { id: Number(numeric) };
  return entries.find((e) => e.name === value);
}

export function readQemuUser(fs: HostFs, libvirtConfigDir: string): QemuUser {
  const conf = fs.readText(`${libvirtConfigDir}/qemu.conf`) ?? '';
  const userName = qemuConfString(conf, 'user') ?? defaultQemuUser;
  const groupName = qemuConfString(conf, 'group') ?? defaultQemuUser;
  const passwd = database(fs.readText('/etc/passwd'));
  const groups = database(fs.readText('/etc/group'));
  const user = lookup(userName, passwd);
  if (user === undefined) return { name: userName, uid: undefined, gids: [] };
  const loginName = 'name' in user ? user.name : undefined;
  const passwdGroup = 'rest' in user ? Number(user.rest[0]) : undefined;
  const primary = lookup(groupName, groups)?.id;
  const members = loginName === undefined ? [] : groups.filter((g) => (g.rest[0] ?? '').split(',').includes(loginName)).map((g) => g.id);
  const gids = [primary, passwdGroup, ...members].filter((g): g is number => g !== undefined && !Number.isNaN(g));
  return { name: userName, uid: user.id, gids: [...new Set(gids)] };
}
