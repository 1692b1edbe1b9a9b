// The imperative shell around synthesis: gather host facts, collect
// accesses, resolve their paths on the host, finalize. Every command and
// every hook event that needs a profile goes through here.

import type { Domain } from './domain/types.ts';
import { gatherHostFacts, resolvePaths } from './host/gather.ts';
import type { HostFs } from './host/host-fs.ts';
import type { HostLayout } from './host/layout.ts';
import type { SynthesisSettings } from './resources/resource.ts';
import { collectAccesses, finalizeProfile, pathsToResolve, type Profile } from './profile/synthesize.ts';
import { fillTemplate, indent } from './profile/template.ts';

export interface HostContext {
  readonly fs: HostFs;
  readonly layout: HostLayout;
  readonly settings?: SynthesisSettings;
  /** libvirt's configuration directory, for qemu.conf (default /etc/libvirt). */
  readonly libvirtConfigDir?: string;
}

export function synthesizeProfile(domain: Domain, host: HostContext): Profile {
  const facts = gatherHostFacts(domain, host.fs, host.libvirtConfigDir);
  const accesses = collectAccesses(domain, facts, host.layout, host.settings);
  return finalizeProfile(domain, accesses, resolvePaths(pathsToResolve(accesses), host.fs), facts);
}

/** The complete profile with the per-VM rules (rendered by the caller) inline, as `generate --profile` prints it. */
export function inlineProfileText(profile: Profile, rulesText: string, template: string, templatePath?: string): string {
  return fillTemplate(template, { PROFILE_NAME: profile.name, VM_RULES: indent(rulesText) }, templatePath);
}
