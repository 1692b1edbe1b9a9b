// Edits on domain XML text: enrolment (point <emulator> at our wrapper, or add
// a static AppArmor seclabel, and record what we changed in <metadata> so it
// can be undone), and the device edits that profile synthesis around hotplug
// needs, on the order-preserving tree of ordered-xml.ts.

import { DomainRefusedError, UsageError } from '../errors.ts';
import { attr, build, childrenOf, element, elements, indentOf, insertAfter, isElement, parseDocument, rawAttrs, removeNode, tagOf, text, textOf, type Document, type Node } from './ordered-xml.ts';
import { parseDomain } from './parse.ts';

export interface Enrollment {
  readonly mode: 'wrapper' | 'libvirt';
  readonly originalEmulator: string | undefined;
}

export const metadataNamespace = 'https://github.com/virt-aa-hook/virt-aa-hook/enrollment/1';

/** A `<domain>` document with `<devices>`: what libvirt defines, not a status file. */
function editableDomain(xml: string): Document & { readonly devices: Node } {
  const document = parseDocument(xml, 'domain XML');
  const tag = tagOf(document.root);
  if (tag !== 'domain') throw new DomainRefusedError(`cannot edit domain XML: root element is <${tag ?? ''}>, expected <domain> (a <domstatus> is libvirt's state, not a definition)`);
  const [devices] = elements(document.root, 'devices');
  if (devices === undefined) throw new DomainRefusedError('cannot edit domain XML: it has no <devices> element');
  return { ...document, devices };
}

// --- the enrolment record --------------------------------------------------

interface EnrollmentRecord {
  readonly metadata: Node;
  readonly node: Node;
}

/** Our elements in `<metadata>`, found by namespace URI, whatever prefix a tool gave them. */
function recordsOf(domain: Node): EnrollmentRecord[] {
  return elements(domain, 'metadata').flatMap((metadata) =>
    elements(metadata).flatMap((node) => {
      const tag = tagOf(node) ?? '';
      const colon = tag.indexOf(':');
      const local = tag.slice(colon + 1);
      const declaration = colon === -1 ? 'xmlns' : `xmlns:${tag.slice(0, colon)}`;
      const uri = [node, metadata, domain].map((n) => attr(n, declaration)).find((u) => u !== undefined);
      return local === 'enrollment' && uri === metadataNamespace ? [{ metadata, node }] : [];
    }),
  );
}

function modeOf(record: Node): Enrollment['mode'] {
  const mode = attr(record, 'mode');
  if (mode === 'wrapper' || mode === 'libvirt') return mode;
  throw new DomainRefusedError(`cannot read the enrolment record: unknown mode "${mode ?? ''}"`);
}

/** Where libvirt itself writes `<metadata>`: after the name, UUID, title and description. */
function addRecord(domain: Node, record: Node): void {
  const [metadata] = elements(domain, 'metadata');
  if (metadata !== undefined) {
    insertAfter(metadata, elements(metadata).at(-1), record);
    return;
  }
  const indent = indentOf(domain);
  const children = indent === undefined ? [record] : [{ '#text': `${indent}  ` }, record, { '#text': indent }];
  const anchor = elements(domain).filter((e) => ['name', 'uuid', 'genid', 'title', 'description'].includes(tagOf(e) ?? '')).at(-1);
  insertAfter(domain, anchor, element('metadata', {}, children));
}

// --- what enrolment changes ------------------------------------------------

/**
 * libvirt allows one seclabel per model, and only a lone seclabel without a
 * model (which then means the primary driver, AppArmor in libvirt mode), so
 * ours replaces both kinds; DAC and SELinux labels stay.
 */
const isReplacedLabel = (seclabel: Node): boolean => {
  const model = attr(seclabel, 'model');
  return model === undefined || model === 'apparmor';
};

/** Swaps the AppArmor seclabels for `replacement`, in the same place; returns what it took out. */
function replaceSeclabels(domain: Node, devices: Node, replacement: readonly Node[]): Node[] {
  const children = childrenOf(domain);
  const seclabels = elements(domain, 'seclabel');
  const removed = seclabels.filter(isReplacedLabel);
  const [first] = removed;
  let anchor = first === undefined ? (seclabels.at(-1) ?? devices) : children.slice(0, children.indexOf(first)).filter(isElement).at(-1);
  for (const node of removed) removeNode(domain, node);
  for (const node of replacement) {
    insertAfter(domain, anchor, node);
    anchor = node;
  }
  return removed;
}

function setEmulator(devices: Node, path: string | undefined): void {
  replaceChild(devices, 'emulator', path === undefined ? undefined : element('emulator', {}, [text(path)]), 'first');
}

/** Takes an earlier enrolment out of the tree; true when there was one. */
function withdraw(domain: Node, devices: Node): boolean {
  const records = recordsOf(domain);
  const [record] = records;
  if (record === undefined) return false;
  if (modeOf(record.node) === 'wrapper') setEmulator(devices, attr(record.node, 'emulator'));
  else replaceSeclabels(domain, devices, elements(record.node));
  for (const { metadata, node } of records) {
    removeNode(metadata, node);
    if (elements(metadata).length === 0) removeNode(domain, metadata);
  }
  return true;
}

/**
 * wrapper mode: `<emulator>` becomes `wrapperPath`; libvirt mode: adds
 * `<seclabel type='static' model='apparmor' relabel='no'><label>libvirt-<uuid></label></seclabel>`
 * (replacing any other AppArmor seclabel, keeping DAC and SELinux ones).
 * Both record the mode, the original emulator and any replaced seclabel in
 * `<metadata><vah:enrollment xmlns:vah=... mode=... emulator=...>`.
 * Enrolling again returns the input itself; enrolling in the other mode switches cleanly.
 */
export function enrollDomainXml(xml: string, mode: Enrollment['mode'], wrapperPath: string | undefined): string {
  const document = editableDomain(xml);
  const before = build(document);
  const { root: domain, devices } = document;
  const { uuid } = parseDomain(xml);
  withdraw(domain, devices);
  const [emulator] = elements(devices, 'emulator');
  const original = emulator === undefined ? undefined : textOf(emulator) || undefined;
  let replaced: Node[] = [];
  if (mode === 'wrapper') {
    if (wrapperPath === undefined) throw new UsageError('cannot enroll in wrapper mode without the path of the wrapper');
    // Recording the wrapper as the original would make unenrolling a no-op and the wrapper exec itself.
    if (original === wrapperPath) throw new DomainRefusedError(`cannot enroll: <emulator> already is the wrapper "${wrapperPath}" but no enrolment record says which emulator it replaced`);
    setEmulator(devices, wrapperPath);
  } else {
    const label = element('seclabel', { type: 'static', model: 'apparmor', relabel: 'no' }, [element('label', {}, [text(`libvirt-${uuid}`)])]);
    replaced = replaceSeclabels(domain, devices, [label]);
  }
  const recordAttrs = { 'xmlns:vah': metadataNamespace, mode, ...(original === undefined ? {} : { emulator: original }) };
  addRecord(domain, element('vah:enrollment', recordAttrs, replaced));
  const result = build(document);
  // Already enrolled so: the very text given, so that a caller (the migrate
  // hook, which must print nothing then) can compare strings.
  return result === before ? xml : result;
}

/** Undoes `enrollDomainXml`: original emulator or seclabels back, our record (and a `<metadata>` left empty) removed. */
export function unenrollDomainXml(xml: string): string {
  const document = editableDomain(xml);
  return withdraw(document.root, document.devices) ? build(document) : xml;
}

/** What the XML's metadata says about enrolment; also reads libvirt's `<domstatus>` files. */
export function enrollmentOf(xml: string): Enrollment | undefined {
  const { root } = parseDocument(xml, 'domain XML');
  const domain = tagOf(root) === 'domstatus' ? elements(root, 'domain')[0] : root;
  const [record] = domain === undefined ? [] : recordsOf(domain);
  return record === undefined ? undefined : { mode: modeOf(record.node), originalEmulator: attr(record.node, 'emulator') };
}

// --- devices ---------------------------------------------------------------

function deviceOf(xml: string): Node {
  return parseDocument(xml, 'device XML').root;
}

const targetDev = (device: Node): string | undefined => attr(elements(device, 'target')[0], 'dev');

/** Appends a device (a document with one element, e.g. `<disk>...</disk>`) to `<devices>`. */
export function addDevice(domainXml: string, deviceXml: string): string {
  const document = editableDomain(domainXml);
  insertAfter(document.devices, elements(document.devices).at(-1), deviceOf(deviceXml));
  return build(document);
}

/**
 * Puts new media into the disk with the same `<target dev>` (cdrom change).
 * Besides `<source>` that is the disk's `type` (a file ISO or a /dev/sr0),
 * `<driver>` (its format decides whether backing files are read) and the
 * backing chain, which belonged to the old media; no `<source>` ejects.
 */
export function updateDevice(domainXml: string, deviceXml: string): string {
  const document = editableDomain(domainXml);
  const media = deviceOf(deviceXml);
  const target = targetDev(media);
  if (tagOf(media) !== 'disk' || target === undefined) throw new DomainRefusedError('cannot change media: the device XML is not a <disk> with a <target dev>');
  const disk = elements(document.devices, 'disk').find((d) => targetDev(d) === target);
  if (disk === undefined) throw new DomainRefusedError(`cannot change media: the domain has no disk "${target}"`);
  const type = rawAttrs(media)['type'];
  if (type !== undefined) disk[':@'] = { ...rawAttrs(disk), type };
  replaceChild(disk, 'source', elements(media, 'source')[0]);
  replaceChild(disk, 'backingStore', elements(media, 'backingStore')[0]);
  const [driver] = elements(media, 'driver');
  if (driver !== undefined) replaceChild(disk, 'driver', driver);
  return build(document);
}

/** Replaces the first `tag` child in place, adds it (as the first or last child), or (no replacement) removes it. */
function replaceChild(parent: Node, tag: string, replacement: Node | undefined, where: 'first' | 'last' = 'last'): void {
  const [current] = elements(parent, tag);
  if (current === undefined) {
    if (replacement !== undefined) insertAfter(parent, where === 'first' ? undefined : elements(parent).at(-1), replacement);
  } else if (replacement === undefined) {
    removeNode(parent, current);
  } else {
    childrenOf(parent).splice(childrenOf(parent).indexOf(current), 1, replacement);
  }
}
