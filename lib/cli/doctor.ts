// `virt-aa-hook doctor [--json]`: every precondition of confinement with its
// state and the exact fix of what fails; exit 0 when all is well, 1 when a
// check failed (README.md lists the checks).

import type { Argv } from 'yargs';
import { defaultConfig, defaultConfigPath, loadConfig, type Config } from '../config.ts';
import { UsageError, describeError } from '../errors.ts';
import { runChecks } from '../inspect/doctor.ts';
import { gatherFacts } from '../inspect/gather.ts';
import { doctorExitCode, doctorJson, doctorText } from '../inspect/render.ts';
import { Virsh } from '../virsh.ts';
import type { GlobalArgs } from './context.ts';
import type { CliIo } from './io.ts';

export interface DoctorArgs extends GlobalArgs {
  readonly json: boolean | undefined;
}

export function doctorBuilder(y: Argv): Argv<DoctorArgs> {
  return y.option('json', { type: 'boolean', describe: 'print the checks as JSON' }) as unknown as Argv<DoctorArgs>;
}

/** The configuration file in effect, as loadConfig picks it. */
export const configFileOf = (args: GlobalArgs): string => args['config-file'] ?? process.env['VIRT_AA_HOOK_CONFIG'] ?? defaultConfigPath;

/** The configuration in effect, or the defaults and why the file cannot be used: doctor reports it as a check, and goes on. */
function configOrDefaults(configFile: string): { readonly config: Config; readonly problem: string | undefined } {
  try {
    return { config: loadConfig(configFile), problem: undefined };
  } catch (error) {
    if (error instanceof UsageError) return { config: defaultConfig, problem: describeError(error) };
    throw error;
  }
}

export function runDoctor(args: DoctorArgs, io: CliIo): number {
  const configFile = configFileOf(args);
  const { config, problem } = configOrDefaults(configFile);
  const facts = gatherFacts(config, configFile, { virsh: new Virsh(args.connect), logs: false, configProblem: problem });
  if (!facts.root) io.stderr('virt-aa-hook: warning: not root: much of the host cannot be read, and checks may fail for that alone');
  const checks = runChecks(facts);
  io.stdout(args.json === true ? doctorJson(checks, configFile) : doctorText(checks, configFile));
  return doctorExitCode(checks);
}
