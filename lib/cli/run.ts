// The admin command line. yargs is loaded here only, never on the hook's path.

import yargs from 'yargs';
import { UsageError } from '../errors.ts';
import { errorLine, exitCodeFor, exitCodes } from './exit.ts';
import { enrollBuilder, runEnroll, runUnenroll } from './enroll.ts';
import { generateBuilder, runGenerate, type GenerateArgs } from './generate.ts';
import { deviceBuilder, runDeviceCommand } from './hotplug.ts';
import type { CliIo } from './io.ts';
import { runGc, runSync } from './maintenance.ts';
import { runDenials, type DenialsArgs } from './denials.ts';
import { doctorBuilder, runDoctor, type DoctorArgs } from './doctor.ts';
import { runStatus, statusBuilder, type StatusArgs } from './status.ts';
import { pathsBuilder, runPaths, type PathsArgs } from './paths.ts';
import { runSetup, setupBuilder } from './setup.ts';

declare const VIRT_AA_HOOK_VERSION: string | undefined;
const version = typeof VIRT_AA_HOOK_VERSION === 'string' ? VIRT_AA_HOOK_VERSION : 'development';

/**
 * yargs never fills positionals from what follows `--`, yet that is how a
 * domain named `--version` must be given. Those arguments travel through the
 * parser as placeholders and are put back before any command sees them.
 */
function literalArguments(argv: readonly string[]): { readonly tokens: string[]; readonly restore: (args: Record<string, unknown>) => void } {
  const split = argv.indexOf('--');
  if (split === -1) return { tokens: [...argv], restore: () => undefined };
  const literal = argv.slice(split + 1);
  const placeholder = (i: number): string => `@@virt-aa-hook-literal-${i}@@`;
  return {
    tokens: [...argv.slice(0, split), ...literal.map((_, i) => placeholder(i))],
    restore: (args) => {
      for (const [key, value] of Object.entries(args)) {
        const index = literal.findIndex((_, i) => value === placeholder(i));
        if (index !== -1) args[key] = literal[index];
      }
    },
  };
}

/** Runs one command and returns its exit code; never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = exitCodes.ok;
  const fail = (error: unknown): void => {
    io.stderr(errorLine(error));
    exitCode = exitCodeFor(error);
  };
  const devices = ['attach-device', 'detach-device', 'update-device'] as const;
  const { tokens, restore } = literalArguments(argv);
  try {
    let y = yargs(tokens)
      .middleware(restore, true)
      .scriptName('virt-aa-hook')
      .usage('$0 <command> [options]\n\nPer-VM AppArmor confinement for QEMU domains run by libvirt.')
      .option('config-file', { type: 'string', global: true, describe: 'configuration file (default: $VIRT_AA_HOOK_CONFIG or /etc/virt-aa-hook/config.json)' })
      .option('connect', { alias: 'c', type: 'string', global: true, describe: 'libvirt URI for virsh (default: virsh\'s)' })
      .command<GenerateArgs>('generate [file]', 'print the AppArmor rules a domain needs', generateBuilder, (args) => runGenerate(args, io))
      .command('enroll [domain]', "confine a domain (or --all) from its next start on: its <emulator> becomes virt-aa-hook's wrapper", enrollBuilder, (args) => {
        exitCode = runEnroll(args, io);
      })
      .command('unenroll [domain]', 'stop confining a domain (or --all) through our wrapper or a static label from its next start on: its real emulator back, or the label gone', enrollBuilder, (args) => {
        exitCode = runUnenroll(args, io);
      })
      .command('setup', "write the emulator wrappers and the daemons' PATH drop-in (scripts/install and uninstall run it; sync does the same)", setupBuilder, (args) => runSetup(args, io))
      .command('gc', 'remove profiles of domains that no longer run', {}, (args) => {
        exitCode = runGc(args as never, io);
      })
      .command<DenialsArgs>(
        'denials [domain]',
        'print the AppArmor denials of our profiles, one line each, naming the domain',
        (b) => b.positional('domain', { type: 'string', describe: 'only this domain (name or UUID)' }).option('log', { type: 'string', describe: 'read this log (audit.log, kern.log, dmesg output; - for stdin) instead of /var/log/audit/audit.log, journalctl -k or dmesg' }),
        (args) => {
          exitCode = runDenials(args, io);
        },
      )
      .command<DoctorArgs>('doctor', 'check every precondition of confinement on this host, with the fix of what fails (exit 1 when a check fails)', doctorBuilder, (args) => {
        exitCode = runDoctor(args, io);
      })
      .command<StatusArgs>('status [domain]', "how each domain is confined (or why not), its profile, QEMU's label, its last hook event and its denials", statusBuilder, (args) => {
        exitCode = runStatus(args, io);
      })
      .command<PathsArgs>('paths', 'print the host paths virt-aa-hook uses (--shell: for eval in the installer)', pathsBuilder, (args) => runPaths(args, io))
      .command('sync', "at boot and after a QEMU upgrade: wrappers and the daemons' PATH as setup does, placeholders, and the profiles of running domains", {}, (args) => {
        exitCode = runSync(args as never, io);
      });
    for (const verb of devices) {
      y = y.command(`${verb} <domain> <file>`, `${verb.split('-')[0] ?? ''} a device (XML file, or - for stdin) through virsh, updating the profile around it`, deviceBuilder, (args) => runDeviceCommand(verb, args, io));
    }
    await y
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
