// `virt-aa-hook status [DOMAIN] [--json]`: how each domain is confined (or
// why not), its profile, QEMU's live label, its last hook or helper event
// and its denials. Informational: exit 0, or 64 for a DOMAIN libvirt has not.

import type { Argv } from 'yargs';
import { loadConfig } from '../config.ts';
import { UsageError } from '../errors.ts';
import { gatherFacts } from '../inspect/gather.ts';
import { statusJson, statusText } from '../inspect/render.ts';
import { domainStatus, selectDomains } from '../inspect/status.ts';
import { Virsh } from '../virsh.ts';
import type { GlobalArgs } from './context.ts';
import { configFileOf } from './doctor.ts';
import type { CliIo } from './io.ts';

export interface StatusArgs extends GlobalArgs {
  readonly domain: string | undefined;
  readonly json: boolean | undefined;
}

export function statusBuilder(y: Argv): Argv<StatusArgs> {
  return y
    .positional('domain', { type: 'string', describe: 'only this domain (name or UUID)' })
    .option('json', { type: 'boolean', describe: 'print the status as JSON' }) as unknown as Argv<StatusArgs>;
}

export function runStatus(args: StatusArgs, io: CliIo): number {
  const configFile = configFileOf(args);
  const facts = gatherFacts(loadConfig(configFile), configFile, { virsh: new Virsh(args.connect), logs: true });
  if (!facts.root) io.stderr('virt-aa-hook: warning: not root: libvirt\'s files, QEMU\'s labels and the logs may not be readable');
  const selected = selectDomains(facts.domains, args.domain);
  if (args.domain !== undefined && selected.length === 0) {
    throw new UsageError(`no domain '${args.domain}': libvirt has no definition or status file of that name or UUID (in ${facts.config.paths.libvirtConfigDir}/qemu and ${facts.config.layout.qemuRunDir})`);
  }
  const statuses = selected.map((d) => domainStatus(facts, d));
  io.stdout(args.json === true ? statusJson(statuses, facts) : statusText(statuses, facts));
  return 0;
}
