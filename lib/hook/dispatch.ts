// One handler per hook event. Handlers return what to print and log instead
// of printing it, so the entry point keeps stdout clean (libvirt reads the
// stdout of migrate and restore as replacement XML) and tests read outcomes.

import { applyProfile } from '../apply-profile.ts';
import { domainSettings, type Config } from '../config.ts';
import { parseDomain } from '../domain/parse.ts';
import type { Domain } from '../domain/types.ts';
import { DomainRefusedError, describeError } from '../errors.ts';
import type { HostFs } from '../host/host-fs.ts';
import { hasPlaceholder, removeProfile, type StoreContext } from '../profile-files.ts';
import { profileName } from '../profile/synthesize.ts';
import { readState } from '../apparmor/state.ts';
import { exitCodeFor } from '../cli/exit.ts';
import { confinementOf, contradictionReason, unconfinedReason, type Confinement } from './confinement.ts';
import { incomingWithWrapper } from './incoming.ts';
import { describeEvent, type HookEvent } from './event.ts';
import type { DriverFacts } from './libvirt-driver.ts';

export interface HookDeps {
  readonly config: Config;
  readonly fs: HostFs;
  readonly store: StoreContext;
  readonly appArmor: () => { readonly enabled: true } | { readonly enabled: false; readonly reason: string };
  readonly loadedProfiles: () => ReadonlyMap<string, string>;
  readonly driverFacts: () => DriverFacts;
  readonly processLabel: (pid: number) => string | undefined;
  readonly lock: <T>(uuid: string, fn: () => T) => T;
}

export interface HookOutcome {
  readonly exitCode: number;
  /** Printed as is: empty unless libvirt must use a changed XML. */
  readonly stdout: string;
  /** Lines libvirt shows in its error message when the hook fails. */
  readonly stderr: readonly string[];
  /** The event's line for the system log, without timing. */
  readonly log: string;
}

const ok = (log: string, stderr: readonly string[] = []): HookOutcome => ({ exitCode: 0, stdout: '', stderr, log });

function fail(error: unknown, log: string): HookOutcome {
  const line = `virt-aa-hook: error: ${describeError(error)}`;
  return { exitCode: exitCodeFor(error), stdout: '', stderr: [line], log: `${log} outcome=failed: ${describeError(error)}` };
}

function logPrefix(event: HookEvent, domain: Domain | undefined): string {
  const who = domain === undefined ? `domain=${JSON.stringify(event.domainName)}` : `domain=${JSON.stringify(domain.name)} profile=${profileName(domain.uuid)}`;
  return `${who} event=${describeEvent(event)}`;
}

/**
 * Events whose failure must not stop anything: libvirt kills a domain whose
 * reconnect hook fails, ignores teardown's, and unknown events are not ours.
 */
function mustNotFail(event: HookEvent): boolean {
  return event.kind === 'unknown' || event.op === 'attach' || event.op === 'reconnect' || event.op === 'stopped' || event.op === 'release';
}

/** An event that failed before its domain was known (bad XML, bad configuration). */
export function eventFailed(event: HookEvent, error: unknown): HookOutcome {
  const outcome = fail(error, logPrefix(event, undefined));
  return mustNotFail(event) ? { ...outcome, exitCode: 0 } : outcome;
}

/** An event from a daemon that is not root (qemu:///session): none of our business, never a failure. */
export function unprivileged(event: HookEvent): HookOutcome {
  return ok(`${logPrefix(event, undefined)} outcome=ignored (an unprivileged libvirt daemon, e.g. qemu:///session: its guests run unconfined)`);
}

export function isLoadedIn(deps: Pick<HookDeps, 'config' | 'loadedProfiles'>): (name: string) => boolean {
  return (name) => deps.config.loader === 'compile-only' || deps.loadedProfiles().has(name);
}

/** prepare, start, migrate, restore and reconnect: the profile must be in place before QEMU runs. */
function ensureProfile(event: HookEvent, domain: Domain, confinement: Confinement, deps: HookDeps): HookOutcome {
  const prefix = logPrefix(event, domain);
  const { config } = deps;
  if (confinement.kind === 'libvirt-dynamic') return ok(`${prefix} outcome=left to libvirt's AppArmor driver`);
  if (confinement.kind === 'unconfined-by-choice') return ok(`${prefix} outcome=unconfined (by choice: "confine": false)`);
  if (confinement.kind === 'unenrolled') {
    if (config.policy === 'require' && event.op !== 'reconnect') {
      return fail(new DomainRefusedError(`refusing to start it unconfined (the configuration requires confinement): ${unconfinedReason(domain)}`, { domain: domain.name }), prefix);
    }
    const warning = `virt-aa-hook: warning: domain '${domain.name}' runs unconfined: ${unconfinedReason(domain)}`;
    return ok(`${prefix} outcome=unconfined (not enrolled)`, [warning]);
  }
  if (confinement.kind === 'wrapper' && !domainSettings(config, domain.name, domain.uuid).confine && event.op !== 'reconnect') {
    return fail(new DomainRefusedError(`refusing to start it: ${contradictionReason(domain)}`, { domain: domain.name }), prefix);
  }
  if (config.loader === 'kernel') {
    const status = deps.appArmor();
    if (!status.enabled) {
      return ok(`${prefix} outcome=unconfined (AppArmor is not enabled: ${status.reason})`, [`virt-aa-hook: warning: AppArmor is not enabled (${status.reason}): domain '${domain.name}' runs unconfined`]);
    }
  }
  const { profile, installed } = applyProfile(domain, confinement.kind, { ...deps, isLoaded: isLoadedIn(deps) });
  const what = installed.loaded ? (config.loader === 'compile-only' ? 'compiled (compile-only)' : 'loaded') : 'unchanged';
  const notes = profile.notices.map((n) => `virt-aa-hook: warning: domain '${domain.name}', ${n.reason.device}: ${n.message}`);
  return ok(`${prefix} mode=${confinement.kind} rules=${profile.rules.length + profile.snippets.length} notices=${profile.notices.length} outcome=${what}${installed.adminProfile ? ' (admin-edited profile kept)' : ''}`, notes);
}

/** started: QEMU runs; check that it runs under its profile. */
function verifyLabel(event: HookEvent, domain: Domain, confinement: Confinement, deps: HookDeps): HookOutcome {
  const prefix = logPrefix(event, domain);
  if (confinement.kind !== 'wrapper' && confinement.kind !== 'libvirt') return ok(`${prefix} outcome=not ours (${confinement.kind})`);
  if (deps.config.loader === 'compile-only' || !deps.appArmor().enabled) return ok(`${prefix} outcome=label not checked (profiles are not loaded into a kernel)`);
  const pidText = deps.fs.readText(`${deps.config.layout.qemuRunDir}/${domain.name}.pid`)?.trim();
  const pid = pidText === undefined ? Number.NaN : Number.parseInt(pidText, 10);
  const label = Number.isNaN(pid) ? undefined : deps.processLabel(pid);
  // Inside a policy namespace the label may carry a ":ns:" prefix.
  const bare = label?.replace(/^:[^:]*:/, '');
  const expected = profileName(domain.uuid);
  if (bare === `${expected} (enforce)` || bare === `${expected} (complain)`) return ok(`${prefix} pid=${pid} label=${JSON.stringify(label)} outcome=confined`);
  const error = new DomainRefusedError(`QEMU (pid ${Number.isNaN(pid) ? 'unknown' : pid}) runs as ${JSON.stringify(label ?? 'unknown')}, not ${expected}: stopping an unconfined domain`, { domain: domain.name });
  return fail(error, `${prefix} pid=${pid}`);
}

/** stopped and release: unload (or put the placeholder back) and remove what was generated. */
function teardown(event: HookEvent, domain: Domain, confinement: Confinement, deps: HookDeps): HookOutcome {
  const prefix = logPrefix(event, domain);
  const state = readState(deps.config.paths.stateDir, domain.uuid);
  // libvirt's AppArmor driver strips the label from the XML before release,
  // after stopped has removed the state: the placeholder still says libvirt mode.
  const mode = confinement.kind === 'wrapper' || confinement.kind === 'libvirt' ? confinement.kind : (state?.mode ?? (hasPlaceholder(domain.uuid, deps.store) ? 'libvirt' : undefined));
  if (mode === undefined) return ok(`${prefix} outcome=not ours (${confinement.kind})`);
  try {
    const outcome = deps.lock(domain.uuid, () => removeProfile(domain.uuid, mode, isLoadedIn(deps), deps.store));
    return ok(`${prefix} mode=${mode} outcome=${outcome}`);
  } catch (error) {
    // libvirt ignores failures here; say it loudly and let the domain go.
    return { ...fail(error, prefix), exitCode: 0 };
  }
}

export function dispatch(event: HookEvent, xml: string, deps: HookDeps): HookOutcome {
  if (event.kind === 'unknown' || event.op === 'attach') return ok(`${logPrefix(event, undefined)} outcome=ignored`);
  let domain: Domain;
  try {
    domain = parseDomain(xml);
  } catch (error) {
    return eventFailed(event, error);
  }
  try {
    const confinement = confinementOf(domain, deps.config, deps.driverFacts);
    switch (event.op) {
      case 'prepare':
      case 'start':
        return ensureProfile(event, domain, confinement, deps);
      case 'migrate':
      case 'restore': {
        // An incoming domain naming a real emulator we wrap gets the wrapper: the only XML we print.
        const incoming = incomingWithWrapper(xml, domain, confinement, deps);
        if (incoming === undefined) return ensureProfile(event, domain, confinement, deps);
        const outcome = ensureProfile(event, incoming.domain, { kind: 'wrapper' }, deps);
        return outcome.exitCode === 0 ? { ...outcome, stdout: incoming.xml, log: `${outcome.log} emulator=${JSON.stringify(incoming.domain.emulator)}` } : outcome;
      }
      case 'reconnect': {
        // A failing reconnect hook makes libvirt kill the running domain: never fail.
        const outcome = ensureProfile(event, domain, confinement, deps);
        return { ...outcome, exitCode: 0 };
      }
      case 'started':
        return verifyLabel(event, domain, confinement, deps);
      case 'stopped':
      case 'release':
        return teardown(event, domain, confinement, deps);
    }
  } catch (error) {
    const outcome = fail(error, logPrefix(event, domain));
    return event.op === 'reconnect' ? { ...outcome, exitCode: 0 } : outcome;
  }
}
