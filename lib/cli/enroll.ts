// `virt-aa-hook enroll DOMAIN [--mode wrapper|libvirt]` and `unenroll DOMAIN`:
// put a domain's definition into one of the two ways QEMU enters its profile,
// or take it out again.

import * as fs from 'node:fs';
import * as path from 'node:path';
import tmp from 'tmp';
import type { Argv } from 'yargs';
import { readRequiredFile, removeIfExists, writeIfChanged } from '../apparmor/files.ts';
import { confinementModes, type ConfinementMode } from '../config.ts';
import { enrollDomainXml, enrollmentOf, unenrollDomainXml } from '../domain/edit.ts';
import { parseDomain } from '../domain/parse.ts';
import { UsageError } from '../errors.ts';
import { packageRoot } from '../package-root.ts';
import { loadPlaceholder, profilePaths, renderDomainRules } from '../profile-store.ts';
import { renderWrapper, wrapperFileName } from '../wrapper.ts';
import { commandContext, type CommandContext, type GlobalArgs } from './context.ts';
import type { CliIo } from './io.ts';

export interface EnrollArgs extends GlobalArgs {
  readonly domain: string;
  readonly mode: ConfinementMode | undefined;
}

export function enrollBuilder(y: Argv): Argv<EnrollArgs> {
  return y
    .positional('domain', { type: 'string', demandOption: true, describe: 'domain name, UUID or id' })
    .option('mode', { choices: confinementModes, describe: 'how QEMU enters its profile (default: "mode" of the configuration)' }) as unknown as Argv<EnrollArgs>;
}

export function domainBuilder(y: Argv): Argv<GlobalArgs & { readonly domain: string }> {
  return y.positional('domain', { type: 'string', demandOption: true, describe: 'domain name, UUID or id' }) as unknown as Argv<GlobalArgs & { readonly domain: string }>;
}

/** Defines a changed domain XML through a temporary file. */
export function defineXml(context: CommandContext, xml: string): void {
  const file = tmp.fileSync({ prefix: 'virt-aa-hook-', postfix: '.xml' });
  try {
    fs.writeFileSync(file.name, xml);
    context.virsh.define(file.name);
  } finally {
    file.removeCallback();
  }
}

/** The emulator wrapper for a real emulator, installed where libvirt may exec it. */
function installWrapper(context: CommandContext, realEmulator: string): string {
  const template = readRequiredFile(path.join(packageRoot(), 'scripts', 'qemu-wrapper'), 'the emulator wrapper template');
  const target = path.join(context.config.paths.wrapperDir, wrapperFileName(realEmulator));
  writeIfChanged(target, renderWrapper(template, realEmulator), 0o755);
  return target;
}

export function runEnroll(args: EnrollArgs, io: CliIo): void {
  const context = commandContext(args, io);
  const mode = args.mode ?? context.config.mode;
  const xml = context.virsh.dumpxml(args.domain, { inactive: true });
  const domain = parseDomain(xml);
  // Refuse now, not at the next start, a domain whose profile would be refused.
  renderDomainRules(domain, context.deps);
  const current = enrollmentOf(xml);
  const realEmulator = current?.originalEmulator ?? domain.emulator;
  let wrapperPath: string | undefined;
  if (mode === 'wrapper') {
    if (realEmulator === undefined) throw new UsageError(`domain '${domain.name}' has no <emulator>: cannot wrap it`);
    wrapperPath = installWrapper(context, realEmulator);
  } else {
    if (!context.virsh.hasAppArmorDriver()) {
      throw new UsageError(`libvirt's AppArmor driver is not active on this host (virsh capabilities lists no apparmor secmodel): use --mode wrapper`);
    }
    // libvirt checks that a static label's profile is loaded when it reads the definition.
    context.deps.lock(domain.uuid, () => loadPlaceholder(domain.uuid, context.deps.store));
  }
  defineXml(context, enrollDomainXml(xml, mode, wrapperPath));
  io.stdout(`domain '${domain.name}' enrolled in ${mode} mode (profile libvirt-${domain.uuid}); it takes effect at the domain's next start\n`);
}

export function runUnenroll(args: GlobalArgs & { readonly domain: string }, io: CliIo): void {
  const context = commandContext(args, io);
  const xml = context.virsh.dumpxml(args.domain, { inactive: true });
  const domain = parseDomain(xml);
  const enrollment = enrollmentOf(xml);
  if (enrollment === undefined) {
    io.stdout(`domain '${domain.name}' is not enrolled\n`);
    return;
  }
  defineXml(context, unenrollDomainXml(xml));
  if (enrollment.mode === 'libvirt' && !context.virsh.isActive(args.domain)) {
    context.deps.lock(domain.uuid, () => {
      const placeholder = profilePaths(context.config.paths.apparmorDir, domain.uuid).placeholder;
      if (context.deps.isLoaded(`libvirt-${domain.uuid}`)) context.deps.store.loader.remove(placeholder);
      removeIfExists(placeholder);
    });
  }
  io.stdout(`domain '${domain.name}' unenrolled; it takes effect at the domain's next start\n`);
}
