// The imperative shell around synthesis: gather host facts, collect
// accesses, resolve their paths on the host, finalize. Every command and
// every hook event that needs a profile goes through here.

import type { Domain } from './domain/types.ts';
import { gatherHostFacts } from './host/gather.ts';
import type { HostFs } from './host/host-fs.ts';
import type { HostLayout } from './host/layout.ts';
import type { SynthesisSettings } from './resources/resource.ts';
import type { Access } from './profile/access.ts';
import { collectAccesses, finalizeProfile, pathsToResolve, type Profile } from './profile/synthesize.ts';
import { fillTemplate, indent } from './profile/template.ts';
import { resolveHostPath } from './storage/resolve.ts';

export interface HostContext {
  readonly fs: HostFs;
  readonly layout: HostLayout;
  readonly settings?: SynthesisSettings;
}

/** `extra`: accesses from outside the XML (libvirt's run-time appends), checked and rendered like the rest. */
export function synthesizeProfile(domain: Domain, host: HostContext, extra: readonly Access[] = []): Profile {
  const facts = gatherHostFacts(domain, host.fs);
  const accesses = [...collectAccesses(domain, facts, host.layout, host.settings), ...extra];
  const realpaths = new Map(pathsToResolve(accesses).map((p) => [p, resolveHostPath(p, host.fs)] as const));
  return finalizeProfile(domain, accesses, realpaths);
}

/** The complete profile with the per-VM rules (rendered by the caller) inline, as `generate --profile` prints it. */
export function inlineProfileText(profile: Profile, rulesText: string, template: string, templatePath?: string): string {
  return fillTemplate(template, { PROFILE_NAME: profile.name, VM_RULES: indent(rulesText) }, templatePath);
}
