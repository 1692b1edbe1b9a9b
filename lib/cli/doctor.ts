// `virt-aa-hook doctor [--json]`: every precondition of confinement with its
// state and the exact fix of what fails; exit 0 when all is well, 1 when a
// check failed (README.md lists the checks).

import type { Argv } from 'yargs';
import { defaultConfigPath, loadConfig } from '../config.ts';
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

export function runDoctor(args: DoctorArgs, io: CliIo): number {
  const configFile = configFileOf(args);
  const facts = gatherFacts(loadConfig(configFile), configFile, { virsh: new Virsh(args.connect), logs: false });
  if (!facts.root) io.stderr('virt-aa-hook: warning: not root: much of the host cannot be read, and checks may fail for that alone');
  const checks = runChecks(facts);
  io.stdout(args.json === true ? doctorJson(checks, configFile) : doctorText(checks, configFile));
  return doctorExitCode(checks);
}
