// How a domain gets into its profile, read from the domain XML itself: our
// emulator wrapper, a static libvirt label naming our profile (enrolled by an
// earlier version), libvirt's own AppArmor driver (which runs our
// virt-aa-helper), or nothing at all.

import type { Config } from '../config.ts';
import type { Domain } from '../domain/types.ts';
import { profileName } from '../profile/synthesize.ts';
import { wrapperFilePrefix } from '../wrapper.ts';
import { labelledByLibvirt, libvirtDriverIsActive, type DriverFacts } from './libvirt-driver.ts';

export type Confinement =
  | { readonly kind: 'wrapper' }
  /** A static label from an earlier version's `enroll --mode libvirt`: still confined, with a placeholder while down. */
  | { readonly kind: 'libvirt' }
  /** libvirt's AppArmor driver labels it and runs virt-aa-helper (ours, once installed) at every change. */
  | { readonly kind: 'driver' }
  /** Our wrapper on a host where libvirt's driver also labels it: QEMU would be exec'd through a shell inside its own profile. */
  | { readonly kind: 'wrapper-under-driver' }
  | { readonly kind: 'unenrolled' };

export type EnrolledMode = 'wrapper' | 'libvirt';

export function enrolledMode(domain: Domain, config: Config): EnrolledMode | undefined {
  const staticLabel = domain.seclabels.some((s) => s.model === 'apparmor' && s.type === 'static' && s.label === profileName(domain.uuid));
  if (staticLabel) return 'libvirt';
  if (domain.emulator?.startsWith(`${config.paths.wrapperDir}/${wrapperFilePrefix}`) === true) return 'wrapper';
  return undefined;
}

/** Whether libvirt's driver will label (or, from `start` on, has labelled) domains without a seclabel of their own. */
export function driverActive(config: Config, driverFacts: () => DriverFacts): boolean {
  if (config.libvirtDriver !== 'auto') return config.libvirtDriver === 'active';
  return libvirtDriverIsActive(driverFacts());
}

export function confinementOf(domain: Domain, config: Config, driverFacts: () => DriverFacts): Confinement {
  const mode = enrolledMode(domain, config);
  if (mode === 'libvirt') return { kind: 'libvirt' };
  const labelled = driverActive(config, driverFacts) && labelledByLibvirt(domain, driverFacts());
  if (mode === 'wrapper') return labelled ? { kind: 'wrapper-under-driver' } : { kind: 'wrapper' };
  return labelled ? { kind: 'driver' } : { kind: 'unenrolled' };
}

/**
 * From `start begin` on, the XML libvirt hands the hook carries the label its
 * driver generated: proof that the driver, not a guess about it, confines
 * the domain.
 */
export function carriesDriverLabel(domain: Domain): boolean {
  return domain.seclabels.some((s) => s.model === 'apparmor' && s.type === 'dynamic' && s.label === profileName(domain.uuid));
}
