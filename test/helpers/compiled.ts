// What the real apparmor_parser compiles from a profile, read back so that a
// test can say "no rule grants this path" about the parser's own view rather
// than about our text: the path expressions of `-D rule-exprs` (the parser's
// regex, which JavaScript reads as it is), the network rules it encodes, and
// the flattened text of `-p` for capabilities and includes.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import tmp from 'tmp';
import { apparmorParser, checkoutRoot, parserArgs, ruleExpressions } from './apparmor-parser.ts';
import { runCapture, type CliRun } from './cli.ts';

export interface CompiledPathRule {
  /** The parser's regex for the rule's path, as it prints it. */
  readonly expression: string;
  readonly regex: RegExp;
  readonly deny: boolean;
  /** The parser's permission mask of the rule (for a deny rule, what it denies). */
  readonly mask: number;
}

/** AppArmor's permission bit for writes (AA_MAY_WRITE). */
export const mayWrite = 0x2;

/**
 * The parser's regex as JavaScript reads it. It is PCRE-like, except that an
 * escaped `\?` of the rule comes out as a bare `?` (a glob `?` comes out as a
 * character class): a bare `?` is always literal.
 */
function javascriptRegex(expression: string): RegExp {
  let source = '';
  for (let i = 0; i < expression.length; i += 1) {
    const c = expression[i] ?? '';
    if (c === '\\') {
      source += c + (expression[i + 1] ?? '');
      i += 1;
    } else {
      source += c === '?' ? '\\?' : c;
    }
  }
  return new RegExp(`^(?:${source})$`, 's');
}

/** The path rules of a `-D rule-exprs` dump, allow and deny. */
export function pathRulesOf(dump: string): readonly CompiledPathRule[] {
  // "rule: <regex>  ->  <dfa text> [deny ](0xPERMS/0xAUDIT)< 0xPERMS>"; a path
  // may hold a newline, which the parser prints as it is.
  const records = /^rule: ([/(][\s\S]*?) {2}-> {2}([\s\S]*?) \(0x([0-9a-f]+)\/[0-9a-f]+\)< 0x[0-9a-f]+>$/gm;
  return [...dump.matchAll(records)].map(([, expression = '', rest = '', mask = '0']) => ({
    expression,
    regex: javascriptRegex(expression),
    deny: rest.endsWith(' deny'),
    mask: Number.parseInt(mask, 16),
  }));
}

/** Every path rule of the compiled profile (and of its child profiles), allow and deny. */
export function compiledPathRules(profileText: string): readonly CompiledPathRule[] {
  return pathRulesOf(ruleExpressions(profileText));
}

/** The allow rules whose path expression matches `hostPath`. */
export function pathGrants(profileText: string, hostPath: string): readonly string[] {
  return compiledPathRules(profileText)
    .filter((rule) => !rule.deny && rule.regex.test(hostPath))
    .map((rule) => rule.expression);
}

/** Address families and socket types as the parser encodes a network rule. */
const families = { inet: 2, inet6: 10, netlink: 16 } as const;
const socketTypes = { stream: 1, dgram: 2, raw: 3 } as const;

/**
 * The profile without the child profiles nested in it (a helper such as passt
 * runs in one, with its own network needs): QEMU's own rules only.
 */
export function withoutChildProfiles(profileText: string): string {
  return profileText.replace(/^( +)profile \S+ \{\n[\s\S]*?^\1\}$/gm, '');
}

/** Whether QEMU's own profile (child profiles left out) allows `network <family> <type>` once compiled. */
export function allowsNetwork(profileText: string, family: keyof typeof families, type: keyof typeof socketTypes): boolean {
  const hex = (n: number): string => `\\x${n.toString(16).padStart(2, '0')}`;
  const encoded = `rule: \\x0e\\x00${hex(families[family])}\\x00${hex(socketTypes[type])}  ->`;
  return ruleExpressions(withoutChildProfiles(profileText))
    .split('\n')
    .some((line) => line.startsWith(encoded) && !/ deny \(/.test(line));
}

/** The profile with every include expanded (`apparmor_parser -p`). */
export function flattened(profileText: string): string {
  if (apparmorParser === undefined) throw new Error('apparmor_parser is not installed');
  const file = tmp.fileSync();
  try {
    fs.writeFileSync(file.name, profileText);
    const run = spawnSync(apparmorParser, [...parserArgs(), '-p', file.name], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`apparmor_parser -p failed: ${run.stderr}`);
    return run.stdout;
  } finally {
    file.removeCallback();
  }
}

export interface GenerateOptions {
  /** The host root paths are resolved against (`generate --root`). */
  readonly root?: string;
  /** A configuration file (`--config-file`). */
  readonly configFile?: string;
}

/** `virt-aa-hook generate --profile` of a domain XML text. */
export async function generateProfile(xml: string, options: GenerateOptions = {}): Promise<CliRun> {
  const dir = tmp.dirSync({ unsafeCleanup: true });
  try {
    const file = path.join(dir.name, 'domain.xml');
    fs.writeFileSync(file, xml);
    const args = ['generate', '--profile', '--template', path.join(checkoutRoot, 'apparmor.d/virt-aa-hook/TEMPLATE.qemu')];
    if (options.root !== undefined) args.push('--root', options.root);
    if (options.configFile !== undefined) args.push('--config-file', options.configFile);
    return await runCapture([...args, file]);
  } finally {
    dir.removeCallback();
  }
}
