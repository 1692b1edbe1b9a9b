// The one place that knows fast-xml-parser. It turns XML text into a small
// read-only element tree with typed accessors, after refusing what libvirt
// never sends (DOCTYPE, entity declarations, oversized or malformed input).

import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { DomainRefusedError } from '../errors.ts';

/** libvirt's own helper reads at most 10 MiB of domain XML; so do we. */
export const maxXmlBytes = 10 * 1024 * 1024;

type RawNode = { readonly [key: string]: unknown };

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  attributesGroupName: '@',
  // Keep "007" a string: names, UUIDs and paths are never numbers.
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  // Decode numeric character references such as &#233; and &#10;.
  htmlEntities: true,
  // Every element is a list, so a second <disk> never changes the shape.
  isArray: (_name: string, _jpath: unknown, _isLeaf: boolean, isAttribute: boolean) => !isAttribute,
  alwaysCreateTextNode: true,
  // Room for libvirt's deepest legitimate nesting (a 200-layer <backingStore> chain).
  maxNestedTags: 512,
});

export class XmlElement {
  readonly tag: string;
  readonly #raw: RawNode;

  constructor(tag: string, raw: RawNode) {
    this.tag = tag;
    this.#raw = raw;
  }

  attr(name: string): string | undefined {
    const attrs = this.#raw['@'] as Record<string, unknown> | undefined;
    const value = attrs?.[name];
    return typeof value === 'string' ? value : undefined;
  }

  /** All attributes, for namespace declarations. */
  attrs(): ReadonlyMap<string, string> {
    const attrs = (this.#raw['@'] ?? {}) as Record<string, unknown>;
    return new Map(Object.entries(attrs).filter((e): e is [string, string] => typeof e[1] === 'string'));
  }

  /** Attribute "yes"/"no" (or "on"/"off") as a boolean; undefined when absent or unusual. */
  flag(name: string): boolean | undefined {
    const value = this.attr(name);
    if (value === 'yes' || value === 'on') return true;
    if (value === 'no' || value === 'off') return false;
    return undefined;
  }

  text(): string {
    const value = this.#raw['#text'];
    return typeof value === 'string' ? value : '';
  }

  children(tag: string): readonly XmlElement[] {
    const list = this.#raw[tag];
    if (!Array.isArray(list)) return [];
    return list.filter((n): n is RawNode => typeof n === 'object' && n !== null).map((n) => new XmlElement(tag, n));
  }

  child(tag: string): XmlElement | undefined {
    return this.children(tag)[0];
  }

  /** Text of the first child element, if present and not empty. */
  childText(tag: string): string | undefined {
    const text = this.child(tag)?.text();
    return text === undefined || text === '' ? undefined : text;
  }

  /** Child element names in document order of first appearance. */
  childTags(): readonly string[] {
    return Object.keys(this.#raw).filter((k) => k !== '@' && k !== '#text');
  }
}

/**
 * The line of the first `<` inside a quoted attribute value, which XML forbids
 * (AttValue) and fast-xml-parser's validator lets through; libvirt's parser
 * refuses it. Comments, CDATA and processing instructions are skipped.
 */
function ltInAttributeValue(text: string): number | undefined {
  const skip: readonly (readonly [string, string])[] = [['<!--', '-->'], ['<![CDATA[', ']]>'], ['<?', '?>']];
  for (let i = text.indexOf('<'); i !== -1; i = text.indexOf('<', i + 1)) {
    const section = skip.find(([open]) => text.startsWith(open, i));
    if (section !== undefined) {
      const end = text.indexOf(section[1], i + section[0].length);
      if (end === -1) return undefined;
      i = end;
      continue;
    }
    let quote: string | undefined;
    for (let j = i + 1; j < text.length; j += 1) {
      const c = text[j];
      if (quote === undefined && c === '>') {
        i = j;
        break;
      }
      if (quote === undefined && (c === '"' || c === "'")) quote = c;
      else if (c === quote) quote = undefined;
      else if (quote !== undefined && c === '<') return text.slice(0, j).split('\n').length;
    }
  }
  return undefined;
}

/** Refuses what libvirt never sends: oversized, DTD-carrying or malformed text. */
export function checkXmlText(text: string): void {
  if (Buffer.byteLength(text, 'utf8') > maxXmlBytes) {
    throw new DomainRefusedError(`cannot read domain XML: larger than ${maxXmlBytes / (1024 * 1024)} MiB`);
  }
  // libvirt never sends a DTD; refusing it rules out entity expansion attacks.
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) {
    throw new DomainRefusedError('cannot read domain XML: DOCTYPE and ENTITY declarations are not accepted');
  }
  const validation = XMLValidator.validate(text);
  if (validation !== true) {
    const { msg, line } = validation.err;
    throw new DomainRefusedError(`cannot read domain XML: malformed at line ${line}: ${msg}`);
  }
  const lt = ltInAttributeValue(text);
  if (lt !== undefined) throw new DomainRefusedError(`cannot read domain XML: malformed at line ${lt}: '<' inside an attribute value`);
}

/** Parses a whole document and returns its root element. */
export function parseXmlDocument(text: string): XmlElement {
  checkXmlText(text);
  let document: RawNode;
  try {
    document = parser.parse(text) as RawNode;
  } catch (error) {
    throw new DomainRefusedError(`cannot read domain XML: ${(error as Error).message}`);
  }
  const roots = Object.keys(document).filter((k) => k !== '?xml' && k !== '#text' && k !== '@');
  const [rootTag] = roots;
  if (rootTag === undefined || roots.length !== 1) {
    throw new DomainRefusedError('cannot read domain XML: expected exactly one root element');
  }
  const rootList = document[rootTag];
  const root = Array.isArray(rootList) && rootList.length === 1 ? (rootList[0] as RawNode | undefined) : undefined;
  if (root === undefined) throw new DomainRefusedError('cannot read domain XML: expected exactly one root element');
  return new XmlElement(rootTag, root);
}
