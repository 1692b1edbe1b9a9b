// Tiny guests without an operating system: a qcow2 disk on a backing file, a
// CD-ROM, a serial pty and a guest-agent channel. BIOS finds nothing to boot
// and idles, which is all libvirt and the hook need.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { imageDir, must, mustVirsh, virsh } from './host.ts';

export interface Guest {
  readonly name: string;
  readonly uuid: string;
  readonly top: string;
  readonly base: string;
  readonly iso: string;
}

const virtType = fs.existsSync('/dev/kvm') ? 'kvm' : 'qemu';

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}

function guestXml(guest: Guest): string {
  return `<domain type='${virtType}'>
  <name>${escapeXml(guest.name)}</name>
  <uuid>${guest.uuid}</uuid>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${guest.top}'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='${guest.iso}'/><target dev='hdc' bus='ide'/><readonly/></disk>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <controller type='usb' model='qemu-xhci'/>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}

/** Creates the images and defines the guest (not enrolled). */
export function defineGuest(name: string): Guest {
  const safe = name.replace(/[^A-Za-z0-9_-]/g, '_');
  const dir = path.join(imageDir, safe);
  fs.mkdirSync(dir, { recursive: true });
  const guest: Guest = {
    name,
    uuid: crypto.randomUUID(),
    base: path.join(dir, 'base.qcow2'),
    top: path.join(dir, 'top.qcow2'),
    iso: path.join(dir, 'cd.iso'),
  };
  must('qemu-img', ['create', '-q', '-f', 'qcow2', guest.base, '16M']);
  must('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', guest.base, '-F', 'qcow2', guest.top]);
  fs.writeFileSync(guest.iso, Buffer.alloc(2048 * 16));
  const file = path.join(dir, 'domain.xml');
  fs.writeFileSync(file, guestXml(guest));
  mustVirsh('define', '--file', file);
  return guest;
}

/** Stops and undefines a guest, whatever state it is in. */
export function removeGuest(guest: Guest): void {
  virsh('destroy', '--', guest.uuid);
  virsh('managedsave-remove', '--', guest.uuid);
  virsh('undefine', '--nvram', '--', guest.uuid);
}
