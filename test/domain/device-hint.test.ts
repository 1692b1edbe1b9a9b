import test from 'ava';
import { deviceHint } from '../../lib/domain/device-hint.ts';

const live = (devices: string): string => `<domain type='kvm' id='3'><name>web</name><uuid>6c1d4f3a-5b7e-4a29-9d0c-2f8e1b3a7c55</uuid><devices><emulator>/usr/bin/qemu-system-x86_64</emulator>${devices}</devices></domain>`;
const disk = (dev: string, bus: string, file: string | undefined, device = 'disk'): string =>
  `<disk type='file' device='${device}'><driver name='qemu' type='raw'/>${file === undefined ? '' : `<source file='${file}'/>`}<target dev='${dev}' bus='${bus}'/></disk>`;

test('a denied qcow2 file: a new disk on the first disk\'s bus at the first free target, format from the name', (t) => {
  const hint = deviceHint(live(disk('vda', 'virtio', '/srv/a.img') + disk('vdc', 'virtio', '/srv/c.img') + disk('hdc', 'ide', undefined, 'cdrom')), '/srv/elsewhere/other.qcow2', false);
  t.deepEqual(hint, {
    verb: 'attach-device',
    deviceXml: "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/srv/elsewhere/other.qcow2'/><target dev='vdb' bus='virtio'/></disk>",
    note: 'a new disk vdb on the virtio bus, format qcow2 (from the ".qcow2" in its name; no image header is read to decide it)',
  });
});

test('no suffix, raw as libvirt assumes; a block device is a block disk; quotes are escaped', (t) => {
  t.regex(deviceHint(live(disk('sda', 'scsi', '/a')), "/srv/it's", false)?.deviceXml ?? '', /type='raw'\/><source file='\/srv\/it&#39;s'\/><target dev='sdb' bus='scsi'\/>/);
  t.is(deviceHint(live(''), '/dev/sdz', true)?.deviceXml, "<disk type='block' device='disk'><driver name='qemu' type='raw'/><source dev='/dev/sdz'/><target dev='vda' bus='virtio'/></disk>");
});

test('an ISO for a domain with a CD-ROM is new media in it (the empty one first)', (t) => {
  const hint = deviceHint(live(disk('vda', 'virtio', '/srv/a.img') + disk('hdc', 'ide', '/srv/old.iso', 'cdrom') + disk('sda', 'sata', undefined, 'cdrom')), '/srv/new.ISO', false);
  t.deepEqual(hint, {
    verb: 'update-device',
    deviceXml: "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='/srv/new.ISO'/><target dev='sda' bus='sata'/><readonly/></disk>",
    note: 'new media in its CD-ROM sda',
  });
});

test('a path the domain already names gets no hint', (t) => {
  t.is(deviceHint(live(disk('vda', 'virtio', '/srv/a.img')), '/srv/a.img', false), undefined);
});
