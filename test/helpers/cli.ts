// Runs the admin CLI in-process and captures what it printed.

import { runCli } from '../../lib/cli/run.ts';

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
