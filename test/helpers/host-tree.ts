// A small host file system in a temp directory, used as the root that
// synthesis resolves paths against: real images made by qemu-img, real
// symlinks, and the sysfs/procfs/libvirt files whose content it reads.
// Only the kernel-provided files are stand-ins, written with the content the
// kernel would show.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import tmp from 'tmp';
import { qcow2Bytes } from './qcow2.ts';

export function buildHostTree(): string {
  const root = fs.realpathSync(tmp.dirSync({ unsafeCleanup: true }).name);
  const at = (p: string): string => path.join(root, p);
  const mkdir = (p: string): void => void fs.mkdirSync(at(p), { recursive: true });
  const write = (p: string, content: string | Buffer): void => {
    mkdir(path.dirname(p));
    fs.writeFileSync(at(p), content);
  };
  const link = (p: string, target: string): void => {
    mkdir(path.dirname(p));
    fs.symlinkSync(target, at(p));
  };
  const qemuImg = (dir: string, ...args: string[]): void => {
    mkdir(dir);
    execFileSync('qemu-img', args, { cwd: at(dir), stdio: ['ignore', 'ignore', 'pipe'] });
  };

  const images = '/var/lib/libvirt/images';
  qemuImg(images, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '16M');
  qemuImg(images, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'top.qcow2');
  // A raw disk whose guest wrote a qcow2 header pointing at /etc/shadow.
  write(`${images}/raw-with-qcow2-header.img`, qcow2Bytes({ backingName: '/etc/shadow', backingFormat: 'raw' }));
  qemuImg(images, 'create', '-q', '-f', 'qcow2', '-u', '-b', '/etc/shadow', '-F', 'raw', 'evil-backing.qcow2', '16M');
  write(`${images}/loop-a.qcow2`, qcow2Bytes({ backingName: 'loop-b.qcow2', backingFormat: 'qcow2' }));
  write(`${images}/loop-b.qcow2`, qcow2Bytes({ backingName: 'loop-a.qcow2', backingFormat: 'qcow2' }));
  for (let i = 0; i < 1000; i += 1) write(`${images}/deep/layer-${i}.qcow2`, qcow2Bytes({ backingName: `layer-${i + 1}.qcow2`, backingFormat: 'qcow2' }));
  write(`${images}/deep/layer-1000.qcow2`, qcow2Bytes());

  write('/etc/libvirt/storage/default.xml', `<pool type='dir'><name>default</name><target><path>${images}</path></target></pool>\n`);

  // PCI device 0000:06:12.5 in IOMMU group 12, reached through sysfs's own symlinks.
  const pciDevice = '/sys/devices/pci0000:00/0000:00:1c.0/0000:06:12.5';
  mkdir('/sys/kernel/iommu_groups/12/devices');
  link(`${pciDevice}/iommu_group`, '../../../../kernel/iommu_groups/12');
  link('/sys/bus/pci/devices/0000:06:12.5', `../../..${pciDevice.slice('/sys'.length)}`);
  mkdir('/sys/kernel/iommu_groups/30');
  link('/sys/bus/mdev/devices/c2177883-f1bb-47f0-914d-32a22e3a8804/iommu_group', '../../../../kernel/iommu_groups/30');
  for (const [file, value] of [['busnum', '3'], ['devnum', '9'], ['idVendor', '046d'], ['idProduct', 'c52b']]) write(`/sys/bus/usb/devices/3-1/${file}`, `${value}\n`);
  mkdir('/sys/bus/scsi/devices/2:0:0:1/scsi_generic/sg4');
  write('/sys/class/net/macvtap3/ifindex', '42\n');
  write('/dev/dri/renderD128', '');
  write('/proc/mounts', 'sysfs /sys sysfs rw 0 0\nhugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\nhugetlbfs /mnt/huge\\0401G hugetlbfs rw,pagesize=1024M 0 0\n');

  mkdir('/srv/vms/sub');
  // An absolute symlink leaves the tree: it names the real host's /etc.
  link('/srv/links/etc', '/etc');

  // QEMU runs as libvirt-qemu (Debian's default, no qemu.conf here), a user
  // that owns nothing in this tree: only what is writable to others is its.
  write('/etc/passwd', 'root:x:0:0:root:/root:/bin/bash\nlibvirt-qemu:x:64055:107:Libvirt Qemu,,,:/var/lib/libvirt:/usr/sbin/nologin\n');
  write('/etc/group', 'root:x:0:\nkvm:x:107:\nlibvirt-qemu:x:64055:libvirt-qemu\n');
  // libvirt's NVRAM directory is the QEMU user's (here: writable to all), and a
  // guest swapped its variable store for a link to another guest's.
  const qemuLib = '/var/lib/libvirt/qemu';
  const nvram = `${qemuLib}/nvram`;
  write(`${nvram}/other_VARS.fd`, Buffer.alloc(4096));
  link(`${nvram}/swapped_VARS.fd`, 'other_VARS.fd');
  fs.chmodSync(at(nvram), 0o777);

  // Headers a guest could have rewritten (issue 12, finding 1): naming a
  // device, a FIFO, another guest's NVRAM, save image or master key, root's
  // home; an external data file, a vmdk extent; and a disk rebased
  // (qemu-img rebase -u) out of its usual place.
  qemuImg(images, 'create', '-q', '-f', 'qcow2', '-u', '-b', '/dev/sda', '-F', 'raw', 'dev-backed.qcow2', '16M');
  qemuImg(images, 'create', '-q', '-f', 'qcow2', '-u', '-b', `${nvram}/other_VARS.fd`, '-F', 'raw', 'nvram-backed.qcow2', '16M');
  qemuImg(images, 'create', '-q', '-f', 'qcow2', '-u', '-b', '/root/secrets.img', '-F', 'raw', 'root-backed.qcow2', '16M');
  // Another guest's managed-save image and its master key, in libvirt's per-domain state.
  const saveImage = `${qemuLib}/save/other.save`;
  const masterKey = `${qemuLib}/domain-3-other/master-key.aes`;
  write(saveImage, Buffer.alloc(4096));
  write(masterKey, Buffer.alloc(32));
  qemuImg(images, 'create', '-q', '-f', 'qcow2', '-u', '-b', saveImage, '-F', 'raw', 'save-backed.qcow2', '16M');
  qemuImg(images, 'create', '-q', '-f', 'qcow2', '-u', '-b', masterKey, '-F', 'raw', 'key-backed.qcow2', '16M');
  // A vmdk whose descriptor (the disk itself, depth 0) names its extent.
  qemuImg(images, 'create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicFlat', 'flat.vmdk', '1M');
  execFileSync('mkfifo', [at(`${images}/pipe.raw`)]);
  qemuImg(images, 'create', '-q', '-f', 'qcow2', '-u', '-b', 'pipe.raw', '-F', 'raw', 'fifo-backed.qcow2', '16M');
  qemuImg(images, 'create', '-q', '-f', 'qcow2', '-o', 'data_file=with-data.raw', 'with-data.qcow2', '16M');
  qemuImg('/srv/elsewhere', 'create', '-q', '-f', 'qcow2', 'base.qcow2', '16M');
  qemuImg('/srv/rebased', 'create', '-q', '-f', 'qcow2', '-u', '-b', '/srv/elsewhere/base.qcow2', '-F', 'qcow2', 'top.qcow2', '16M');
  // NVRAM kept outside libvirt's directory, the guests' stores side by side.
  write('/srv/nvram/own_VARS.fd', Buffer.alloc(4096));
  write('/srv/nvram/other_VARS.fd', Buffer.alloc(4096));
  qemuImg(images, 'create', '-q', '-f', 'qcow2', '-u', '-b', '/srv/nvram/other_VARS.fd', '-F', 'raw', 'nvram-dir-backed.qcow2', '16M');
  return root;
}
