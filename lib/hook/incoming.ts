// migrate begin and restore begin are the only events whose stdout libvirt
// reads back as the domain XML (and libvirt's ABI check does not compare
// <emulator>): a domain arriving with a real emulator that this host wraps
// gets the wrapper there, and is confined on arrival. Nothing else changes in
// the XML; nothing is printed when nothing must change.

import { replaceEmulator } from '../domain/replace-emulator.ts';
import type { Domain } from '../domain/types.ts';
import { existingWrapperFor } from '../wrapper.ts';
import type { Confinement } from './confinement.ts';
import type { HookDeps } from './dispatch.ts';
import { driverIsActive } from './libvirt-driver.ts';

export function incomingWithWrapper(xml: string, domain: Domain, confinement: Confinement, deps: Pick<HookDeps, 'config' | 'fs' | 'driverFacts'>): { readonly xml: string; readonly domain: Domain } | undefined {
  // Only a domain that would otherwise run unconfined, and never where libvirt's driver execs the emulator inside the profile.
  if (confinement.kind !== 'unenrolled' || domain.emulator === undefined || driverIsActive(deps.config, deps.driverFacts)) return undefined;
  const wrapper = existingWrapperFor(deps.config.paths.emulatorDir, domain.emulator, (file) => deps.fs.readText(file));
  const rewritten = wrapper === undefined ? undefined : replaceEmulator(xml, wrapper);
  return rewritten === undefined ? undefined : { xml: rewritten, domain: { ...domain, emulator: wrapper } };
}
