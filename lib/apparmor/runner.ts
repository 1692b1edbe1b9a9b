// Runs a host command as an argv array, never through a shell, with a fixed
// minimal environment: a hook inherits whatever libvirtd has, and the parser's
// messages must not depend on the admin's locale.

import { childProcess, os } from '../builtins.ts';

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export type CommandRunner = (file: string, args: readonly string[]) => CommandResult;

const environment = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' };

export const runCommand: CommandRunner = (file, args) => {
  const result = childProcess().spawnSync(file, args, {
    env: environment,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    // virsh dumpxml of a large domain can pass the 1 MiB default.
    maxBuffer: 64 * 1024 * 1024,
  });
  // It could not run (ENOENT, EACCES) or was cut off (ENOBUFS): 127, as a shell reports a missing command.
  if (result.error !== undefined) return { code: 127, stdout: result.stdout ?? '', stderr: `${result.stderr ?? ''}${result.error.message}` };
  // Killed by a signal: 128 + its number, as a shell reports it.
  const code = result.status ?? 128 + (result.signal === null ? 0 : os().constants.signals[result.signal]);
  return { code, stdout: result.stdout, stderr: result.stderr };
};
