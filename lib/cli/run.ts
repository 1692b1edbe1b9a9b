// The admin command line. yargs is loaded here only, never on the hook's path.

import yargs, { type Argv } from 'yargs';
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
import { manifestBuilder, runManifest, runStage, stageBuilder, type ManifestArgs, type StageArgs } from './package.ts';

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

/**
 * The command line: every command, its options and help text. One parser for
 * running commands, for the man pages (lib/cli/package.ts renders each
 * command's `--help`) and for bash completion (`completion`).
 */
export function cliParser(tokens: readonly string[], io: CliIo, setExit: (code: number) => void, restore: (args: Record<string, unknown>) => void = () => undefined): Argv {
  const devices = ['attach-device', 'detach-device', 'update-device'] as const;
  let y = yargs([...tokens])
    .middleware(restore, true)
    .scriptName('virt-aa-hook')
    .usage('$0 <command> [options]\n\nPer-VM AppArmor confinement for QEMU domains run by libvirt.')
    .option('config-file', { type: 'string', global: true, describe: 'configuration file (default: $VIRT_AA_HOOK_CONFIG or /etc/virt-aa-hook/config.json)' })
    .option('connect', { alias: 'c', type: 'string', global: true, describe: 'libvirt URI for virsh (default: virsh\'s)' })
    .command<GenerateArgs>('generate [file]', 'print the AppArmor rules a domain needs', generateBuilder, (args) => runGenerate(args, io))
    .command('enroll [domain]', "confine a domain (or --all) from its next start on: its <emulator> becomes virt-aa-hook's wrapper", enrollBuilder, (args) => {
      setExit(runEnroll(args, io));
    })
    .command('unenroll [domain]', 'stop confining a domain (or --all) through our wrapper or a static label from its next start on: its real emulator back, or the label gone', enrollBuilder, (args) => {
      setExit(runUnenroll(args, io));
    })
    .command('setup', "write the emulator wrappers and the daemons' PATH drop-in (scripts/install and uninstall run it; sync does the same)", setupBuilder, (args) => runSetup(args, io))
    .command('gc', 'remove profiles of domains that no longer run', {}, (args) => {
      setExit(runGc(args as never, io));
    })
    .command<DenialsArgs>(
      'denials [domain]',
      'print the AppArmor denials of our profiles, one line each, naming the domain',
      (b) => b.positional('domain', { type: 'string', describe: 'only this domain (name or UUID)' }).option('log', { type: 'string', describe: 'read this log (audit.log, kern.log, dmesg output; - for stdin) instead of /var/log/audit/audit.log, journalctl -k or dmesg' }),
      (args) => {
        setExit(runDenials(args, io));
      },
    )
    .command<DoctorArgs>('doctor', 'check every precondition of confinement on this host, with the fix of what fails (exit 1 when a check fails)', doctorBuilder, (args) => {
      setExit(runDoctor(args, io));
    })
    .command<StatusArgs>('status [domain]', "how each domain is confined (or why not), its profile, QEMU's label, its last hook event and its denials", statusBuilder, (args) => {
      setExit(runStatus(args, io));
    })
    .command<PathsArgs>('paths', 'print the host paths virt-aa-hook uses (--shell: for eval in the installer)', pathsBuilder, (args) => runPaths(args, io))
    .command('sync', "at boot and after a QEMU upgrade: wrappers and the daemons' PATH as setup does, placeholders, and the profiles of running domains", {}, (args) => {
      setExit(runSync(args as never, io));
    })
    .command<ManifestArgs>('manifest', 'print what an installation consists of: its files, or the lists packaging needs (debian/rules, the RPM spec and scripts/install read it)', manifestBuilder, (args) => runManifest(args, io))
    .command<StageArgs>('stage <dir>', 'write every file of an installation below a directory, shebangs and man pages made (debian/rules, the RPM spec and scripts/install run it)', stageBuilder, async (args) => runStage(args, io, (tokens) => printedBy(tokens, io)));
  for (const verb of devices) {
    y = y.command(`${verb} <domain> <file>`, `${verb.split('-')[0] ?? ''} a device (XML file, or - for stdin) through virsh, updating the profile around it`, deviceBuilder, (args) => runDeviceCommand(verb, args, io));
  }
  return y
    .completion('completion', 'print a bash completion script (the package installs it)')
    .demandCommand(1, 'name a command')
    .strict()
    .version(version)
    .help()
    .wrap(null)
    .exitProcess(false)
    .fail((message, error) => {
      throw error ?? new UsageError(message);
    });
}

/** Runs one command and returns its exit code; never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = exitCodes.ok;
  const { tokens, restore } = literalArguments(argv);
  try {
    await cliParser(tokens, io, (code) => {
      exitCode = code;
    }, restore).parseAsync();
  } catch (error) {
    io.stderr(errorLine(error));
    exitCode = exitCodeFor(error);
  }
  return exitCode;
}

/** What `virt-aa-hook ARGS --help` prints, without printing it. */
export function helpText(args: readonly string[], io: CliIo): Promise<string> {
  return printedBy([...args, '--help'], io);
}

/** What yargs itself prints for these arguments (help, the completion script), without printing it. */
export async function printedBy(tokens: readonly string[], io: CliIo): Promise<string> {
  let text = '';
  // yargs prints help and its completion script through console.log.
  const log = console.log;
  console.log = (...parts: unknown[]): void => {
    text += `${parts.join(' ')}\n`;
  };
  try {
    await cliParser(tokens, io, () => undefined).parseAsync();
  } finally {
    console.log = log;
  }
  return text;
}
