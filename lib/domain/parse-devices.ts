// Every <devices> child other than disks. Unknown elements are skipped: newer
// libvirt may add devices, and an unknown device simply gets no rules.

import type { Device, Hostdev, NetInterface, Rng, Tpm } from './types.ts';
import type { XmlElement } from './xml.ts';
import { parseDisk } from './parse-storage.ts';
import { chardevOf, parseNumber, pciAddressOf } from './parse-values.ts';

type DeviceParser = (element: XmlElement, index: number) => Device | undefined;

const nonEmpty = (value: string | undefined): string | undefined => (value === '' ? undefined : value);

function hostdev(element: XmlElement, index: number): Hostdev {
  const type = element.attr('type') ?? '';
  const source = element.child('source');
  const address = source?.child('address');
  switch (type) {
    case 'usb': {
      const id = (tag: string): number | undefined => parseNumber(source?.child(tag)?.attr('id'));
      const vendor = id('vendor');
      const product = id('product');
      const bus = parseNumber(address?.attr('bus'));
      const device = parseNumber(address?.attr('device'));
      const what = vendor !== undefined ? `${(vendor ?? 0).toString(16).padStart(4, '0')}:${(product ?? 0).toString(16).padStart(4, '0')}` : `${bus ?? '?'}.${device ?? '?'}`;
      return { kind: 'hostdev', label: `hostdev usb ${what}`, type, bus, device, vendor, product };
    }
    case 'pci': {
      const pci = address === undefined ? '0000:00:00.0' : pciAddressOf(address);
      return { kind: 'hostdev', label: `hostdev pci ${pci}`, type, address: pci, driver: element.child('driver')?.attr('name'), romFile: nonEmpty(element.child('rom')?.attr('file')) };
    }
    case 'scsi': {
      const adapter = source?.child('adapter')?.attr('name');
      const scsiAddress = address === undefined ? undefined : ['bus', 'target', 'unit'].map((f) => parseNumber(address.attr(f)) ?? 0).join(':');
      return { kind: 'hostdev', label: `hostdev scsi ${adapter ?? source?.attr('name') ?? `#${index}`}`, type, adapter, address: scsiAddress, protocol: source?.attr('protocol') };
    }
    case 'scsi_host':
      return { kind: 'hostdev', label: `hostdev scsi_host ${source?.attr('wwpn') ?? `#${index}`}`, type, protocol: source?.attr('protocol') };
    case 'mdev': {
      const uuid = address?.attr('uuid') ?? '';
      return { kind: 'hostdev', label: `hostdev mdev ${uuid}`, type, uuid, model: element.attr('model') };
    }
    default:
      return { kind: 'hostdev', label: `hostdev ${type || element.attr('mode') || '?'} #${index}`, type: 'other', name: type };
  }
}

function netInterface(element: XmlElement, index: number): NetInterface {
  const type = element.attr('type') ?? 'network';
  const source = element.child('source');
  const mac = element.child('mac')?.attr('address');
  const backend = element.child('backend');
  const sourceAddress = source?.child('address');
  return {
    kind: 'interface',
    label: `interface ${mac ?? `#${index}`}`,
    type,
    model: element.child('model')?.attr('type'),
    driverName: element.child('driver')?.attr('name'),
    backendType: backend?.attr('type'),
    targetDev: nonEmpty(element.child('target')?.attr('dev')),
    vhostuserSocket: type === 'vhostuser' ? nonEmpty(source?.attr('path')) : undefined,
    vdpaDevice: type === 'vdpa' ? nonEmpty(source?.attr('dev')) : undefined,
    tapDevice: nonEmpty(backend?.attr('tap')),
    vhostDevice: nonEmpty(backend?.attr('vhost')),
    pciAddress: type === 'hostdev' && sourceAddress !== undefined ? pciAddressOf(sourceAddress) : undefined,
    romFile: nonEmpty(element.child('rom')?.attr('file')),
    alias: element.child('alias')?.attr('name'),
  };
}

function rng(element: XmlElement, index: number): Rng {
  const backend = element.child('backend');
  const model = backend?.attr('model');
  const label = `rng #${index}`;
  if (model === 'random') return { kind: 'rng', label, backend: { model, device: nonEmpty(backend?.text()) } };
  if (model === 'egd' && backend !== undefined) return { kind: 'rng', label, backend: { model, chardev: chardevOf(backend.attr('type') ?? 'pty', backend) } };
  return { kind: 'rng', label, backend: { model: model === 'builtin' ? 'builtin' : 'other' } };
}

function tpm(element: XmlElement, index: number): Tpm {
  const backend = element.child('backend');
  const type = backend?.attr('type') ?? '';
  const label = `tpm #${index}`;
  const source = backend?.child('source');
  switch (type) {
    case 'passthrough':
      return { kind: 'tpm', label, backend: { type, device: backend?.child('device')?.attr('path') ?? '/dev/tpm0' } };
    case 'emulator': {
      const stateType = source?.attr('type');
      const statePath = source?.attr('path');
      const state = (stateType === 'file' || stateType === 'dir') && statePath !== undefined ? { type: stateType as 'file' | 'dir', path: statePath } : undefined;
      return { kind: 'tpm', label, backend: { type, version: backend?.attr('version'), state } };
    }
    case 'external':
      return { kind: 'tpm', label, backend: { type, socket: source?.attr('path') } };
    default:
      return { kind: 'tpm', label, backend: { type: 'other', name: type } };
  }
}

function graphics(element: XmlElement, index: number): Device {
  const type = element.attr('type') ?? '';
  const listenSockets = element.children('listen').filter((l) => l.attr('type') === 'socket').map((l) => l.attr('socket'));
  const dbusAddress = element.attr('address');
  const dbusSocket = dbusAddress?.startsWith('unix:path=') === true ? dbusAddress.slice('unix:path='.length).split(',')[0] : undefined;
  const sockets = [element.attr('socket'), ...listenSockets, dbusSocket].filter((s): s is string => s !== undefined && s !== '');
  const listenAddresses = [element.attr('listen'), ...element.children('listen').filter((l) => l.attr('type') === 'address').map((l) => l.attr('address'))];
  const gl = element.child('gl');
  const secureChannel = element.children('channel').some((c) => c.attr('mode') === 'secure');
  return {
    kind: 'graphics',
    label: `graphics ${type || `#${index}`}`,
    type,
    sockets: [...new Set(sockets)],
    gl: type === 'egl-headless' || gl?.flag('enable') === true,
    renderNode: nonEmpty(gl?.attr('rendernode')),
    xauth: nonEmpty(element.attr('xauth')),
    tls: type === 'spice' && (element.attr('tlsPort') !== undefined || element.attr('defaultMode') === 'secure' || secureChannel),
    listenAddresses: [...new Set(listenAddresses.filter((a): a is string => a !== undefined && a !== ''))],
  };
}

const chardevRole =
  (role: 'serial' | 'console' | 'parallel' | 'channel'): DeviceParser =>
  (element, index) => ({ kind: 'chardev', label: `${role} #${index}`, role, chardev: chardevOf(element.attr('type') ?? 'pty', element) });

const parsers: { readonly [tag: string]: DeviceParser } = {
  disk: parseDisk,
  serial: chardevRole('serial'),
  console: chardevRole('console'),
  parallel: chardevRole('parallel'),
  channel: chardevRole('channel'),
  graphics,
  hostdev,
  interface: netInterface,
  rng,
  tpm,
  filesystem: (element, index) => {
    const source = element.child('source');
    const target = element.child('target')?.attr('dir');
    return {
      kind: 'filesystem',
      label: `filesystem '${target ?? `#${index}`}'`,
      type: element.attr('type') ?? 'mount',
      driver: element.child('driver')?.attr('type'),
      sourceDir: nonEmpty(source?.attr('dir')),
      socket: nonEmpty(source?.attr('socket')),
      readonly: element.child('readonly') !== undefined,
    };
  },
  input: (element, index) => {
    const type = element.attr('type') ?? '';
    const source = element.child('source');
    const evdev = type === 'evdev' ? source?.attr('dev') : type === 'passthrough' ? source?.attr('evdev') : undefined;
    return { kind: 'input', label: `input #${index} (${type})`, type, evdev: nonEmpty(evdev) };
  },
  memory: (element, index) => {
    const model = element.attr('model') ?? '';
    return { kind: 'memory', label: `memory #${index} (${model})`, model, path: element.child('source')?.childText('path') };
  },
  shmem: (element) => {
    const name = element.attr('name') ?? '';
    const server = element.child('server');
    return {
      kind: 'shmem',
      label: `shmem '${name}'`,
      name,
      model: element.child('model')?.attr('type') ?? 'ivshmem',
      serverSocket: server === undefined ? undefined : nonEmpty(server.attr('path')) ?? null,
    };
  },
  smartcard: (element, index) => {
    const mode = element.attr('mode') ?? '';
    return {
      kind: 'smartcard',
      label: `smartcard #${index} (${mode})`,
      mode,
      database: element.childText('database'),
      chardev: mode === 'passthrough' ? chardevOf(element.attr('type') ?? 'pty', element) : undefined,
    };
  },
  redirdev: (element, index) => ({ kind: 'redirdev', label: `redirdev #${index}`, chardev: chardevOf(element.attr('type') ?? 'pty', element) }),
  vsock: () => ({ kind: 'vsock', label: 'vsock' }),
  sound: (element, index) => {
    const model = element.attr('model') ?? '';
    return { kind: 'sound', label: `sound #${index} (${model})`, model, audioId: element.child('audio')?.attr('id') };
  },
  audio: (element, index) => {
    const type = element.attr('type') ?? '';
    const id = element.attr('id');
    const devices = [element.child('input')?.attr('dev'), element.child('output')?.attr('dev')].filter((d): d is string => d !== undefined && d.startsWith('/'));
    return {
      kind: 'audio',
      label: `audio ${id ?? `#${index}`} (${type})`,
      type,
      id,
      driver: element.attr('driver'),
      path: nonEmpty(element.attr('path')),
      serverName: nonEmpty(element.attr('serverName')),
      runtimeDir: nonEmpty(element.attr('runtimeDir')),
      devices,
    };
  },
  video: (element, index) => {
    const model = element.child('model');
    const acceleration = model?.child('acceleration');
    const type = model?.attr('type') ?? '';
    return {
      kind: 'video',
      label: `video #${index} (${type})`,
      model: type,
      accel3d: acceleration?.flag('accel3d') === true,
      renderNode: nonEmpty(acceleration?.attr('rendernode')),
      vhostuser: element.child('driver')?.attr('type') === 'vhostuser',
    };
  },
  pstore: (element) => {
    const path = element.childText('path');
    return path === undefined ? undefined : { kind: 'pstore', label: 'pstore', path };
  },
};

export function parseDevices(devices: XmlElement | undefined): readonly Device[] {
  if (devices === undefined) return [];
  const result: Device[] = [];
  for (const tag of devices.childTags()) {
    const parse = parsers[tag];
    if (parse === undefined) continue;
    devices.children(tag).forEach((element, index) => {
      const device = parse(element, index);
      if (device !== undefined) result.push(device);
    });
  }
  return result;
}
