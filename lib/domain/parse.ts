// Domain XML text to a typed, readonly Domain. Tolerant of what it does not
// know (newer libvirt), strict about what everything else relies on: the
// virtualisation type, the name and the UUID.

import { DomainRefusedError } from '../errors.ts';
import type { Domain, FwCfgFile, Loader, MemoryBacking, Nvram, Os, SecLabel } from './types.ts';
import { parseXmlDocument, type XmlElement } from './xml.ts';
import { parseDevices } from './parse-devices.ts';
import { storageSource } from './parse-storage.ts';
import { canonicalUuid, parseNumber } from './parse-values.ts';

const qemuNamespace = 'http://libvirt.org/schemas/domain/qemu/1.0';

function loaderOf(os: XmlElement): Loader | undefined {
  const loader = os.child('loader');
  if (loader === undefined) return undefined;
  return { path: loader.text() || undefined, readonly: loader.flag('readonly'), type: loader.attr('type') };
}

function nvramOf(os: XmlElement): Nvram | undefined {
  const nvram = os.child('nvram');
  if (nvram === undefined) return undefined;
  const template = nvram.attr('template');
  const type = nvram.attr('type');
  // <nvram>/path</nvram> is the classic form; <nvram type=...><source/></nvram> the newer one.
  const source =
    type === undefined
      ? nvram.text() === ''
        ? undefined
        : { type: 'file' as const, path: nvram.text(), format: nvram.attr('format'), backing: { kind: 'none' as const }, dataStore: undefined }
      : storageSource(type, nvram.child('source'), nvram.attr('format'), undefined);
  return { source, template };
}

function osOf(domain: XmlElement): Os {
  const os = domain.child('os');
  const type = os?.child('type');
  return {
    type: type?.text() || undefined,
    arch: type?.attr('arch'),
    firmware: os?.attr('firmware'),
    kernel: os?.childText('kernel'),
    initrd: os?.childText('initrd'),
    dtb: os?.childText('dtb'),
    shim: os?.childText('shim'),
    acpiTables: (os?.child('acpi')?.children('table') ?? []).map((t) => t.text()).filter((t) => t !== ''),
    loader: os === undefined ? undefined : loaderOf(os),
    nvram: os === undefined ? undefined : nvramOf(os),
  };
}

function memoryBackingOf(domain: XmlElement): MemoryBacking {
  const backing = domain.child('memoryBacking');
  return {
    hugepages: backing?.child('hugepages') !== undefined,
    source: backing?.child('source')?.attr('type'),
    shared: backing?.child('access')?.attr('mode') === 'shared',
  };
}

function fwCfgFilesOf(domain: XmlElement): readonly FwCfgFile[] {
  return domain
    .children('sysinfo')
    .filter((s) => s.attr('type') === 'fwcfg')
    .flatMap((s) => s.children('entry'))
    .flatMap((e) => {
      const path = e.attr('file');
      return path === undefined ? [] : [{ entry: e.attr('name') ?? '', path }];
    });
}

function seclabelsOf(domain: XmlElement): readonly SecLabel[] {
  return domain.children('seclabel').map((s) => ({
    type: s.attr('type') ?? 'dynamic',
    model: s.attr('model'),
    relabel: s.flag('relabel'),
    label: s.childText('label'),
  }));
}

/** `<qemu:commandline>` under whatever prefix the document bound to libvirt's QEMU namespace. */
function qemuCommandlineOf(domain: XmlElement): readonly string[] {
  const prefixes = [...domain.attrs()].filter(([name, uri]) => name.startsWith('xmlns:') && uri === qemuNamespace).map(([name]) => name.slice('xmlns:'.length));
  return prefixes.flatMap((prefix) =>
    domain.children(`${prefix}:commandline`).flatMap((commandline) => [
      ...commandline.children(`${prefix}:arg`).map((arg) => arg.attr('value') ?? ''),
      ...commandline.children(`${prefix}:env`).map((env) => `${env.attr('name') ?? ''}=${env.attr('value') ?? ''}`),
    ]),
  );
}

function required(what: string, value: string | undefined, name?: string): string {
  if (value === undefined || value === '') throw new DomainRefusedError(`cannot read domain XML: missing ${what}`, { domain: name });
  return value;
}

function domainOf(element: XmlElement, statusMonitorPath: string | undefined): Domain {
  const name = required('<name>', element.childText('name'));
  const type = required('<domain type>', element.attr('type'), name);
  const uuidText = required('<uuid>', element.childText('uuid'), name);
  const uuid = canonicalUuid(uuidText);
  if (uuid === undefined) throw new DomainRefusedError(`cannot read domain XML: invalid <uuid> "${uuidText}"`, { domain: name });
  const devices = element.child('devices');
  const idText = element.attr('id');
  const id = parseNumber(idText);
  return {
    type,
    name,
    uuid,
    // libvirt writes id='-1' for an inactive domain in some status files.
    id: id !== undefined && id >= 0 ? id : undefined,
    emulator: devices?.childText('emulator'),
    os: osOf(element),
    memoryBacking: memoryBackingOf(element),
    devices: parseDevices(devices),
    fwCfgFiles: fwCfgFilesOf(element),
    seclabels: seclabelsOf(element),
    qemuCommandline: qemuCommandlineOf(element),
    statusMonitorPath,
  };
}

/** Parses `<domain>` (what hooks receive) or `<domstatus>` (libvirt's status files). */
export function parseDomain(xml: string): Domain {
  const root = parseXmlDocument(xml);
  try {
    if (root.tag === 'domain') return domainOf(root, undefined);
    if (root.tag === 'domstatus') {
      const inner = root.child('domain');
      if (inner === undefined) throw new DomainRefusedError('cannot read domain XML: <domstatus> without <domain>');
      return domainOf(inner, root.child('monitor')?.attr('path'));
    }
  } catch (error) {
    if (error instanceof RangeError) throw new DomainRefusedError(`cannot read domain XML: ${error.message}`);
    throw error;
  }
  throw new DomainRefusedError(`cannot read domain XML: root element is <${root.tag}>, expected <domain> or <domstatus>`);
}
