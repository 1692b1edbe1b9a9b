// Replaces the text of a domain's <devices><emulator> and nothing else, byte
// for byte: what the migrate and restore hooks print is the XML libvirt then
// uses, and the order-preserving tree of ordered-xml.ts would rewrite quotes.
// A small scanner of well-formed XML (the hook parsed the document already):
// it steps over comments, CDATA, processing instructions and quoted attribute
// values, and tracks the element path, so an <emulator> in <metadata> or in a
// comment is never the one replaced.

import { DomainRefusedError } from '../errors.ts';
import { textEscapes } from './ordered-xml.ts';

interface Span {
  readonly start: number;
  readonly end: number;
}

function fail(what: string): never {
  throw new DomainRefusedError(`cannot replace <emulator> in the domain XML: ${what}`);
}

/** Where the character data of /domain/devices/emulator starts and ends, or undefined when there is none. */
export function emulatorTextSpan(xml: string): Span | undefined {
  const stack: string[] = [];
  let i = 0;
  const skipPast = (terminator: string): void => {
    const at = xml.indexOf(terminator, i);
    if (at === -1) fail(`unterminated ${terminator === '-->' ? 'comment' : terminator === ']]>' ? 'CDATA section' : 'markup'}`);
    i = at + terminator.length;
  };
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    if (lt === -1) break;
    i = lt;
    if (xml.startsWith('<!--', i)) skipPast('-->');
    else if (xml.startsWith('<![CDATA[', i)) skipPast(']]>');
    else if (xml.startsWith('<?', i)) skipPast('?>');
    else if (xml.startsWith('<!', i)) fail('it has a document type declaration');
    else if (xml.startsWith('</', i)) {
      stack.pop();
      skipPast('>');
    } else {
      const name = /^<([^\s/>]+)/.exec(xml.slice(i, i + 256))?.[1] ?? fail('an element without a name');
      // The tag ends at the first ">" outside a quoted attribute value.
      let j = i + 1 + name.length;
      let quote: string | undefined;
      for (; j < xml.length; j++) {
        const c = xml[j];
        if (quote !== undefined) {
          if (c === quote) quote = undefined;
        } else if (c === '"' || c === "'") quote = c;
        else if (c === '>') break;
      }
      if (j >= xml.length) fail(`unterminated tag <${name}>`);
      const selfClosing = xml[j - 1] === '/';
      i = j + 1;
      const isEmulator = stack.length === 2 && stack[0] === 'domain' && stack[1] === 'devices' && name === 'emulator';
      if (isEmulator) {
        if (selfClosing) return undefined;
        const close = xml.indexOf('</emulator', i);
        if (close === -1) fail('<emulator> is not closed');
        return { start: i, end: close };
      }
      if (!selfClosing) stack.push(name);
    }
  }
  return undefined;
}

/** The XML with the emulator path replaced; every other byte as it was. Undefined when the domain has no <emulator> text to replace. */
export function replaceEmulator(xml: string, emulator: string): string | undefined {
  const span = emulatorTextSpan(xml);
  if (span === undefined) return undefined;
  const text = emulator.replace(/[&<>\r]/g, (c) => textEscapes[c] ?? c);
  return `${xml.slice(0, span.start)}${text}${xml.slice(span.end)}`;
}
