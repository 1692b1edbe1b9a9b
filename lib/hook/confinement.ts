// How a domain gets into its profile, read from the domain XML itself: our
// emulator wrapper, a static libvirt label naming our profile, libvirt's own
// dynamic labelling, or nothing at all.

import type { Config, ConfinementMode } from '../config.ts';
import type { Domain } from '../domain/types.ts';
import { profileName } from '../profile/synthesize.ts';
import { wrapperFilePrefix } from '../wrapper.ts';
import { labelledByLibvirt, libvirtDriverIsActive, type DriverFacts } from './libvirt-driver.ts';

export type Confinement = { readonly kind: ConfinementMode } | { readonly kind: 'libvirt-dynamic' } | { readonly kind: 'unenrolled' };

export function enrolledMode(domain: Domain, config: Config): ConfinementMode | undefined {
  const staticLabel = domain.seclabels.some((s) => s.model === 'apparmor' && s.type === 'static' && s.label === profileName(domain.uuid));
  if (staticLabel) return 'libvirt';
  if (domain.emulator?.startsWith(`${config.paths.wrapperDir}/${wrapperFilePrefix}`) === true) return 'wrapper';
  return undefined;
}

export function confinementOf(domain: Domain, config: Config, driverFacts: () => DriverFacts): Confinement {
  const mode = enrolledMode(domain, config);
  if (mode !== undefined) return { kind: mode };
  if (config.libvirtDriver === 'inactive') return { kind: 'unenrolled' };
  const facts = driverFacts();
  const active = config.libvirtDriver === 'active' || libvirtDriverIsActive(facts);
  return labelledByLibvirt(domain, active, facts) ? { kind: 'libvirt-dynamic' } : { kind: 'unenrolled' };
}
