// Runs the admin CLI in-process and captures what it printed.

import * as path from 'node:path';
import { runCli } from '../../lib/cli/run.ts';
import { checkoutRoot } from './apparmor-parser.ts';

/**
 * A configuration with nothing in it: `generate` reads the configuration in
 * effect, and tests must not depend on this machine's /etc/virt-aa-hook/config.json.
 */
export const emptyConfig = path.join(checkoutRoot, 'test/fixtures/empty-config.json');

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runCapture(argv: readonly string[]): Promise<CliRun> {
  let stdout = '';
  const stderr: string[] = [];
  const code = await runCli(argv, { stdout: (text) => (stdout += text), stderr: (line) => stderr.push(line) });
  return { code, stdout, stderr: stderr.map((l) => `${l}\n`).join('') };
}
