// Reading AppArmor file rules back, for the parity comparison with libvirt's
// virt-aa-helper: AARE path patterns to JavaScript RegExps, concrete sample
// paths from a pattern, and the file rules and variables of a flattened
// (`apparmor_parser -p`) profile. It follows apparmor_parser's
// convert_aaregex_to_pcre for the subset profiles use; it is not a full
// grammar (no multi-line rules, no `if` blocks, no `link` or permission-first
// rules).

export type Variables = ReadonlyMap<string, readonly string[]>;

type Node =
  | { readonly kind: 'char'; readonly char: string }
  | { readonly kind: 'star' }
  | { readonly kind: 'globstar' }
  | { readonly kind: 'any' }
  | { readonly kind: 'class'; readonly negated: boolean; readonly body: string }
  | { readonly kind: 'alt'; readonly branches: readonly (readonly Node[])[] };

/** `\xHH`, `\dNNN`, `\NNN` (octal), `\n`, `\r`, `\t`; anything else is the character itself. */
function escapeAt(text: string, i: number): { readonly char: string; readonly next: number } {
  const rest = text.slice(i + 1);
  const numeric = /^(?:x([0-9a-fA-F]{1,2})|d([0-9]{1,3})|([0-7]{1,3}))/.exec(rest);
  if (numeric !== null) {
    const [all, hex, dec, oct] = numeric;
    const code = hex !== undefined ? parseInt(hex, 16) : dec !== undefined ? parseInt(dec, 10) : parseInt(oct ?? '0', 8);
    return { char: String.fromCharCode(code), next: i + 1 + all.length };
  }
  const named: Readonly<Record<string, string>> = { n: '\n', r: '\r', t: '\t' };
  const c = rest[0];
  if (c === undefined) throw new Error(`trailing backslash in pattern ${JSON.stringify(text)}`);
  return { char: named[c] ?? c, next: i + 2 };
}

function parse(text: string): readonly Node[] {
  let i = 0;
  const sequence = (inAlt: boolean): Node[] => {
    const nodes: Node[] = [];
    while (i < text.length) {
      const c = text[i] ?? '';
      if (inAlt && (c === ',' || c === '}')) return nodes;
      if (c === '\\') {
        const { char, next } = escapeAt(text, i);
        nodes.push({ kind: 'char', char });
        i = next;
      } else if (c === '*') {
        const globstar = text[i + 1] === '*';
        nodes.push({ kind: globstar ? 'globstar' : 'star' });
        i += globstar ? 2 : 1;
      } else if (c === '?') {
        nodes.push({ kind: 'any' });
        i++;
      } else if (c === '[') {
        nodes.push(charClass());
      } else if (c === '{') {
        i++;
        const branches: Node[][] = [sequence(true)];
        while (text[i] === ',') {
          i++;
          branches.push(sequence(true));
        }
        if (text[i] !== '}') throw new Error(`unclosed { in pattern ${JSON.stringify(text)}`);
        i++;
        nodes.push({ kind: 'alt', branches });
      } else if (c === ']' || c === '}') {
        throw new Error(`unbalanced ${c} in pattern ${JSON.stringify(text)}`);
      } else {
        nodes.push({ kind: 'char', char: c });
        i++;
      }
    }
    if (inAlt) throw new Error(`unclosed { in pattern ${JSON.stringify(text)}`);
    return nodes;
  };
  const charClass = (): Node => {
    i++;
    const negated = text[i] === '^';
    if (negated) i++;
    let body = '';
    while (i < text.length && text[i] !== ']') {
      const c = text[i] ?? '';
      if (c === '\\') {
        const { char, next } = escapeAt(text, i);
        body += classChar(char);
        i = next;
      } else {
        // A range dash stays a range; everything else is a member.
        body += c === '-' ? '-' : classChar(c);
        i++;
      }
    }
    if (text[i] !== ']') throw new Error(`unclosed [ in pattern ${JSON.stringify(text)}`);
    i++;
    return { kind: 'class', negated, body };
  };
  return sequence(false);
}

const classChar = (c: string): string => (/[\\\]^[-]/.test(c) ? `\\${c}` : c);
const regexChar = (c: string): string => c.replace(/[\\^$.*+?()[\]{}|/-]/g, (m) => `\\${m}`);

const isSlash = (node: Node | undefined): boolean => node?.kind === 'char' && node.char === '/';
const isGlob = (node: Node | undefined): boolean => node?.kind === 'star' || node?.kind === 'globstar';

/**
 * A glob run that makes up a whole path component (`/dir/*`, `/dir/**`,
 * `/*\/x`) must match at least one character, so it never matches `/dir/`
 * itself: apparmor_parser emits `[^/]` in front of it.
 */
function wholeComponentGlob(nodes: readonly Node[], index: number, topLevel: boolean): boolean {
  if (!isSlash(nodes[index - 1])) return false;
  let end = index;
  while (isGlob(nodes[end])) end++;
  return isSlash(nodes[end]) || (end === nodes.length && topLevel);
}

function regexSource(nodes: readonly Node[], topLevel: boolean): string {
  return nodes
    .map((node, index) => {
      switch (node.kind) {
        case 'char':
          return regexChar(node.char);
        case 'star':
        case 'globstar': {
          const lead = !isGlob(nodes[index - 1]) && wholeComponentGlob(nodes, index, topLevel) ? '[^/\\0]' : '';
          return `${lead}${node.kind === 'star' ? '[^/\\0]*' : '[^\\0]*'}`;
        }
        case 'any':
          return '[^/\\0]';
        case 'class':
          return `[${node.negated ? '^' : ''}${node.body}]`;
        case 'alt':
          return `(?:${node.branches.map((b) => regexSource(b, false)).join('|')})`;
      }
    })
    .join('');
}

/** Multiple slashes collapse to one, as apparmor_parser's filter_slashes does before matching. */
const collapseSlashes = (text: string): string => text.replace(/\/{2,}/g, '/');

/**
 * Every text a pattern's variables stand for: a variable with several values
 * (`@{HOME}`) gives one pattern per value, as the parser makes one rule per
 * value. `@\{` is not a variable.
 */
function expandVariables(pattern: string, variables: Variables, seen: ReadonlySet<string> = new Set()): readonly string[] {
  let i = 0;
  while (i < pattern.length) {
    if (pattern[i] === '\\') {
      i += 2;
      continue;
    }
    if (pattern.startsWith('@{', i)) {
      const close = pattern.indexOf('}', i);
      const name = pattern.slice(i + 2, close);
      const values = variables.get(name);
      if (close === -1 || values === undefined) throw new Error(`undefined variable @{${name}} in ${JSON.stringify(pattern)}`);
      if (seen.has(name)) throw new Error(`variable @{${name}} refers to itself`);
      const head = pattern.slice(0, i);
      const tails = expandVariables(pattern.slice(close + 1), variables, seen);
      return values.flatMap((value) => expandVariables(value, variables, new Set([...seen, name])).flatMap((v) => tails.map((tail) => `${head}${v}${tail}`)));
    }
    i++;
  }
  return [pattern];
}

/** The paths an AARE file-rule pattern matches, as an anchored RegExp. */
export function aareToRegExp(pattern: string, variables: Variables = new Map()): RegExp {
  const sources = expandVariables(pattern, variables).map((p) => regexSource(parse(collapseSlashes(p)), true));
  return new RegExp(`^(?:${sources.join('|')})$`);
}

/**
 * Each prefix extended by every way of spelling `nodes` with short, ordinary
 * names. A `*` is `x` where it starts a path component and nothing inside
 * one, so `*.so*` gives `x.so` and `[0-9]*` gives `0`.
 */
function extend(prefixes: readonly string[], nodes: readonly Node[]): readonly string[] {
  return nodes.reduce<readonly string[]>((results, node) => {
    switch (node.kind) {
      case 'char':
        return results.map((p) => `${p}${node.char}`);
      case 'globstar':
        return results.map((p) => `${p}qemu`);
      case 'star':
        return results.map((p) => (p.endsWith('/') ? `${p}x` : p));
      case 'any':
        return results.map((p) => `${p}x`);
      case 'class':
        return results.map((p) => `${p}${classSample(node)}`);
      case 'alt':
        return node.branches.flatMap((branch) => extend(results, branch));
    }
  }, prefixes);
}

function classSample(node: Extract<Node, { kind: 'class' }>): string {
  const matcher = new RegExp(`^[${node.negated ? '^' : ''}${node.body}]$`);
  const candidate = ['x', 'a', '0', '_', 'Z'].find((c) => matcher.test(c));
  if (candidate !== undefined) return candidate;
  for (let code = 0x21; code < 0x7f; code++) if (matcher.test(String.fromCharCode(code))) return String.fromCharCode(code);
  throw new Error(`no sample character for [${node.negated ? '^' : ''}${node.body}]`);
}

/**
 * Concrete paths standing for a pattern: every alternative and variable
 * value, `**` as `qemu`, `*` as `x` (or nothing inside a name), `?` as `x`, a
 * class as one of its members.
 */
export function samplePaths(pattern: string, variables: Variables = new Map()): readonly string[] {
  const paths = expandVariables(pattern, variables).flatMap((p) => extend([''], parse(collapseSlashes(p))));
  return [...new Set(paths.map(collapseSlashes))];
}

export interface FileRule {
  /** The AARE pattern, without quotes, escapes as written. */
  readonly path: string;
  /** Permission letters, e.g. `rwk`, `mr`, `Cx`. */
  readonly perms: string;
  readonly deny: boolean;
  readonly owner: boolean;
  /** The enclosing profile, child profiles as `parent//child`; '' outside any profile. */
  readonly profile: string;
}

/** The text of a line before an unquoted `#`. */
function stripComment(line: string): string {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (c === '#' && !quoted) return line.slice(0, i);
  }
  return line;
}

const fileRulePattern =
  /^(?:audit\s+)?(?:(deny|allow)\s+)?(owner\s+)?(?:file\s+)?(?:"((?:[^"\\]|\\.)*)"|([/@]\S*))\s+([rwaklmixuUpPcCD]+)\s*(?:->\s*\S+?\s*)?,$/;
const blockOpenPattern = /^(?:profile\s+(\S+)|hat\s+(\S+)|\^(\S+)|([/@"]\S*)).*\{$/;

/** The file rules of profile text, one per line, with the profile each belongs to. */
export function parseFileRules(text: string): readonly FileRule[] {
  const rules: FileRule[] = [];
  const stack: string[] = [];
  for (const raw of text.split('\n')) {
    const line = stripComment(raw).trim();
    const open = blockOpenPattern.exec(line);
    if (open !== null) {
      stack.push((open[1] ?? open[2] ?? open[3] ?? open[4] ?? '').replace(/^"|"$/g, ''));
      continue;
    }
    if (line === '}') {
      stack.pop();
      continue;
    }
    const rule = fileRulePattern.exec(line);
    if (rule === null) continue;
    const [, mode, owner, quoted, bare, perms] = rule;
    rules.push({ path: quoted ?? bare ?? '', perms: perms ?? '', deny: mode === 'deny', owner: owner !== undefined, profile: stack.join('//') });
  }
  return rules;
}

/** `@{NAME}=a b` and `@{NAME}+=c` lines; quoted values lose their quotes. */
export function parseVariables(text: string): Map<string, string[]> {
  const variables = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const assignment = /^\s*@\{(\w+)\}\s*(\+?=)\s*(.*)$/.exec(stripComment(raw));
    if (assignment === null) continue;
    const [, name = '', operator, valueText = ''] = assignment;
    const values = [...valueText.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
    variables.set(name, operator === '+=' ? [...(variables.get(name) ?? []), ...values] : values);
  }
  return variables;
}
