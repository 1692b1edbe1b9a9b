// Who QEMU runs as (issue 12, finding 3): qemu.conf's user and group through
// /etc/passwd and /etc/group of a temp root.

import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import tmp from 'tmp';
import { localFs } from '../../lib/host/host-fs.ts';
import { readQemuUser } from '../../lib/host/qemu-user.ts';

const passwd = 'root:x:0:0:root:/root:/bin/bash\nlibvirt-qemu:x:64055:107:Libvirt Qemu,,,:/var/lib/libvirt:/usr/sbin/nologin\nqemu:x:107:107::/:/sbin/nologin\n';
const group = 'root:x:0:\nkvm:x:107:qemu\nlibvirt-qemu:x:64055:libvirt-qemu\ndisk:x:6:libvirt-qemu,other\n';

function hostRoot(qemuConf: string | undefined): string {
  const root = fs.realpathSync(tmp.dirSync({ unsafeCleanup: true }).name);
  fs.mkdirSync(path.join(root, 'etc/libvirt'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc/passwd'), passwd);
  fs.writeFileSync(path.join(root, 'etc/group'), group);
  if (qemuConf !== undefined) fs.writeFileSync(path.join(root, 'etc/libvirt/qemu.conf'), qemuConf);
  return root;
}

test("Debian's default without qemu.conf: libvirt-qemu, with its passwd group and the groups that list it", (t) => {
  t.deepEqual(readQemuUser(localFs(hostRoot(undefined)), '/etc/libvirt'), { name: 'libvirt-qemu', uid: 64055, gids: [64055, 107, 6] });
});

test('commented settings are not settings', (t) => {
  t.deepEqual(readQemuUser(localFs(hostRoot('#user = "qemu"\n#group = "qemu"\n')), '/etc/libvirt').uid, 64055);
});

test('user and group from qemu.conf', (t) => {
  t.deepEqual(readQemuUser(localFs(hostRoot('user = "qemu"\ngroup = "kvm"\n')), '/etc/libvirt'), { name: 'qemu', uid: 107, gids: [107] });
});

test('numeric ids with +', (t) => {
  t.deepEqual(readQemuUser(localFs(hostRoot('user = "+64055"\ngroup = "+6"\n')), '/etc/libvirt'), { name: '+64055', uid: 64055, gids: [6, 107, 64055] });
  t.deepEqual(readQemuUser(localFs(hostRoot('user = "+5000"\ngroup = "+5000"\n')), '/etc/libvirt'), { name: '+5000', uid: 5000, gids: [5000] });
});

test('root', (t) => {
  t.is(readQemuUser(localFs(hostRoot('user = "root"\n')), '/etc/libvirt').uid, 0);
});

test('a user that is not in /etc/passwd is unknown', (t) => {
  t.deepEqual(readQemuUser(localFs(hostRoot('user = "ghost"\n')), '/etc/libvirt'), { name: 'ghost', uid: undefined, gids: [] });
});
