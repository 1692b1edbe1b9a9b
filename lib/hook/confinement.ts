// How a domain gets into its profile, read from the domain XML itself: our
// emulator wrapper, a static libvirt label naming our profile (enrolled by an
// earlier version), libvirt's own AppArmor driver (which runs our
// virt-aa-helper), nothing at all, or nothing on purpose ("confine": false).

import { defaultConfigPath, domainSettings, type Config } from '../config.ts';
import type { Domain } from '../domain/types.ts';
import { profileName } from '../profile/synthesize.ts';
import { commandLine } from '../shell-words.ts';
import { isWrapperPath } from '../wrapper.ts';
import { driverIsActive, labelledByLibvirt, type DriverFacts } from './libvirt-driver.ts';

export type Confinement =
  | { readonly kind: 'wrapper' }
  /** A static label from an earlier version's `enroll --mode libvirt`: still confined, with a placeholder while down. */
  | { readonly kind: 'libvirt' }
  /** libvirt's AppArmor driver labels it and runs virt-aa-helper (ours, once installed) at every change. */
  | { readonly kind: 'driver' }
  /** Our wrapper on a host where libvirt's driver also labels it: QEMU would be exec'd through a shell inside its own profile. */
  | { readonly kind: 'wrapper-under-driver' }
  | { readonly kind: 'unenrolled' }
  | { readonly kind: 'unconfined-by-choice' };

export type EnrolledMode = 'wrapper' | 'libvirt';

export function enrolledMode(domain: Domain, config: Config): EnrolledMode | undefined {
  const staticLabel = domain.seclabels.some((s) => s.model === 'apparmor' && s.type === 'static' && s.label === profileName(domain.uuid));
  if (staticLabel) return 'libvirt';
  if (domain.emulator !== undefined && isWrapperPath(domain.emulator, config.paths)) return 'wrapper';
  return undefined;
}

export function confinementOf(domain: Domain, config: Config, driverFacts: () => DriverFacts): Confinement {
  const mode = enrolledMode(domain, config);
  if (mode === 'libvirt') return { kind: 'libvirt' };
  const labelled = driverIsActive(config, driverFacts) && labelledByLibvirt(domain, driverFacts());
  if (mode === 'wrapper') return labelled ? { kind: 'wrapper-under-driver' } : { kind: 'wrapper' };
  if (labelled) return { kind: 'driver' };
  return domainSettings(config, domain.name, domain.uuid).confine ? { kind: 'unenrolled' } : { kind: 'unconfined-by-choice' };
}

/**
 * From `start begin` on, the XML libvirt hands the hook carries the label its
 * driver generated: proof that the driver, not a guess about it, confines
 * the domain.
 */
export function carriesDriverLabel(domain: Domain): boolean {
  return domain.seclabels.some((s) => s.model === 'apparmor' && s.type === 'dynamic' && s.label === profileName(domain.uuid));
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
