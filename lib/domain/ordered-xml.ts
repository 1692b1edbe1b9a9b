// fast-xml-parser's order-preserving tree, for editing documents without
// disturbing them: entity processing is off, so whatever an edit does not
// touch (comments, order, other namespaces, character references) is written
// back as it was read. Only lib/domain imports fast-xml-parser.

import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { DomainRefusedError } from '../errors.ts';
import { checkXmlText } from './xml.ts';

/** One node of the order-preserving tree: `{ tag: children, ':@': attributes }`, or `{ '#text': raw }`. */
export type Node = Record<string, unknown>;

const options = {
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  // Values stay raw (escaped as written); only what we read or write is decoded or encoded.
  processEntities: false,
  commentPropName: '#comment',
  cdataPropName: '#cdata',
  maxNestedTags: 512,
} as const;
const parser = new XMLParser({ ...options, parseTagValue: false, parseAttributeValue: false, trimValues: false });
const builder = new XMLBuilder({ ...options, suppressEmptyNode: true });

// --- the tree --------------------------------------------------------------

export function tagOf(node: Node): string | undefined {
  const key = Object.keys(node).find((k) => k !== ':@');
  return key === undefined || key.startsWith('#') || key.startsWith('?') ? undefined : key;
}

export function childrenOf(node: Node): Node[] {
  const tag = tagOf(node);
  const list = tag === undefined ? undefined : node[tag];
  return Array.isArray(list) ? (list as Node[]) : [];
}

export function rawAttrs(node: Node): Record<string, string> {
  return (node[':@'] ?? {}) as Record<string, string>;
}

export function attr(node: Node | undefined, name: string): string | undefined {
  const raw = node === undefined ? undefined : rawAttrs(node)[name];
  return raw === undefined ? undefined : decode(raw);
}

export const isElement = (node: Node): boolean => tagOf(node) !== undefined;
const isBlank = (node: Node): boolean => typeof node['#text'] === 'string' && node['#text'].trim() === '';

export function elements(node: Node, tag?: string): Node[] {
  return childrenOf(node).filter((c) => (tag === undefined ? isElement(c) : tagOf(c) === tag));
}

export const text = (value: string): Node => ({ '#text': encode(value, textEscapes) });

export function element(tag: string, attrs: Readonly<Record<string, string>>, children: Node[] = []): Node {
  const raw = Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, encode(v, attrEscapes)]));
  return Object.keys(raw).length === 0 ? { [tag]: children } : { [tag]: children, ':@': raw };
}

export function textOf(node: Node): string {
  return decode(childrenOf(node).map((c) => (typeof c['#text'] === 'string' ? c['#text'] : '')).join('')).trim();
}

/** The blank text before a parent's first element: the indentation its children use. */
export function indentOf(parent: Node): string | undefined {
  const children = childrenOf(parent);
  const before = children[children.findIndex(isElement) - 1];
  return before !== undefined && isBlank(before) ? (before['#text'] as string) : undefined;
}

/** Inserts `node` after `anchor` (first when undefined), indented like its siblings. */
export function insertAfter(parent: Node, anchor: Node | undefined, node: Node): void {
  const children = childrenOf(parent);
  const indent = indentOf(parent);
  const spacing = indent === undefined ? [] : [{ '#text': indent }];
  const first = children.findIndex(isElement);
  if (anchor !== undefined) children.splice(children.indexOf(anchor) + 1, 0, ...spacing, node);
  else if (first === -1) children.push(node);
  else children.splice(first, 0, node, ...spacing);
}

/** Removes `node` with the blank text that `insertAfter` put next to it, so a removal undoes an insertion exactly. */
export function removeNode(parent: Node, node: Node): void {
  const children = childrenOf(parent);
  const index = children.indexOf(node);
  const isFirst = children.findIndex(isElement) === index;
  const neighbour = isFirst ? index + 1 : index - 1;
  const blank = children[neighbour] !== undefined && isBlank(children[neighbour]);
  children.splice(blank ? Math.min(index, neighbour) : index, blank ? 2 : 1);
}

// --- text ------------------------------------------------------------------

export const textEscapes: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#13;' };
// The builder escapes quotes itself; line breaks and tabs would be normalised to spaces by any XML reader.
export const attrEscapes: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;' };
export const named: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function encode(value: string, escapes: Readonly<Record<string, string>>): string {
  return value.replace(/[&<>\t\n\r]/g, (c) => escapes[c] ?? c);
}

function decode(raw: string): string {
  return raw.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, ref: string) => {
    if (!ref.startsWith('#')) return named[ref] ?? whole;
    const code = ref.startsWith('#x') ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
    return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

// --- documents -------------------------------------------------------------

export interface Document {
  readonly nodes: Node[];
  readonly root: Node;
  readonly trailingNewline: boolean;
}

export function parseDocument(xml: string, what: string): Document {
  checkXmlText(xml);
  let nodes: Node[];
  try {
    nodes = parser.parse(xml) as Node[];
  } catch (error) {
    throw new DomainRefusedError(`cannot read ${what}: ${(error as Error).message}`);
  }
  const roots = nodes.filter(isElement);
  const [root] = roots;
  if (root === undefined || roots.length !== 1) throw new DomainRefusedError(`cannot edit ${what}: expected exactly one root element`);
  return { nodes, root, trailingNewline: xml.endsWith('\n') };
}

export function build(document: Document): string {
  const xml = builder.build(document.nodes) as string;
  return document.trailingNewline && !xml.endsWith('\n') ? `${xml}\n` : xml;
}

