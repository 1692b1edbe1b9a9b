// `virt-aa-hook paths [--shell]`: every host path the program uses, from the
// configuration in effect. The installer and the package scripts ask for
// these instead of repeating them.

import * as path from 'node:path';
import type { Argv } from 'yargs';
import { defaultConfigPath, loadConfig } from '../config.ts';
import type { GlobalArgs } from './context.ts';
import type { CliIo } from './io.ts';

export interface PathsArgs extends GlobalArgs {
  readonly shell: boolean | undefined;
  readonly root: string | undefined;
}

export function pathsBuilder(y: Argv): Argv<PathsArgs> {
  return y
    .option('shell', { type: 'boolean', describe: "print NAME='value' lines for a POSIX shell's eval" })
    .option('root', { type: 'string', describe: 'read the configuration of the system below this directory (a staging root); the paths printed are those on that system' }) as unknown as Argv<PathsArgs>;
}

/** A value single-quoted for a POSIX shell. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

export function runPaths(args: PathsArgs, io: CliIo): void {
  const root = args.root === undefined || args.root === '/' ? '' : path.resolve(args.root);
  // Below a staging root the configuration is the staged one.
  const configFile = root === '' ? (args['config-file'] ?? process.env['VIRT_AA_HOOK_CONFIG'] ?? defaultConfigPath) : root + (args['config-file'] ?? defaultConfigPath);
  const config = loadConfig(configFile);
  const entries: [string, string][] = [
    ['configFile', configFile],
    ...Object.entries(config.paths).map(([key, value]): [string, string] => [key, Array.isArray(value) ? value.join(':') : String(value ?? '')]),
    ...Object.entries(config.layout).map(([key, value]): [string, string] => [key, String(value)]),
  ];
  io.stdout(entries.map(([key, value]) => (args.shell === true ? `${key}=${shellQuote(value)}` : `${key}\t${value}`)).join('\n') + '\n');
}
