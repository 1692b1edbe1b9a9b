// `virt-aa-hook enroll DOMAIN|--all` and `unenroll DOMAIN|--all`: point a
// domain's <emulator> at our wrapper (or take it back to the real emulator),
// with a record in <metadata> of what was changed. New domains get the wrapper
// from the daemon's PATH by themselves; these are for domains defined before,
// with an explicit emulator, or with the per-domain wrapper of earlier
// versions. Static-label enrolment (`--mode libvirt` of earlier versions) is
// retired: where libvirt's AppArmor driver is active, our virt-aa-helper
// confines every domain; `unenroll` takes such a domain back to that path.

import * as fs from 'node:fs';
import * as path from 'node:path';
import tmp from 'tmp';
import type { Argv } from 'yargs';
import { readRequiredFile, removeIfExists, writeIfChanged } from '../apparmor/files.ts';
import { domainSettings } from '../config.ts';
import { enrollDomainXml, enrollmentOf, unenrollDomainXml } from '../domain/edit.ts';
import { parseDomain } from '../domain/parse.ts';
import { replaceEmulator } from '../domain/replace-emulator.ts';
import type { Domain } from '../domain/types.ts';
import { DomainRefusedError, UsageError, describeError } from '../errors.ts';
import { driverIsActive } from '../hook/libvirt-driver.ts';
import { packageRoot } from '../package-root.ts';
import { profilePaths, renderDomainRules } from '../profile-store.ts';
import { isWrapperPath, renderWrapper, wrappedEmulator, wrapperPathFor } from '../wrapper.ts';
import { commandContext, type CommandContext, type GlobalArgs } from './context.ts';
import { exitCodeFor } from './exit.ts';
import type { CliIo } from './io.ts';
import { hostEmulators } from './setup.ts';

export interface EnrollArgs extends GlobalArgs {
  readonly domain: string | undefined;
  readonly all: boolean | undefined;
  readonly 'dry-run': boolean | undefined;
}

export type UnenrollArgs = EnrollArgs;

function domainsBuilder(y: Argv): Argv<UnenrollArgs> {
  return y
    .positional('domain', { type: 'string', describe: 'domain name, UUID or id' })
    .option('all', { type: 'boolean', describe: 'every domain libvirt has a persistent definition of' })
    .option('dry-run', { type: 'boolean', describe: 'print what would change, domain by domain; change nothing' })
    .check((args) => {
      if ((args['domain'] === undefined) === (args['all'] !== true)) throw new UsageError('name one domain, or --all');
      return true;
    }) as unknown as Argv<UnenrollArgs>;
}

export function enrollBuilder(y: Argv): Argv<EnrollArgs> {
  return domainsBuilder(y);
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

/** The real emulator behind a domain's <emulator>: what our record says was there, what our wrapper execs, or the emulator itself. */
function realEmulatorOf(context: CommandContext, domain: Domain, xml: string): string | undefined {
  const recorded = enrollmentOf(xml)?.originalEmulator;
  if (recorded !== undefined) return recorded;
  if (domain.emulator === undefined || !isWrapperPath(domain.emulator, context.config.paths)) return domain.emulator;
  return wrappedEmulator(context.deps.fs.readText(domain.emulator) ?? '');
}

/** The wrapper of a real emulator, written if it is not there yet (setup and sync keep those of the daemon's PATH current). */
function ensureWrapper(context: CommandContext, realEmulator: string): string {
  const target = wrapperPathFor(context.config.paths.emulatorDir, realEmulator, hostEmulators());
  const template = readRequiredFile(path.join(packageRoot(), 'scripts', 'qemu-wrapper'), 'the emulator wrapper template');
  writeIfChanged(target, renderWrapper(template, realEmulator), 0o755);
  return target;
}

/** The wrapper this domain should name, or why it is left alone. */
type EnrollPlan = { readonly kind: 'enroll'; readonly from: string; readonly real: string; readonly to: string } | { readonly kind: 'skip'; readonly why: string };

function planEnroll(context: CommandContext, domain: Domain, xml: string): EnrollPlan {
  const { paths } = context.config;
  if (enrollmentOf(xml)?.mode === 'libvirt') return { kind: 'skip', why: `enrolled with a static label by an earlier version: run 'virt-aa-hook unenroll ${domain.name}' first` };
  if (!domainSettings(context.config, domain.name, domain.uuid).confine) return { kind: 'skip', why: 'the configuration says "confine": false' };
  if (domain.emulator?.startsWith(`${paths.emulatorDir}/`) === true) return { kind: 'skip', why: `already runs through the wrapper ${domain.emulator}` };
  const real = realEmulatorOf(context, domain, xml);
  if (real === undefined || domain.emulator === undefined) return { kind: 'skip', why: 'it names no <emulator>' };
  return { kind: 'enroll', from: domain.emulator, real, to: wrapperPathFor(paths.emulatorDir, real, hostEmulators()) };
}

function checkWrapperUsable(context: CommandContext): void {
  if (driverIsActive(context.config, context.deps.driverFacts)) {
    throw new UsageError("libvirt's AppArmor driver is active on this host: libvirt would exec the wrapper inside the domain's profile, where no shell may run (virt-aa-hook's helper confines every domain here instead)");
  }
}

/** Runs `each` for every persistent domain (or the one named); a failing domain is reported and the others go on. */
function forDomains(context: CommandContext, args: UnenrollArgs, io: CliIo, each: (domain: Domain, xml: string) => void): number {
  const targets = args.all === true ? context.virsh.persistentDomains() : [args.domain ?? ''];
  let exitCode = 0;
  for (const target of targets) {
    try {
      const xml = context.virsh.dumpxml(target, { inactive: true });
      each(parseDomain(xml), xml);
    } catch (error) {
      if (args.all !== true) throw error;
      io.stderr(`virt-aa-hook: error: ${target}: ${describeError(error)}`);
      exitCode ||= exitCodeFor(error);
    }
  }
  return exitCode;
}

export function runEnroll(args: EnrollArgs, io: CliIo): number {
  const context = commandContext(args, io);
  const dryRun = args['dry-run'] === true;
  return forDomains(context, args, io, (domain, xml) => {
    checkWrapperUsable(context);
    const plan = planEnroll(context, domain, xml);
    if (plan.kind === 'skip') {
      io.stdout(`domain '${domain.name}': ${plan.why}\n`);
      return;
    }
    // Refuse now, not at the next start, a domain whose profile would be refused.
    renderDomainRules(domain, context.deps);
    const change = `<emulator> ${plan.from} -> ${plan.to}`;
    if (dryRun) {
      io.stdout(`domain '${domain.name}': would enroll: ${change}\n`);
      return;
    }
    defineXml(context, enrollDomainXml(xml, 'wrapper', ensureWrapper(context, plan.real)));
    io.stdout(`domain '${domain.name}': enrolled (profile libvirt-${domain.uuid}): ${change}; it takes effect at the domain's next start\n`);
  });
}

export function runUnenroll(args: UnenrollArgs, io: CliIo): number {
  const context = commandContext(args, io);
  const dryRun = args['dry-run'] === true;
  return forDomains(context, args, io, (domain, xml) => {
    const enrollment = enrollmentOf(xml);
    const wrapped = domain.emulator !== undefined && isWrapperPath(domain.emulator, context.config.paths);
    if (enrollment === undefined && !wrapped) {
      io.stdout(`domain '${domain.name}' is not enrolled\n`);
      return;
    }
    // A domain that got the wrapper from the daemon's PATH has no record: the wrapper says what it wraps.
    const real = enrollment === undefined ? realEmulatorOf(context, domain, xml) : undefined;
    const changed = enrollment !== undefined ? unenrollDomainXml(xml) : real === undefined ? undefined : replaceEmulator(xml, real);
    if (changed === undefined) throw new DomainRefusedError(`cannot tell which emulator the wrapper "${domain.emulator ?? ''}" stands for`, { domain: domain.name });
    if (dryRun) {
      const what = enrollment?.mode === 'libvirt' ? `the static label libvirt-${domain.uuid} goes` : `<emulator> ${domain.emulator ?? '(none)'} -> ${parseDomain(changed).emulator ?? '(none)'}`;
      io.stdout(`domain '${domain.name}': would unenroll: ${what}\n`);
      return;
    }
    defineXml(context, changed);
    if (enrollment?.mode === 'libvirt' && !context.virsh.isActive(domain.uuid)) {
      context.deps.lock(domain.uuid, () => {
        const placeholder = profilePaths(context.config.paths.apparmorDir, domain.uuid).placeholder;
        if (context.deps.isLoaded(`libvirt-${domain.uuid}`)) context.deps.store.loader.remove(placeholder);
        removeIfExists(placeholder);
      });
    }
    io.stdout(`domain '${domain.name}' unenrolled; it takes effect at the domain's next start\n`);
  });
}
