// Small value parsers shared by the element parsers.

import type { Chardev, ChardevSource } from './types.ts';
import type { XmlElement } from './xml.ts';

/** libvirt writes numbers in decimal or 0x-hex. */
export function parseNumber(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (/^0x[0-9a-f]+$/i.test(trimmed)) return Number.parseInt(trimmed.slice(2), 16);
  if (/^[0-9]+$/.test(trimmed)) return Number.parseInt(trimmed, 10);
  return undefined;
}

function hex(value: number | undefined, width: number): string {
  return (value ?? 0).toString(16).padStart(width, '0');
}

/** `<address domain bus slot function>` as the kernel names the device: 0000:03:00.0. */
export function pciAddressOf(address: XmlElement): string {
  const field = (name: string): number | undefined => parseNumber(address.attr(name));
  return `${hex(field('domain'), 4)}:${hex(field('bus'), 2)}:${hex(field('slot'), 2)}.${hex(field('function'), 1)}`;
}

/**
 * libvirt's UUID syntax: 32 hex digits, with dashes or spaces allowed between
 * the byte pairs and spaces around. Returns the canonical lower-case form.
 */
export function canonicalUuid(text: string): string | undefined {
  const trimmed = text.replace(/^ +| +$/g, '');
  if (!/^[0-9a-fA-F][0-9a-fA-F \-]*$/.test(trimmed)) return undefined;
  const digits = trimmed.replace(/[ -]/g, '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(digits)) return undefined;
  return `${digits.slice(0, 8)}-${digits.slice(8, 12)}-${digits.slice(12, 16)}-${digits.slice(16, 20)}-${digits.slice(20)}`;
}

/** The `<source>` of a character device of the given type. */
export function chardevOf(type: string, holder: XmlElement): Chardev {
  const sources = holder.children('source');
  const path = sources.map((s) => s.attr('path')).find((p) => p !== undefined && p !== '');
  let source: ChardevSource;
  switch (type) {
    case 'pty':
      source = { type, path: path ?? holder.attr('tty') };
      break;
    case 'dev':
    case 'file':
    case 'pipe':
      source = path === undefined ? { type: 'none', name: type } : { type, path };
      break;
    case 'unix':
      source = { type, path };
      break;
    case 'tcp':
      source = { type, tls: sources.some((s) => s.flag('tls') === true) };
      break;
    case 'udp':
      source = { type };
      break;
    default:
      source = { type: 'none', name: type };
  }
  return { source, logFile: holder.child('log')?.attr('file') };
}
