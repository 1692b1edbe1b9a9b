// Compiles profile text with the real apparmor_parser (no kernel load, no
// cache), resolving our abstractions from the checkout's apparmor.d. Tests
// call this on every profile they produce.

import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import tmp from 'tmp';

export const checkoutRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const apparmorParser = ['/usr/sbin/apparmor_parser', '/sbin/apparmor_parser'].find((p) => existsSync(p));
/** The feature set apparmor-utils ships, to compile against without an AppArmor kernel; null when absent. */
export const featuresFile: string | null = existsSync('/usr/share/apparmor-features/features') ? '/usr/share/apparmor-features/features' : null;

export interface CompileResult {
  readonly ok: boolean;
  readonly output: string;
}

export function parserArgs(extraIncludeDirs: readonly string[] = []): string[] {
  const args = ['-Q', '-K', '-T', '-I', path.join(checkoutRoot, 'apparmor.d')];
  for (const dir of extraIncludeDirs) args.push('-I', dir);
  if (featuresFile !== null) args.push('-M', featuresFile);
  return args;
}

/** Compiles one or more profile texts in a single parser run. */
export function compileProfiles(texts: readonly string[], extraIncludeDirs: readonly string[] = []): CompileResult {
  if (apparmorParser === undefined) throw new Error('apparmor_parser is not installed (apt-get install apparmor)');
  const dir = tmp.dirSync({ unsafeCleanup: true });
  try {
    const files = texts.map((text, i) => {
      const file = path.join(dir.name, `profile-${i}`);
      writeFileSync(file, text);
      return file;
    });
    const run = spawnSync(apparmorParser, [...parserArgs(extraIncludeDirs), ...files], { encoding: 'utf8' });
    return { ok: run.status === 0, output: `${run.stdout}${run.stderr}`.trim() };
  } finally {
    dir.removeCallback();
  }
}

export function compileProfile(text: string, extraIncludeDirs: readonly string[] = []): CompileResult {
  return compileProfiles([text], extraIncludeDirs);
}

/** The parser's own view of each path rule (`-D rule-exprs`), for escaping tests. */
export function ruleExpressions(text: string): string {
  if (apparmorParser === undefined) throw new Error('apparmor_parser is not installed');
  const file = tmp.fileSync();
  try {
    writeFileSync(file.name, text);
    // The parser writes its dumps to stderr.
    const run = spawnSync(apparmorParser, [...parserArgs(), '-D', 'rule-exprs', file.name], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`apparmor_parser failed: ${run.stderr}`);
    return `${run.stdout}${run.stderr}`;
  } finally {
    file.removeCallback();
  }
}
