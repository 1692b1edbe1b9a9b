// What virt-aa-hook keeps on a host besides profiles, as a plan: a wrapper
// for every emulator the host has, touched when its emulator changed (libvirt
// keys its capability cache on the ctime of the path it runs: the wrapper),
// and the daemons' PATH drop-in where libvirt's AppArmor driver is not active
// (removed where it is: libvirt would exec the wrapper inside the domain's
// profile, which runs no shell). Pure: facts in, changes out; lib/cli/setup.ts
// gathers the facts and applies the changes.

import { daemonUnits, dropInFile, dropInText, withSysvBlock, withoutSysvBlock } from './daemon-path.ts';
import { byPathDir, renderWrapper, wrappedEmulator, type EmulatorSet } from './wrapper.ts';

export interface SetupPaths {
  readonly emulatorDir: string;
  readonly systemdDir: string;
  readonly sysvDefaults: string;
}

export interface FileFact {
  /** The text, for files small enough to be a wrapper or a drop-in. */
  readonly text: string | undefined;
  readonly ctimeMs: number;
}

export interface SetupFacts {
  readonly emulators: EmulatorSet;
  readonly template: string;
  /** Every file below the emulator directory, by host path. */
  readonly wrappers: ReadonlyMap<string, FileFact>;
  /** Real emulators that exist (those of the set, and those of by-path wrappers), by path. */
  readonly emulatorFiles: ReadonlyMap<string, FileFact>;
  /** systemd manages the daemons: drop-ins; otherwise the sysv defaults file. */
  readonly systemd: boolean;
  readonly driverActive: boolean;
  /** The current drop-ins and defaults file, by host path; undefined when missing. */
  readonly daemonFiles: ReadonlyMap<string, string | undefined>;
}

export type Change =
  /** `mode` undefined: the file keeps its own (a distribution's file we edit). */
  | { readonly kind: 'write'; readonly path: string; readonly content: string; readonly mode: number | undefined; readonly why: string; readonly daemonPath: boolean }
  | { readonly kind: 'touch'; readonly path: string; readonly why: string }
  | { readonly kind: 'remove'; readonly path: string; readonly why: string; readonly daemonPath: boolean };

/** The host paths of the daemons' PATH files: the drop-ins, then the sysv defaults file. */
export function daemonPathFiles(paths: SetupPaths): readonly string[] {
  return [...daemonUnits.map((unit) => dropInFile(paths.systemdDir, unit)), paths.sysvDefaults];
}

function wrapperChanges(paths: SetupPaths, facts: SetupFacts): Change[] {
  const changes: Change[] = [];
  const byPath = `${paths.emulatorDir}/${byPathDir}/`;
  const desired = new Map<string, string>();
  for (const [name, real] of facts.emulators) desired.set(`${paths.emulatorDir}/${name}`, real);
  for (const file of facts.wrappers.keys()) {
    const real = file.startsWith(byPath) ? file.slice(byPath.length - 1) : undefined;
    // A wrapper of an emulator outside PATH stays while that emulator exists: a domain names it.
    if (real !== undefined && facts.emulatorFiles.has(real)) desired.set(file, real);
  }
  for (const [file, real] of desired) {
    const content = renderWrapper(facts.template, real);
    const current = facts.wrappers.get(file);
    const emulator = facts.emulatorFiles.get(real);
    if (current?.text !== content) {
      changes.push({ kind: 'write', path: file, content, mode: 0o755, why: `wraps ${real}`, daemonPath: false });
    } else if (emulator !== undefined && emulator.ctimeMs > current.ctimeMs) {
      changes.push({ kind: 'touch', path: file, why: `${real} changed since: libvirt probes its capabilities again` });
    }
  }
  for (const [file, fact] of facts.wrappers) {
    // Only our own wrappers go; whatever else someone put there stays.
    if (!desired.has(file) && !file.startsWith(byPath) && fact.text !== undefined && wrappedEmulator(fact.text) !== undefined) {
      changes.push({ kind: 'remove', path: file, why: `${wrappedEmulator(fact.text) ?? 'its emulator'} is gone`, daemonPath: false });
    }
  }
  return changes;
}

const driverActive = "libvirt's AppArmor driver is active here: it would exec a wrapper inside the domain's profile, which runs no shell";

function daemonPathChanges(paths: SetupPaths, facts: SetupFacts, remove: boolean): Change[] {
  const changes: Change[] = [];
  const wanted = !remove && !facts.driverActive;
  const because = (systemdKind: boolean): string => (remove ? 'virt-aa-hook is uninstalled' : facts.driverActive ? driverActive : systemdKind ? 'systemd does not run the daemons here' : 'systemd runs the daemons here');
  for (const unit of daemonUnits) {
    const file = dropInFile(paths.systemdDir, unit);
    const current = facts.daemonFiles.get(file);
    const content = dropInText(paths.emulatorDir);
    if (wanted && facts.systemd) {
      if (current !== content) changes.push({ kind: 'write', path: file, content, mode: 0o644, why: `${unit} finds the wrappers first`, daemonPath: true });
    } else if (current !== undefined) {
      changes.push({ kind: 'remove', path: file, why: because(true), daemonPath: true });
    }
  }
  const defaults = facts.daemonFiles.get(paths.sysvDefaults);
  // Only a file the distribution ships is edited: Debian's init script sources it.
  if (defaults !== undefined) {
    const add = wanted && !facts.systemd;
    const content = add ? withSysvBlock(defaults, paths.emulatorDir) : withoutSysvBlock(defaults);
    const why = add ? "libvirtd's init script finds the wrappers first" : `our PATH line taken out: ${because(false)}`;
    if (content !== defaults) changes.push({ kind: 'write', path: paths.sysvDefaults, content, mode: undefined, why, daemonPath: true });
  }
  return changes;
}

/**
 * The changes that bring the host in line: wrappers for its emulators and
 * the PATH drop-in where libvirt's driver is not active; with `remove`, the
 * changes that take all of it away (uninstall).
 */
export function planSetup(paths: SetupPaths, facts: SetupFacts, remove: boolean): readonly Change[] {
  if (remove) {
    const wrappers: Change[] = [...facts.wrappers.keys()].map((file) => ({ kind: 'remove', path: file, why: 'virt-aa-hook is uninstalled', daemonPath: false }));
    return [...wrappers, ...daemonPathChanges(paths, facts, true)];
  }
  return [...wrapperChanges(paths, facts), ...daemonPathChanges(paths, facts, false)];
}
