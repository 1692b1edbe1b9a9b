// `virt-aa-hook status`: for each domain, how it is confined (or why not),
// its profile, QEMU's live label, the last hook or helper event and the
// denials of its profile; what an admin needs where `virsh dominfo` says
// `Security model: none` although QEMU is confined. Pure: facts in, lines
// out. `doctor` judges running domains with the same confinementOf below.

import { defaultConfigPath } from '../config.ts';
import { carriesDriverLabel, confinementOf, unconfinedReason } from '../hook/confinement.ts';
import { driverIsActive } from '../hook/libvirt-driver.ts';
import { profileOrigin, type ProfileOrigin } from '../profile-store.ts';
import { profileName } from '../profile/synthesize.ts';
import { commandLine, programLine } from '../shell-words.ts';
import type { DomainFacts, HelperFacts, InspectFacts } from './facts.ts';
import { lastEventOf, type LogEvent } from './hook-log.ts';

export type ConfinedBy =
  /** libvirt's AppArmor driver, which runs virt-aa-hook's virt-aa-helper */
  | 'driver-our-helper'
  /** libvirt's AppArmor driver with libvirt's own virt-aa-helper: confined, by libvirt's rules */
  | 'driver-libvirt-helper'
  | 'wrapper'
  /** a static label from an earlier version's `enroll --mode libvirt` */
  | 'static-label'
  | 'none'
  | 'none-by-choice';

/** What keeps a domain unconfined, for the fix. */
export type UnconfinedCause =
  | 'apparmor-off'
  /** QEMU runs unconfined although its path confines: it started before that path was in place */
  | 'started-before'
  /** libvirt's driver should have labelled it and did not: its daemon started before its profile was loaded */
  | 'not-labelled'
  | 'not-enrolled'
  /** libvirt's driver is active, but the domain opts out of its labels */
  | 'seclabel-none'
  | 'wrapper-under-driver'
  | 'no-definition';

export interface ConfinementView {
  readonly by: ConfinedBy;
  /** One line: how it is confined, or why it is not and what fixes it. */
  readonly text: string;
  /** For `none`: what keeps it so. */
  readonly cause: UnconfinedCause | undefined;
}

const confined = (by: ConfinedBy, text: string): ConfinementView => ({ by, text, cause: undefined });
const unconfined = (cause: UnconfinedCause, text: string): ConfinementView => ({ by: 'none', text: `not confined: ${text}`, cause });

/** Whether our virt-aa-helper is the one at libvirt's path. */
export function helperIsOurs(helper: HelperFacts): boolean {
  return helper.atLibvirtPath.changedAtMs !== undefined && helper.atLibvirtPath.mentionsUs && helper.atLibvirtPath.shebang !== undefined;
}

/** A label of the domain's profile (or a child of it), in enforce or complain mode, in any policy namespace. */
export function isDomainLabel(label: string, uuid: string): boolean {
  const bare = label.replace(/^:[^:]*:/, '');
  return new RegExp(`^${profileName(uuid)}(//\\S+)? \\((enforce|complain)\\)$`).test(bare);
}

/** A domain's next start goes through its confinement path: the commands for it (running guests are not restarted behind an admin's back). */
export const restartDomain = (name: string): string => `restart it (${programLine('virsh', 'shutdown', [name])}, then ${programLine('virsh', 'start', [name])})`;

/** How the domain's XML (the live one while it runs) gets it into its profile, as the hook decides it. */
function pathOf(facts: InspectFacts, d: DomainFacts): ConfinementView {
  const domain = d.live ?? d.definition;
  if (domain === undefined) return unconfined('no-definition', 'libvirt has neither a definition nor a status file of it');
  const { config } = facts;
  const driverFacts = () => facts.driverFacts;
  const confinement = confinementOf(domain, config, driverFacts);
  switch (confinement.kind) {
    case 'driver':
      if (d.live !== undefined && !carriesDriverLabel(d.live)) {
        return unconfined('not-labelled', `libvirt's AppArmor driver did not label it (its daemon started before its own profile was loaded, or qemu.conf turns the driver off): restart the daemon with its profile loaded, then ${restartDomain(domain.name)}`);
      }
      return helperIsOurs(facts.helper)
        ? confined('driver-our-helper', "libvirt's AppArmor driver, with virt-aa-hook's virt-aa-helper")
        : confined('driver-libvirt-helper', `libvirt's AppArmor driver, with libvirt's own virt-aa-helper (virt-aa-hook's is not at ${facts.helper.atLibvirtPath.path}: the rules are libvirt's; run scripts/install)`);
    case 'wrapper':
      return confined('wrapper', `virt-aa-hook's emulator wrapper ${domain.emulator ?? ''}`);
    case 'libvirt':
      return confined('static-label', `a static libvirt label (enrolled by an earlier version, a retired mode): run '${commandLine('unenroll', [domain.name])}'`);
    case 'wrapper-under-driver':
      return unconfined('wrapper-under-driver', `its emulator is virt-aa-hook's wrapper ${domain.emulator ?? ''}, which cannot run while libvirt's AppArmor driver is active (the hook refuses the start): run '${commandLine('unenroll', [domain.name])}'`);
    case 'unconfined-by-choice':
      return { by: 'none-by-choice', text: `not confined, by choice: "confine": false in ${facts.configFile}`, cause: undefined };
    case 'unenrolled':
      if (driverIsActive(config, driverFacts)) {
        return unconfined('seclabel-none', `libvirt's AppArmor driver is active but does not label it (a <seclabel type='none'/> in its XML, or security_default_confined = 0 in qemu.conf): remove that seclabel with '${programLine('virsh', 'edit', [domain.name])}'`);
      }
      return unconfined('not-enrolled', unconfinedReason(domain).replace(defaultConfigPath, facts.configFile));
  }
}

/** How the domain is confined, with what the kernel says of a running QEMU taking precedence over what its XML implies. */
export function domainConfinement(facts: InspectFacts, d: DomainFacts): ConfinementView {
  const path = pathOf(facts, d);
  if (path.by === 'none' || path.by === 'none-by-choice') return path;
  if (!facts.appArmor.enabled) return unconfined('apparmor-off', `AppArmor is not enabled (${facts.appArmor.reason}); through ${path.text} once it is`);
  if (d.live !== undefined && d.label !== undefined && !isDomainLabel(d.label, d.uuid)) {
    return unconfined('started-before', `QEMU (pid ${d.pid ?? '?'}) runs as ${JSON.stringify(d.label)}, although ${path.text} confines it from its next start: ${restartDomain(d.name)}`);
  }
  return path;
}

/** Rules in a `.files` include: rule lines and abstraction includes, not comments, blank lines or child-profile braces. */
export function ruleCount(files: string): number {
  return files.split('\n').filter((line) => {
    const l = line.trim();
    return l.startsWith('#include ') || (!l.startsWith('#') && l.endsWith(','));
  }).length;
}

export interface DomainStatus {
  readonly name: string;
  readonly uuid: string;
  readonly running: boolean;
  readonly pid: number | null;
  readonly confinement: ConfinementView;
  readonly profile: {
    readonly name: string;
    /** The kernel's mode for it (`enforce`, `complain`); null: not loaded. */
    readonly loaded: string | null;
    /** Rules in its `.files`; null: there is none. */
    readonly rules: number | null;
    /** Who made the profile file; null: there is none. */
    readonly origin: ProfileOrigin | null;
  };
  /** QEMU's AppArmor label; null when it does not run or cannot be read. */
  readonly label: string | null;
  readonly lastEvent: LogEvent | null;
  /** AppArmor records of its profile in the log read; null when none could be read. */
  readonly denials: number | null;
  /** The command that shows them. */
  readonly denialsCommand: string;
}

export function domainStatus(facts: InspectFacts, d: DomainFacts): DomainStatus {
  const name = profileName(d.uuid);
  const { profile } = d;
  return {
    name: d.name,
    uuid: d.uuid,
    running: d.live !== undefined,
    pid: d.pid ?? null,
    confinement: domainConfinement(facts, d),
    profile: {
      name,
      loaded: facts.loadedProfiles.get(name) ?? null,
      rules: profile.files === undefined ? null : ruleCount(profile.files),
      origin: profile.text === undefined ? null : profileOrigin(d.uuid, profile.text, profile.fromTemplate, profile.state, profile.libvirtTemplate),
    },
    label: d.label ?? null,
    lastEvent: facts.hookLog.source === undefined ? null : (lastEventOf(facts.hookLog.lines, d.name, d.uuid) ?? null),
    denials: facts.denials.source === undefined ? null : facts.denials.denials.filter((denial) => denial.uuid === d.uuid).length,
    denialsCommand: commandLine('denials', [d.name]),
  };
}

/** The domains a DOMAIN argument names (a name, or a UUID in any case); every domain without one. */
export function selectDomains(domains: readonly DomainFacts[], wanted: string | undefined): readonly DomainFacts[] {
  if (wanted === undefined) return domains;
  return domains.filter((d) => d.name === wanted || d.uuid === wanted.toLowerCase());
}
