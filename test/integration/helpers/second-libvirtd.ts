// A second libvirtd on this machine, as the destination of live migrations:
// its own mount namespace with private copies of libvirt's directories and of
// virt-aa-hook's generated profiles and state (on real hosts each side has its
// own), a different hostname and host UUID. The recipe is in
// shared/notes/test-environment.md.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import tmp from 'tmp';
import { must, run, waitFor } from './host.ts';

export interface SecondLibvirtd {
  readonly base: string;
  readonly uri: string;
  /** Where the destination keeps generated profiles (its /etc/apparmor.d/libvirt). */
  readonly apparmorLibvirtDir: string;
  readonly stop: () => void;
}

const privateMounts: readonly (readonly [string, string])[] = [
  ['etc', '/etc/libvirt'],
  ['run', '/run/libvirt'],
  ['lib', '/var/lib/libvirt'],
  ['log', '/var/log/libvirt'],
  ['aa-libvirt', '/etc/apparmor.d/libvirt'],
  ['state', '/var/lib/virt-aa-hook'],
  ['run-hook', '/run/virt-aa-hook'],
  ['cache', '/var/cache/apparmor/virt-aa-hook'],
];

export function startSecondLibvirtd(): SecondLibvirtd {
  const base = fs.realpathSync(tmp.dirSync({ prefix: 'vah-dst-', unsafeCleanup: true }).name);
  for (const [dir, target] of privateMounts) {
    fs.mkdirSync(path.join(base, dir));
    fs.mkdirSync(target, { recursive: true });
  }
  must('cp', ['-a', '/etc/libvirt/.', path.join(base, 'etc')]);
  // QEMU's capability cache saves the second daemon a slow first start.
  must('cp', ['-a', '/var/lib/libvirt/.', path.join(base, 'lib')]);
  fs.appendFileSync(path.join(base, 'etc/libvirtd.conf'), `\nhost_uuid = "${crypto.randomUUID()}"\n`);
  fs.appendFileSync(path.join(base, 'etc/qemu.conf'), '\ncgroup_controllers = [ ]\n');
  const script = [
    ...privateMounts.map(([dir, target]) => `mount --bind '${path.join(base, dir)}' '${target}'`),
    'hostname virt-aa-hook-destination',
    `virtlogd -d -p '${base}/virtlogd.pid'`,
    `libvirtd -d -p '${base}/libvirtd.pid'`,
  ].join(' && ');
  must('unshare', ['-m', '-u', '--propagation', 'private', 'sh', '-c', script]);
  const uri = `qemu+unix:///system?socket=${base}/run/libvirt-sock`;
  waitFor('the second libvirtd', () => run('virsh', ['--connect', uri, 'version']).code === 0, 120_000);
  return {
    base,
    uri,
    apparmorLibvirtDir: path.join(base, 'aa-libvirt'),
    stop: () => {
      for (const pidFile of ['libvirtd.pid', 'virtlogd.pid']) {
        try {
          process.kill(Number.parseInt(fs.readFileSync(path.join(base, pidFile), 'utf8'), 10), 'SIGTERM');
        } catch {
          // Already gone.
        }
      }
    },
  };
}
