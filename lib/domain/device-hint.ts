// The device a denied open asks for, as the XML that `virt-aa-hook
// attach-device` or `update-device` takes: libvirt calls no hook for hotplug,
// so where libvirt's AppArmor driver is not active a plain `virsh
// attach-disk` of a path outside the profile is denied by the kernel, and the
// admin needs the command that grants exactly that device. Built from the
// running domain's XML and the path only: the format comes from the file's
// name, never from its content (a guest can write any header into a raw
// image, README "Backing chains").

import { attr, elements, parseDocument, type Node } from './ordered-xml.ts';

export interface DeviceHint {
  readonly verb: 'attach-device' | 'update-device';
  /** One line of device XML. */
  readonly deviceXml: string;
  /** What the hint assumed, for the admin to check before running it. */
  readonly note: string;
}

/** Image formats by file name suffix; anything else is raw, as libvirt assumes for a disk without a format. */
const formatsBySuffix: Readonly<Record<string, string>> = { qcow2: 'qcow2', qcow: 'qcow', qed: 'qed', vmdk: 'vmdk', vdi: 'vdi', vhd: 'vpc', vpc: 'vpc', vhdx: 'vhdx' };

const targetPrefixes: Readonly<Record<string, string>> = { virtio: 'vd', ide: 'hd', fdc: 'fd', xen: 'xvd' };

function escapeAttr(value: string): string {
  return value.replace(/[&<'"\t\n\r]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const sourceOf = (disk: Node): string | undefined => {
  const [source] = elements(disk, 'source');
  return attr(source, 'file') ?? attr(source, 'dev');
};
const targetOf = (disk: Node): Node | undefined => elements(disk, 'target')[0];

/** The n-th target name of a bus prefix as libvirt counts them: a..z, aa..zz. */
function targetName(prefix: string, n: number): string {
  const letters = (i: number): string => (i < 26 ? String.fromCharCode(97 + i) : letters(Math.floor(i / 26) - 1) + String.fromCharCode(97 + (i % 26)));
  return `${prefix}${letters(n)}`;
}

/**
 * The hint for a denied open of `path` by a running domain, or undefined when
 * its XML names the path already (nothing to add: the denial is another
 * matter). An ISO for a domain with a CD-ROM is a media change of it; anything
 * else a new disk on the bus of the domain's first disk, at the first free target.
 */
export function deviceHint(liveXml: string, path: string, isBlockDevice: boolean): DeviceHint | undefined {
  const { root } = parseDocument(liveXml, 'domain XML');
  const disks = elements(root, 'devices').flatMap((devices) => elements(devices, 'disk'));
  if (disks.some((disk) => sourceOf(disk) === path)) return undefined;
  const suffix = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase() ?? '';
  const source = isBlockDevice ? `<source dev='${escapeAttr(path)}'/>` : `<source file='${escapeAttr(path)}'/>`;
  const type = isBlockDevice ? 'block' : 'file';
  const cdroms = disks.filter((disk) => attr(disk, 'device') === 'cdrom' && targetOf(disk) !== undefined);
  const cdrom = cdroms.find((disk) => sourceOf(disk) === undefined) ?? cdroms[0];
  if (suffix === 'iso' && cdrom !== undefined) {
    const target = targetOf(cdrom);
    const dev = attr(target, 'dev') ?? '';
    const bus = attr(target, 'bus');
    const targetXml = `<target dev='${escapeAttr(dev)}'${bus === undefined ? '' : ` bus='${escapeAttr(bus)}'`}/>`;
    return {
      verb: 'update-device',
      deviceXml: `<disk type='${type}' device='cdrom'><driver name='qemu' type='raw'/>${source}${targetXml}<readonly/></disk>`,
      note: `new media in its CD-ROM ${dev}`,
    };
  }
  const format = isBlockDevice ? 'raw' : (formatsBySuffix[suffix] ?? 'raw');
  const firstDisk = disks.find((disk) => (attr(disk, 'device') ?? 'disk') === 'disk');
  const bus = attr(targetOf(firstDisk ?? {}), 'bus') ?? 'virtio';
  const prefix = targetPrefixes[bus] ?? 'sd';
  const used = new Set(disks.map((disk) => attr(targetOf(disk), 'dev')));
  let n = 0;
  while (used.has(targetName(prefix, n))) n += 1;
  const dev = targetName(prefix, n);
  const readonly = suffix === 'iso' ? '<readonly/>' : '';
  return {
    verb: 'attach-device',
    deviceXml: `<disk type='${type}' device='disk'><driver name='qemu' type='${format}'/>${source}<target dev='${dev}' bus='${escapeAttr(bus)}'/>${readonly}</disk>`,
    note: `a new disk ${dev} on the ${bus} bus, format ${format} (${isBlockDevice ? 'a block device' : suffix === '' || formatsBySuffix[suffix] === undefined ? 'no image suffix in its name' : `from the ".${suffix}" in its name`}; no image header is read to decide it)`,
  };
}
