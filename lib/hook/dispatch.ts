// One handler per hook event. Handlers return what to print and log instead
// of printing it, so the entry point keeps stdout clean (libvirt reads the
// stdout of migrate and restore as replacement XML) and tests read outcomes.

import type { AppArmorStatus } from '../apparmor/status.ts';
import { readState } from '../apparmor/state.ts';
import { exitCodeFor } from '../cli/exit.ts';
import { parseDomain } from '../domain/parse.ts';
import type { Domain } from '../domain/types.ts';
import { DomainRefusedError, describeError } from '../errors.ts';
import { domainSettings } from '../config.ts';
import { applyProfile, hasPlaceholder, removeProfile, type StoreDeps } from '../profile-store.ts';
import { profileName } from '../profile/synthesize.ts';
import { timed } from '../timing.ts';
import { carriesDriverLabel, confinementOf, contradictionReason, unconfinedReason, type Confinement } from './confinement.ts';
import { describeEvent, type HookEvent } from './event.ts';
import { incomingWithWrapper } from './incoming.ts';
import { eventPrefix, handledEvent, ignoredOutcome, isIgnored, ok, type HookOutcome } from './outcome.ts';
import type { DriverFacts } from './libvirt-driver.ts';

export interface HookDeps extends StoreDeps {
  readonly appArmor: () => AppArmorStatus;
  readonly loadedProfiles: () => ReadonlyMap<string, string>;
  readonly driverFacts: () => DriverFacts;
  readonly processLabel: (pid: number) => string | undefined;
  /** QEMU's pid as libvirt recorded it in its root-owned status file (never the pid file, which QEMU can write). */
  readonly qemuPid: (domainName: string) => number | undefined;
}


function fail(error: unknown, log: string): HookOutcome {
  const line = `virt-aa-hook: error: ${describeError(error)}`;
  return { exitCode: exitCodeFor(error), stdout: '', stderr: [line], log: `${log} outcome=failed: ${describeError(error)}` };
}

function logPrefix(event: HookEvent, domain: Domain | undefined): string {
  if (domain === undefined) return eventPrefix(event);
  return `domain=${JSON.stringify(domain.name)} profile=${profileName(domain.uuid)} event=${describeEvent(event)}`;
}

/**
 * Events whose failure must not stop anything: libvirt kills a domain whose
 * reconnect hook fails, ignores teardown's, and unknown events are not ours.
 */
function mustNotFail(event: HookEvent): boolean {
  return isIgnored(event) || event.op === 'reconnect' || event.op === 'stopped' || event.op === 'release';
}

/** An event that failed before its domain was known (bad XML, bad configuration). */
export function eventFailed(event: HookEvent, error: unknown): HookOutcome {
  const outcome = fail(error, logPrefix(event, undefined));
  return mustNotFail(event) ? { ...outcome, exitCode: 0 } : outcome;
}

/**
 * A domain nothing confines: started with a warning, or refused under the
 * "require" policy (never at reconnect: it runs already). `cause` goes to the
 * log; `reason` says why and gives the exact fix.
 */
function unconfined(event: HookEvent, domain: Domain, cause: string, reason: string, deps: HookDeps): HookOutcome {
  const prefix = logPrefix(event, domain);
  if (deps.config.policy === 'require' && event.op !== 'reconnect') {
    return fail(new DomainRefusedError(`refusing to start it unconfined (the configuration requires confinement): ${reason}`, { domain: domain.name }), prefix);
  }
  return ok(`${prefix} outcome=unconfined (${cause})`, [`virt-aa-hook: warning: domain '${domain.name}' runs unconfined: ${reason}`]);
}

/** A guess that libvirt's driver is on, proven wrong at start: libvirt decided at its own start, from the profiles loaded then. */
const notLabelledReason = "libvirt's AppArmor driver did not label it: the daemon started before its AppArmor profile was loaded, or qemu.conf turns the driver off; restart the daemon with its profile loaded";

const originNotes = { generated: '', 'admin-edited': ' (admin-edited profile kept)', 'libvirt-replaced': " (libvirt's virt-aa-helper profile replaced)" } as const;

/** prepare, start, migrate, restore and reconnect: the profile must be in place before QEMU runs. */
function ensureProfile(event: HookEvent, domain: Domain, confinement: Confinement, deps: HookDeps): HookOutcome {
  const prefix = logPrefix(event, domain);
  const { config } = deps;
  switch (confinement.kind) {
    case 'driver':
      // libvirt runs virt-aa-helper -c/-r after prepare; from start on, its label is in the XML.
      if (event.op === 'start' && !carriesDriverLabel(domain)) return unconfined(event, domain, 'not labelled by the driver', notLabelledReason, deps);
      return ok(`${prefix} mode=driver outcome=left to libvirt's AppArmor driver (virt-aa-helper)`);
    case 'unconfined-by-choice':
      return ok(`${prefix} outcome=unconfined (by choice: "confine": false)`);
    case 'wrapper-under-driver':
      return fail(
        new DomainRefusedError(`its <emulator> is virt-aa-hook's wrapper, but libvirt's AppArmor driver confines every domain on this host and would run the wrapper inside the profile: run 'virt-aa-hook unenroll ${domain.name}'`, { domain: domain.name }),
        prefix,
      );
    case 'unenrolled':
      return unconfined(event, domain, 'not enrolled', unconfinedReason(domain), deps);
    case 'wrapper':
      if (!domainSettings(config, domain.name, domain.uuid).confine && event.op !== 'reconnect') {
        return fail(new DomainRefusedError(`refusing to start it: ${contradictionReason(domain)}`, { domain: domain.name }), prefix);
      }
      break;
    case 'libvirt':
      break;
  }
  if (config.loader === 'kernel') {
    const status = deps.appArmor();
    if (!status.enabled) {
      return ok(`${prefix} outcome=unconfined (AppArmor is not enabled: ${status.reason})`, [`virt-aa-hook: warning: AppArmor is not enabled (${status.reason}): domain '${domain.name}' runs unconfined`]);
    }
  }
  // An incoming domain whose UUID runs here already: its profile confines that QEMU, and stays as it is.
  if ((event.op === 'migrate' || event.op === 'restore') && deps.tasksOf(domain.uuid).length > 0) {
    return ok(`${prefix} mode=${confinement.kind} outcome=left alone (tasks run in profile ${profileName(domain.uuid)})`);
  }
  const { profile, installed } = applyProfile(domain, confinement.kind, deps);
  const what = installed.loaded ? (config.loader === 'compile-only' ? 'compiled (compile-only)' : 'loaded') : 'unchanged';
  const notes = profile.notices.map((n) => `virt-aa-hook: warning: domain '${domain.name}', ${n.reason.device}: ${n.message}`);
  return ok(`${prefix} mode=${confinement.kind} rules=${profile.rules.length + profile.snippets.length} notices=${profile.notices.length} outcome=${what}${originNotes[installed.origin]}`, notes);
}

/** started: QEMU runs; check that it runs under its profile, whoever put it there. */
function verifyLabel(event: HookEvent, domain: Domain, confinement: Confinement, deps: HookDeps): HookOutcome {
  const prefix = logPrefix(event, domain);
  if (confinement.kind !== 'wrapper' && confinement.kind !== 'libvirt' && confinement.kind !== 'driver') return ok(`${prefix} outcome=not ours (${confinement.kind})`);
  if (deps.config.loader === 'compile-only' || !deps.appArmor().enabled) return ok(`${prefix} outcome=label not checked (profiles are not loaded into a kernel)`);
  const pid = deps.qemuPid(domain.name);
  const label = pid === undefined ? undefined : deps.processLabel(pid);
  // Inside a policy namespace the label may carry a ":ns:" prefix.
  const bare = label?.replace(/^:[^:]*:/, '');
  const expected = profileName(domain.uuid);
  if (bare === `${expected} (enforce)` || bare === `${expected} (complain)`) return ok(`${prefix} mode=${confinement.kind} pid=${pid} label=${JSON.stringify(label)} outcome=confined`);
  const error = new DomainRefusedError(`QEMU (pid ${pid ?? 'unknown'}) runs as ${JSON.stringify(label ?? 'unknown')}, not ${expected}: stopping an unconfined domain`, { domain: domain.name });
  return fail(error, `${prefix} mode=${confinement.kind} pid=${pid ?? 'unknown'}`);
}

/** stopped and release: unload (or put the placeholder back) and remove what was generated. */
function teardown(event: HookEvent, domain: Domain, confinement: Confinement, deps: HookDeps): HookOutcome {
  const prefix = logPrefix(event, domain);
  const state = readState(deps.config.paths.stateDir, domain.uuid);
  if (confinement.kind === 'driver' || state?.mode === 'driver') return ok(`${prefix} mode=driver outcome=left to libvirt's AppArmor driver (virt-aa-helper -D)`);
  // libvirt's AppArmor driver strips the label from the XML before release,
  // after stopped has removed the state: the placeholder still says libvirt mode.
  const mode = confinement.kind === 'wrapper' || confinement.kind === 'libvirt' ? confinement.kind : (state?.mode ?? (hasPlaceholder(domain.uuid, deps.store) ? 'libvirt' : undefined));
  if (mode === undefined) return ok(`${prefix} outcome=not ours (${confinement.kind})`);
  try {
    const outcome = deps.lock(domain.uuid, () => removeProfile(domain.uuid, mode, deps));
    return ok(`${prefix} mode=${mode} outcome=${outcome}`);
  } catch (error) {
    // libvirt ignores failures here; say it loudly and let the domain go.
    return { ...fail(error, prefix), exitCode: 0 };
  }
}

export function dispatch(anyEvent: HookEvent, xml: string, deps: HookDeps): HookOutcome {
  const event = handledEvent(anyEvent);
  if (event === undefined) return ignoredOutcome(anyEvent);
  let domain: Domain;
  try {
    domain = timed('xml', () => parseDomain(xml));
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
