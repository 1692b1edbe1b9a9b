// How a domain gets into its profile, read from the domain XML itself: our
// emulator wrapper, a static libvirt label naming our profile, libvirt's own
// dynamic labelling, nothing at all, or nothing on purpose ("confine": false).

import { defaultConfigPath, domainSettings, type Config, type ConfinementMode } from '../config.ts';
import type { Domain } from '../domain/types.ts';
import { profileName } from '../profile/synthesize.ts';
import { commandLine } from '../shell-words.ts';
import { isWrapperPath } from '../wrapper.ts';
import { driverIsActive, labelledByLibvirt, type DriverFacts } from './libvirt-driver.ts';

export type Confinement = { readonly kind: ConfinementMode } | { readonly kind: 'libvirt-dynamic' } | { readonly kind: 'unenrolled' } | { readonly kind: 'unconfined-by-choice' };

export function enrolledMode(domain: Domain, config: Config): ConfinementMode | undefined {
  const staticLabel = domain.seclabels.some((s) => s.model === 'apparmor' && s.type === 'static' && s.label === profileName(domain.uuid));
  if (staticLabel) return 'libvirt';
  if (domain.emulator !== undefined && isWrapperPath(domain.emulator, config.paths)) return 'wrapper';
  return undefined;
}

export function confinementOf(domain: Domain, config: Config, driverFacts: () => DriverFacts): Confinement {
  const mode = enrolledMode(domain, config);
  if (mode !== undefined) return { kind: mode };
  if (config.libvirtDriver !== 'inactive') {
    const facts = driverFacts();
    if (labelledByLibvirt(domain, driverIsActive(config, () => facts), facts)) return { kind: 'libvirt-dynamic' };
  }
  return domainSettings(config, domain.name, domain.uuid).confine ? { kind: 'unenrolled' } : { kind: 'unconfined-by-choice' };
}

/** Why a domain is not confined, and the exact fix: the command that confines it, or the key that lets it run so on purpose. */
export function unconfinedReason(domain: Domain): string {
  const emulator = domain.emulator === undefined ? 'it names no <emulator>' : `its emulator "${domain.emulator}" is not virt-aa-hook's wrapper`;
  return `${emulator}: run '${commandLine('enroll', [domain.name])}', or set "domains": {${JSON.stringify(domain.name)}: {"confine": false}} in ${defaultConfigPath} to run it unconfined on purpose`;
}

/** A wrapper always confines: "confine": false cannot be honoured while the domain names one. */
export function contradictionReason(domain: Domain): string {
  return `the configuration says "confine": false, but its emulator "${domain.emulator ?? ''}" is virt-aa-hook's wrapper, which always confines: run '${commandLine('unenroll', [domain.name])}' to run it unconfined, or drop "confine": false`;
}
