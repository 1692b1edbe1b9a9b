// The admin command line. yargs is loaded here only, never on the hook's path.

import yargs from 'yargs';
import { UsageError } from '../errors.ts';
import { errorLine, exitCodeFor, exitCodes } from './exit.ts';
import { generateBuilder, runGenerate, type GenerateArgs } from './generate.ts';
import type { CliIo } from './io.ts';

declare const VIRT_AA_HOOK_VERSION: string | undefined;
const version = typeof VIRT_AA_HOOK_VERSION === 'string' ? VIRT_AA_HOOK_VERSION : 'development';

/** Runs one command and returns its exit code; never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = exitCodes.ok;
  const fail = (error: unknown): void => {
    io.stderr(errorLine(error));
    exitCode = exitCodeFor(error);
  };
  try {
    await yargs([...argv])
      .scriptName('virt-aa-hook')
      .usage('$0 <command> [options]\n\nPer-VM AppArmor confinement for QEMU domains run by libvirt.')
      .command<GenerateArgs>('generate [file]', 'print the AppArmor rules a domain needs', generateBuilder, (args) => runGenerate(args, io))
      .demandCommand(1, 'name a command')
      .strict()
      .version(version)
      .help()
      .wrap(null)
      .exitProcess(false)
      .fail((message, error) => {
        throw error ?? new UsageError(message);
      })
      .parseAsync();
  } catch (error) {
    fail(error);
  }
  return exitCode;
}
