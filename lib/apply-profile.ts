// Synthesize a domain's profile and put it in place, under the domain's lock:
// what the hook does before QEMU starts and what hotplug does before libvirt
// adds a device.

import { defaultDomainSettings, domainEntry, domainSettings, type Config, type ConfinementMode } from './config.ts';
import type { Domain } from './domain/types.ts';
import { readImageRecord, recordImageLocations } from './apparmor/image-record.ts';
import { synthesizeProfile, type HostContext } from './generate.ts';
import type { HostFs } from './host/host-fs.ts';
import { filesText, installProfile, type InstallResult, type StoreContext } from './profile-files.ts';
import type { Profile } from './profile/synthesize.ts';
import type { SynthesisSettings } from './resources/resource.ts';

export interface ApplyDeps {
  readonly config: Config;
  readonly fs: HostFs;
  readonly store: StoreContext;
  readonly isLoaded: (profile: string) => boolean;
  readonly lock: <T>(uuid: string, fn: () => T) => T;
}

/** What the configuration says about this domain, for synthesis. */
export function synthesisSettings(config: Config, domain: Domain): SynthesisSettings {
  const entry = domainEntry(config, domain.name, domain.uuid);
  return {
    graphicsTls: config.graphicsTls,
    rawio: entry?.settings.rawio ?? false,
    settingsKey: entry?.key ?? domain.name,
    imageDirs: [...config.imageDirs, ...(entry?.settings.imageDirs ?? [])],
  };
}

/** Everything synthesis takes from the host and the configuration for this domain, the image record included. */
export function hostContext(domain: Domain, config: Config, fs: HostFs): HostContext {
  return {
    fs,
    layout: config.layout,
    settings: synthesisSettings(config, domain),
    libvirtConfigDir: config.paths.libvirtConfigDir,
    imageRecord: readImageRecord(config.paths.stateDir, domain.uuid),
  };
}

export function renderDomainRules(domain: Domain, deps: Pick<ApplyDeps, 'config' | 'fs'>): { readonly profile: Profile; readonly text: string } {
  const { config } = deps;
  const context = hostContext(domain, config, deps.fs);
  const profile = synthesizeProfile(domain, context);
  const entry = domainEntry(config, domain.name, domain.uuid);
  return { profile, text: filesText(profile, entry?.settings ?? defaultDomainSettings, context.settings?.settingsKey ?? domain.name) };
}

export function applyProfile(domain: Domain, mode: ConfinementMode, deps: ApplyDeps): { readonly profile: Profile; readonly installed: InstallResult } {
  const { complain } = domainSettings(deps.config, domain.name, domain.uuid);
  return deps.lock(domain.uuid, () => {
    const { profile, text } = renderDomainRules(domain, deps);
    const installed = installProfile(domain.uuid, domain.name, mode, text, { complain, isLoaded: deps.isLoaded }, deps.store);
    // Only a chain that is in place counts as seen: a refused or failed start records nothing.
    recordImageLocations(deps.config.paths.stateDir, domain.uuid, profile.imageDirs);
    return { profile, installed };
  });
}
