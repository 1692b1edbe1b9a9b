// The imperative shell around synthesis: gather host facts, collect
// accesses, resolve their paths on the host, finalize. Every command and
// every hook event that needs a profile goes through here.

import * as path from 'node:path';
import { xmlImagePaths } from './domain/storage-sources.ts';
import type { Domain } from './domain/types.ts';
import type { HostFacts } from './host/facts.ts';
import { gatherHostFacts, resolvePaths } from './host/gather.ts';
import type { HostFs } from './host/host-fs.ts';
import { libvirtStateDirs, type HostLayout } from './host/layout.ts';
import type { ImageLocations } from './policy/image-locations.ts';
import { defaultSettings, type SynthesisSettings } from './resources/resource.ts';
import type { Access } from './profile/access.ts';
import { collectAccesses, finalizeProfile, pathsToResolve, type Profile } from './profile/synthesize.ts';
import { fillTemplate, indent } from './profile/template.ts';
import { resolveHostPath } from './storage/resolve.ts';

export interface HostContext {
  readonly fs: HostFs;
  readonly layout: HostLayout;
  readonly settings?: SynthesisSettings;
  /** libvirt's configuration directory, for qemu.conf (default /etc/libvirt). */
  readonly libvirtConfigDir?: string;
  /**
   * The directories header-named layers were accepted from at earlier
   * starts (lib/apparmor/image-record.ts); undefined: none recorded, the
   * domain's first start under virt-aa-hook.
   */
  readonly imageRecord?: readonly string[] | undefined;
}

/** Never followed from an image header, whatever else allows it. */
const refusedForHeaders = ['/root', '/dev'];

/** Where header-named layers may lie, every directory resolved as the layers' are. */
function imageLocations(domain: Domain, facts: HostFacts, host: HostContext, settings: SynthesisSettings): ImageLocations {
  const resolved = (p: string): string => resolveHostPath(p, host.fs);
  const xmlImages = [...xmlImagePaths(domain), ...facts.volumes.values()].filter((p) => p.startsWith('/'));
  return {
    refused: [...libvirtStateDirs(host.layout), ...refusedForHeaders],
    known: new Set([...xmlImages.map((p) => path.posix.dirname(resolved(p))), ...facts.storagePoolDirs.map(resolved)]),
    recorded: host.imageRecord === undefined ? undefined : new Set(host.imageRecord),
    configured: settings.imageDirs.map(resolved),
    settingsKey: settings.settingsKey,
  };
}

/** `extra`: accesses from outside the XML (libvirt's run-time appends), checked and rendered like the rest. */
export function synthesizeProfile(domain: Domain, host: HostContext, extra: readonly Access[] = []): Profile {
  const settings = host.settings ?? defaultSettings;
  const facts = gatherHostFacts(domain, host.fs, host.libvirtConfigDir);
  const accesses = [...collectAccesses(domain, facts, host.layout, settings), ...extra];
  return finalizeProfile(domain, accesses, resolvePaths(pathsToResolve(accesses), host.fs), facts, imageLocations(domain, facts, host, settings));
}

/** The complete profile with the per-VM rules (rendered by the caller) inline, as `generate --profile` prints it. */
export function inlineProfileText(profile: Profile, rulesText: string, template: string, templatePath?: string): string {
  return fillTemplate(template, { PROFILE_NAME: profile.name, VM_RULES: indent(rulesText) }, templatePath);
}
