// Turning a host path into AppArmor rule text that can only ever match that
// one path. Quoting alone is not enough: inside quotes the parser still reads
// globs (* ? [ ] { }), variables (@{...}) and backslash escapes, and a raw
// control character would end or garble the rule.

import type { PathPart, Wildcard } from '../profile/access.ts';

// eslint-disable-next-line no-control-regex
const special = /[\\"*?[\]{}^\u0001-\u001f\u007f]/g;

/** A literal path fragment with every AARE special character escaped. */
export function escapeLiteral(text: string): string {
  return text.replace(special, (c) => {
    // apparmor_parser's lexer takes `\\"` for an escaped quote and runs the
    // string on into the next rule; hex escapes have no such ambiguity.
    if (c === '\\') return '\\x5c';
    if (c === '"') return '\\x22';
    // A tab, a newline or an escape sequence in a name (libvirt allows them)
    // would end or garble the rule as raw text; the parser reads exactly two
    // hex digits after \x, measured for every control character.
    const code = c.charCodeAt(0);
    if (code < 0x20 || code === 0x7f) return `\\x${code.toString(16).padStart(2, '0')}`;
    // Escaping "{" already turns "@{" into "@\{", which the parser reads literally.
    return `\\${c}`;
  });
}

const wildcardText: { readonly [W in Wildcard]: string } = {
  any: '*',
  anypath: '**',
  // One to ten digits: an int's worth of domain id, and nothing else.
  'domain-id': `[0-9]${'{,[0-9]}'.repeat(9)}`,
};

/** The AARE body of a pattern, without quotes. */
export function patternText(parts: readonly PathPart[]): string {
  return parts.map((part) => (typeof part === 'string' ? escapeLiteral(part) : wildcardText[part.wildcard])).join('');
}

/** The pattern as a quoted rule path. */
export function quotedPattern(parts: readonly PathPart[]): string {
  return `"${patternText(parts)}"`;
}
