// `gc`: remove the profiles of domains that no longer run (a host crash or a
// killed libvirtd skips the release hook). `sync`: at boot, before libvirt
// reads its definitions (and after a QEMU upgrade), bring the emulator
// wrappers and the daemons' PATH in line as `setup` does, load a placeholder
// for every domain enrolled in libvirt mode, and the real profile of every
// domain still running.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { listImageRecords, removeImageRecord } from '../apparmor/image-record.ts';
import { listStates } from '../apparmor/state.ts';
import type { Config } from '../config.ts';
import { parseDomain } from '../domain/parse.ts';
import type { Domain } from '../domain/types.ts';
import { describeError } from '../errors.ts';
import { enrolledMode } from '../hook/confinement.ts';
import { driverIsActive } from '../hook/libvirt-driver.ts';
import { applyProfile, loadPlaceholder, removeProfile } from '../profile-store.ts';
import { isWrapperPath } from '../wrapper.ts';
import { commandContext, type CommandContext, type GlobalArgs } from './context.ts';
import type { CliIo } from './io.ts';
import { runHostSetup } from './setup.ts';

/**
 * Every domain document in a directory of libvirt's (`*.xml`). A file being
 * rewritten, or not a domain, is skipped: it tells nothing we can act on.
 */
function domainsIn(dir: string): readonly Domain[] {
  return safeReaddir(dir)
    .filter((e) => e.endsWith('.xml'))
    .flatMap((entry) => {
      try {
        return [parseDomain(fs.readFileSync(path.join(dir, entry), 'utf8'))];
      } catch {
        return [];
      }
    });
}

/** Domains libvirt runs now, from its status files (`<run dir>/<name>.xml`). */
function runningDomains(context: CommandContext): ReadonlyMap<string, Domain> {
  return new Map(domainsIn(context.config.layout.qemuRunDir).map((domain) => [domain.uuid, domain]));
}

/** Domains libvirt has definitions of (`<libvirt config dir>/qemu/*.xml`). */
export function definedDomains(config: Config): readonly Domain[] {
  return domainsIn(path.join(config.paths.libvirtConfigDir, 'qemu'));
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

export function runGc(args: GlobalArgs, io: CliIo): number {
  const context = commandContext(args, io);
  const running = runningDomains(context);
  let failures = 0;
  for (const state of listStates(context.config.paths.stateDir)) {
    // A QEMU still confined by the profile runs, whatever libvirt's status files say (one can be missing after a crash).
    if (running.has(state.uuid) || context.deps.tasksOf(state.uuid).length > 0) continue;
    try {
      const outcome = context.deps.lock(state.uuid, () => removeProfile(state.uuid, state.mode, context.deps));
      io.stdout(`removed profile libvirt-${state.uuid} of '${state.name}' (${outcome})\n`);
    } catch (error) {
      failures += 1;
      io.stderr(`virt-aa-hook: error: cannot remove profile libvirt-${state.uuid} of '${state.name}': ${describeError(error)}`);
    }
  }
  // Where a domain's image headers pointed lasts across its starts, not beyond the domain.
  const defined = new Set(definedDomains(context.config).map((d) => d.uuid));
  for (const uuid of listImageRecords(context.config.paths.stateDir)) {
    if (defined.has(uuid) || running.has(uuid) || context.deps.tasksOf(uuid).length > 0) continue;
    try {
      context.deps.lock(uuid, () => removeImageRecord(context.config.paths.stateDir, uuid));
      io.stdout(`removed the image record of ${uuid}: libvirt defines no such domain\n`);
    } catch (error) {
      failures += 1;
      io.stderr(`virt-aa-hook: error: cannot remove the image record of ${uuid}: ${describeError(error)}`);
    }
  }
  return failures === 0 ? 0 : 3;
}

export function runSync(args: GlobalArgs, io: CliIo): number {
  const context = commandContext(args, io);
  const running = runningDomains(context);
  let failures = 0;
  const attempt = (what: string, action: () => void): void => {
    try {
      action();
      io.stdout(`${what}\n`);
    } catch (error) {
      failures += 1;
      io.stderr(`virt-aa-hook: error: ${what}: ${describeError(error)}`);
    }
  };
  try {
    runHostSetup(context.config, context.deps.driverFacts, { root: '', dryRun: false, remove: false, restart: true }, io);
  } catch (error) {
    failures += 1;
    io.stderr(`virt-aa-hook: error: cannot bring the emulator wrappers in line: ${describeError(error)}`);
  }
  if (driverIsActive(context.config, context.deps.driverFacts)) {
    for (const domain of definedDomains(context.config)) {
      if (domain.emulator !== undefined && isWrapperPath(domain.emulator, context.config.paths)) {
        io.stderr(`virt-aa-hook: warning: domain '${domain.name}' names the wrapper ${domain.emulator}, which cannot run while libvirt's AppArmor driver is active: run 'virt-aa-hook unenroll --all'`);
      }
    }
  }
  for (const domain of running.values()) {
    const mode = enrolledMode(domain, context.config);
    if (mode !== undefined) attempt(`loaded profile of running domain '${domain.name}'`, () => applyProfile(domain, mode, context.deps));
  }
  for (const domain of definedDomains(context.config)) {
    if (running.has(domain.uuid) || enrolledMode(domain, context.config) !== 'libvirt') continue;
    attempt(`loaded placeholder for '${domain.name}'`, () => context.deps.lock(domain.uuid, () => loadPlaceholder(domain.uuid, context.deps.store)));
  }
  return failures === 0 ? 0 : 3;
}
