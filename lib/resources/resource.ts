// The one signature every resource module implements: part of a domain, plus
// host facts, to the accesses it needs, each with its reason.

import type { Domain } from '../domain/types.ts';
import type { HostFacts } from '../host/facts.ts';
import type { HostLayout } from '../host/layout.ts';
import type { Access } from '../profile/access.ts';

/** Host configuration that changes what a domain needs and the XML cannot say. */
export interface SynthesisSettings {
  /** qemu.conf enables TLS for VNC or SPICE. */
  readonly graphicsTls: boolean;
  /** The admin allows this domain `<disk rawio='yes'>`, i.e. capability sys_rawio. */
  readonly rawio: boolean;
  /** Where the configuration tells the admin to allow it: `domains.<key>`. */
  readonly settingsKey: string;
  /** Directories (and below) where image headers may name files: `imageDirs`, global and per domain. */
  readonly imageDirs: readonly string[];
}

export const defaultSettings: SynthesisSettings = { graphicsTls: false, rawio: false, settingsKey: '<name>', imageDirs: [] };

export interface ResourceContext {
  readonly domain: Domain;
  readonly host: HostFacts;
  readonly layout: HostLayout;
  readonly settings: SynthesisSettings;
}

export interface ResourceModule {
  /** Short kebab-case name, used in --json output and tests. */
  readonly name: string;
  readonly accesses: (context: ResourceContext) => readonly Access[];
}
