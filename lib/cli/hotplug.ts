// `attach-device`, `detach-device` and `update-device`: libvirt calls no hook
// for hotplug or media changes, so these wrap virsh. The profile grows before
// libvirt hands QEMU a new path, and is rolled back if libvirt then fails; it
// shrinks only after a device is gone.

import * as fs from 'node:fs';
import tmp from 'tmp';
import type { Argv } from 'yargs';
import { writeIfChanged } from '../apparmor/files.ts';
import type { ConfinementMode } from '../config.ts';
import { addDevice, updateDevice } from '../domain/edit.ts';
import { parseDomain } from '../domain/parse.ts';
import type { Domain } from '../domain/types.ts';
import { DomainRefusedError, UsageError, errnoCode } from '../errors.ts';
import { enrolledMode } from '../hook/confinement.ts';
import { applyProfile, profilePaths, readText } from '../profile-store.ts';
import { commandContext, type CommandContext, type GlobalArgs } from './context.ts';
import type { CliIo } from './io.ts';

export interface DeviceArgs extends GlobalArgs {
  readonly domain: string;
  readonly file: string;
  readonly live: boolean | undefined;
  readonly config: boolean | undefined;
  readonly persistent: boolean | undefined;
  readonly current: boolean | undefined;
}

export function deviceBuilder(y: Argv): Argv<DeviceArgs> {
  return y
    .positional('domain', { type: 'string', demandOption: true, describe: 'domain name, UUID or id' })
    .positional('file', { type: 'string', demandOption: true, describe: 'device XML file, or - for standard input (what `virt-aa-hook denials` prints uses that)' })
    .option('live', { type: 'boolean', describe: 'affect the running domain (as virsh)' })
    .option('persistent', { type: 'boolean', describe: 'affect the running domain and its definition (as virsh)' })
    .option('current', { type: 'boolean', describe: 'affect the current state of the domain (as virsh)' })
    .option('config', { type: 'boolean', describe: 'affect the persistent definition (as virsh)' }) as unknown as Argv<DeviceArgs>;
}

type Verb = 'attach-device' | 'detach-device' | 'update-device';

function virshFlags(args: DeviceArgs): readonly string[] {
  return [
    ...(args.live === true ? ['--live'] : []),
    ...(args.persistent === true ? ['--persistent'] : []),
    ...(args.current === true ? ['--current'] : []),
    ...(args.config === true ? ['--config'] : []),
  ];
}

/** Whether the change reaches the running QEMU, by virsh's rules. */
function affectsLive(args: DeviceArgs, active: boolean): boolean {
  if (!active) return false;
  if (args.live === true || args.persistent === true) return true;
  return args.config !== true;
}

/** yargs hands a lone "-" over as an empty string. */
const fromStdin = (file: string): boolean => file === '-' || file === '';

function readDevice(file: string): string {
  try {
    return fs.readFileSync(fromStdin(file) ? 0 : file, 'utf8');
  } catch (error) {
    throw new DomainRefusedError(`cannot read device XML: ${errnoCode(error)}`, { path: fromStdin(file) ? 'standard input' : file });
  }
}

function ourDomain(context: CommandContext, args: DeviceArgs): { readonly domain: Domain; readonly xml: string; readonly mode: ConfinementMode } | undefined {
  const xml = context.virsh.dumpxml(args.domain, { inactive: false });
  const domain = parseDomain(xml);
  const mode = enrolledMode(domain, context.config);
  return mode === undefined ? undefined : { domain, xml, mode };
}

/** virsh reads the device from a file: one from standard input goes through a temporary file, as read once. */
function runVirsh(context: CommandContext, verb: Verb, args: DeviceArgs, device: string): void {
  if (!fromStdin(args.file)) {
    context.virsh.run([verb, ...virshFlags(args), '--', args.domain, args.file]);
    return;
  }
  const file = tmp.fileSync({ prefix: 'virt-aa-hook-device-', postfix: '.xml' });
  try {
    fs.writeFileSync(file.name, device);
    context.virsh.run([verb, ...virshFlags(args), '--', args.domain, file.name]);
  } finally {
    file.removeCallback();
  }
}

export function runDeviceCommand(verb: Verb, args: DeviceArgs, io: CliIo): void {
  if (args.current === true && (args.live === true || args.config === true)) throw new UsageError('--current cannot be combined with --live or --config');
  const context = commandContext(args, io);
  const device = readDevice(args.file);
  const live = affectsLive(args, context.virsh.isActive(args.domain));
  const ours = live ? ourDomain(context, args) : undefined;
  if (ours === undefined) {
    runVirsh(context, verb, args, device);
    io.stdout(`${verb}: done (no running confined domain: the profile follows at the next start)\n`);
    return;
  }
  const { domain, xml, mode } = ours;
  if (verb === 'detach-device') {
    runVirsh(context, verb, args, device);
    // Rules shrink only once the device is really gone from the live definition.
    const after = parseDomain(context.virsh.dumpxml(args.domain, { inactive: false }));
    const { profile } = applyProfile(after, mode, context.deps);
    io.stdout(`detach-device: done; profile libvirt-${domain.uuid} now has ${profile.rules.length} rules\n`);
    return;
  }
  const paths = profilePaths(context.config.paths.apparmorDir, domain.uuid);
  const previous = readText(paths.files);
  const planned = parseDomain(verb === 'attach-device' ? addDevice(xml, device) : updateDevice(xml, device));
  const { profile } = applyProfile(planned, mode, context.deps);
  try {
    runVirsh(context, verb, args, device);
  } catch (error) {
    if (previous !== undefined) {
      context.deps.lock(domain.uuid, () => {
        writeIfChanged(paths.files, previous);
        context.deps.store.loader.replace(paths.profile);
      });
    }
    throw error;
  }
  io.stdout(`${verb}: done; profile libvirt-${domain.uuid} has ${profile.rules.length} rules\n`);
}
