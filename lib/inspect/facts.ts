// What `doctor` and `status` know about a host, gathered once by
// lib/inspect/gather.ts (the only code here that touches the host) and read
// by the pure checks of lib/inspect/doctor.ts and lines of
// lib/inspect/status.ts, so their tests give literal facts.

import type { AppArmorStatus } from '../apparmor/status.ts';
import type { Denial } from '../apparmor/denials.ts';
import type { DomainState } from '../apparmor/state.ts';
import type { Config } from '../config.ts';
import type { Domain } from '../domain/types.ts';
import type { Change } from '../host-setup.ts';
import type { DriverFacts } from '../hook/libvirt-driver.ts';

/** The libvirt daemons that run QEMU domains for qemu:///system. */
export type DaemonName = 'libvirtd' | 'virtqemud';
export const daemonNames: readonly DaemonName[] = ['libvirtd', 'virtqemud'];

export interface DaemonFact {
  readonly name: DaemonName;
  readonly pid: number;
  /** When the process started (ms since the epoch); undefined when /proc does not say. */
  readonly startedAtMs: number | undefined;
  /** Its AppArmor label (`unconfined`, `libvirtd (enforce)`); undefined when it cannot be read. */
  readonly label: string | undefined;
  /** The PATH in its environment (/proc/<pid>/environ); undefined when it cannot be read. */
  readonly path: string | undefined;
}

/** How the daemons are started, for the exact restart command. */
export interface ServiceFacts {
  /** systemd runs the system (/run/systemd/system exists). */
  readonly systemd: boolean;
  /** Init scripts by daemon (`/etc/init.d/libvirtd`), where there are some. */
  readonly initScripts: ReadonlyMap<DaemonName, string>;
}

export interface FileFact {
  readonly path: string;
  /** The file's ctime (ms): undefined when there is no file. */
  readonly changedAtMs: number | undefined;
  readonly executable: boolean;
  /** The first line when it is a `#!` line. */
  readonly shebang: string | undefined;
  /** Whether the file names virt-aa-hook (our bundles, wrappers and blocks do). */
  readonly mentionsUs: boolean;
}

/** A program asked for its version. */
export interface ProgramFact {
  readonly path: string;
  /** As the program printed it (`3.0.8`, `v20.11.1`); undefined when it could not say. */
  readonly version: string | undefined;
  /** Why there is no version: the error, or the output that held none. */
  readonly problem: string | undefined;
}

export interface AbiFacts {
  /** The `abi <...>` our template names (`abi/3.0`); undefined when it names none or cannot be read. */
  readonly template: string | undefined;
  /** Where apparmor_parser finds that ABI file; undefined when nowhere. */
  readonly file: string | undefined;
  /** The kernel's feature directories (securityfs `features/`); undefined when unreadable. */
  readonly kernelFeatures: readonly string[] | undefined;
  /** `paths.featuresFile` when configured, and whether it exists. */
  readonly featuresFile: { readonly path: string; readonly exists: boolean } | undefined;
}

/** The names libvirt's profile for its virt-aa-helper is loaded under (Debian: `virt-aa-helper`). */
export const helperProfileNames: readonly string[] = ['virt-aa-helper', '/usr/lib/libvirt/virt-aa-helper'];

export interface HelperFacts {
  /** What is at `paths.libvirtHelper`, where libvirt runs virt-aa-helper from. */
  readonly atLibvirtPath: FileFact;
  /** libvirt's own helper, moved aside (`paths.originalHelper`). */
  readonly original: FileFact;
  /** `dpkg-divert --list` of the helper's path: its line, '' when no diversion, undefined without dpkg. */
  readonly diversion: string | undefined;
  /** The local override of libvirt's profile for its helper, and whether it holds our block. */
  readonly override: { readonly path: string; readonly hasBlock: boolean | undefined };
  /**
   * Whether the kernel's virt-aa-helper profile is exactly what its files
   * compile to now (securityfs `raw_sha1` against `apparmor_parser -S`):
   * false when it was loaded before our block (or another change) went in;
   * undefined when that cannot be told.
   */
  readonly profileIsCurrent: boolean | undefined;
}

export type LogFact =
  | { readonly source: string; readonly lines: readonly string[] }
  /** Nothing could be read: why, and what was tried. */
  | { readonly source: undefined; readonly problem: string };

export type DenialsFact = { readonly source: string; readonly denials: readonly Denial[] } | { readonly source: undefined; readonly problem: string };

export interface ProfileFacts {
  /** `<apparmorDir>/libvirt/libvirt-<uuid>`: its text, undefined when there is none. */
  readonly text: string | undefined;
  /** The rules include `libvirt-<uuid>.files`. */
  readonly files: string | undefined;
  /** What our template would make of it now; undefined when the template cannot be read. */
  readonly fromTemplate: string | undefined;
  /** libvirt's own TEMPLATE.qemu, to recognise what its helper made. */
  readonly libvirtTemplate: string | undefined;
  readonly state: DomainState | undefined;
  /** The deny-all placeholder of a static-label domain exists. */
  readonly placeholder: boolean;
}

export interface DomainFacts {
  readonly name: string;
  readonly uuid: string;
  /** The persistent definition (`<libvirt config dir>/qemu/<name>.xml`). */
  readonly definition: Domain | undefined;
  /** libvirt's status file (`<qemu run dir>/<name>.xml`): the domain runs. */
  readonly live: Domain | undefined;
  /** QEMU's pid, from the status file (root-owned; never the pid file QEMU can write). */
  readonly pid: number | undefined;
  /** QEMU's AppArmor label, when it runs and can be read. */
  readonly label: string | undefined;
  readonly profile: ProfileFacts;
}

/** A `domains` entry of the configuration keyed by a name: pinned to a UUID or not. */
export interface NameKeyedEntry {
  readonly key: string;
  /** undefined: no pin. */
  readonly uuid: string | undefined;
}

export interface InspectFacts {
  readonly nowMs: number;
  /** Runs as root: otherwise much of the host cannot be read. */
  readonly root: boolean;
  readonly configFile: string;
  /** The configuration in effect: the defaults when the file is invalid. */
  readonly config: Config;
  /** Why the configuration file cannot be used (the hook refuses every start then); undefined when it can. */
  readonly configProblem: string | undefined;
  readonly appArmor: AppArmorStatus;
  readonly parser: ProgramFact;
  readonly abi: AbiFacts;
  /** The kernel's profiles and modes; empty when they cannot be read. */
  readonly loadedProfiles: ReadonlyMap<string, string>;
  readonly driverFacts: DriverFacts;
  readonly daemons: readonly DaemonFact[];
  readonly service: ServiceFacts;
  /** `virsh capabilities`, or why it failed. */
  readonly capabilities: { readonly text: string } | { readonly problem: string };
  readonly hook: FileFact;
  /** The node the hook's `#!` names; undefined when the hook has none. */
  readonly node: ProgramFact | undefined;
  readonly helper: HelperFacts;
  /** What `virt-aa-hook setup` would change, or why it cannot tell. */
  readonly setup: { readonly changes: readonly Change[] } | { readonly problem: string };
  /** Every domain libvirt defines or runs, by name. */
  readonly domains: readonly DomainFacts[];
  /** Our per-domain state files. */
  readonly states: readonly DomainState[];
  /** UUIDs with a `libvirt-<uuid>` profile or rules file in `<apparmorDir>/libvirt`. */
  readonly profileFiles: readonly string[];
  /** The configuration's entries keyed by a domain name, and their "uuid" pins. */
  readonly nameKeyedEntries: readonly NameKeyedEntry[];
  /** The hook's and our helper's log lines. */
  readonly hookLog: LogFact;
  /** AppArmor records of our profiles. */
  readonly denials: DenialsFact;
}
