// What the hook remembers about a domain between events, one JSON file per
// domain in `<stateDir>/domains/<uuid>.json`: which mode it is in, which files
// are ours, and the hash of the profile as we wrote it, so a profile an admin
// edited is recognised and kept.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { canonicalUuid } from '../domain/parse-values.ts';
import type { AppendedPath } from '../profile/appended.ts';
import { removeIfExists, writeIfChanged } from './files.ts';

/**
 * How QEMU enters the profile: our emulator wrapper; a static libvirt label
 * (enrolled by an earlier version, still honoured); or libvirt's own AppArmor
 * driver, which runs our virt-aa-helper.
 */
export type ProfileMode = 'wrapper' | 'libvirt' | 'driver';
export const profileModes: readonly ProfileMode[] = ['wrapper', 'libvirt', 'driver'];

export interface DomainState {
  readonly uuid: string;
  readonly name: string;
  readonly mode: ProfileMode;
  readonly profileFile: string;
  readonly filesFile: string;
  /** Of the profile file as we wrote it: a different hash means an admin edited it. */
  readonly profileSha256: string;
  readonly loaded: boolean;
  /** Paths libvirt added while the domain runs (virt-aa-helper -F), kept until it stops. */
  readonly appended: readonly AppendedPath[];
  /** The running domain's id when this was written (null: the XML had none): appends belong to one run. */
  readonly domainId: number | null;
}

/** The UUID names a file: only the canonical form, so nothing else gets into the path. */
export const isCanonicalUuid = (uuid: string): boolean => canonicalUuid(uuid) === uuid;

function stateFile(stateDir: string, uuid: string): string {
  if (!isCanonicalUuid(uuid)) throw new Error(`not a canonical UUID: ${JSON.stringify(uuid)}`);
  return path.join(stateDir, 'domains', `${uuid}.json`);
}

/** The state, or undefined when there is none or it cannot be trusted (not ours, edited by hand). */
export function readState(stateDir: string, uuid: string): DomainState | undefined {
  const file = stateFile(stateDir, uuid);
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  // States written before appends existed have none.
  if (typeof json === 'object' && json !== null && !('appended' in json)) json = { appended: [], domainId: null, ...json };
  return isDomainState(json) && json.uuid === uuid ? json : undefined;
}

/** Written only when it changed: start usually finds what prepare wrote, and two fsyncs are saved. */
export function writeState(stateDir: string, state: DomainState): void {
  // Field by field, in a fixed order: nothing else the object carries gets in.
  const { uuid, name, mode, profileFile, filesFile, profileSha256, loaded } = state;
  const appended = state.appended.map(({ path, subtree }) => ({ path, subtree }));
  const { domainId } = state;
  writeIfChanged(stateFile(stateDir, uuid), `${JSON.stringify({ uuid, name, mode, profileFile, filesFile, profileSha256, loaded, appended, domainId }, null, 2)}\n`);
}

export function removeState(stateDir: string, uuid: string): boolean {
  return removeIfExists(stateFile(stateDir, uuid));
}

/** Every domain with a valid state, sorted by UUID; a missing directory is no domain. */
export function listStates(stateDir: string): readonly DomainState[] {
  let names: string[];
  try {
    names = fs.readdirSync(path.join(stateDir, 'domains'));
  } catch {
    return [];
  }
  return names
    .map((name) => /^(.+)\.json$/.exec(name)?.[1])
    .filter((uuid): uuid is string => uuid !== undefined && isCanonicalUuid(uuid))
    .sort()
    .flatMap((uuid) => readState(stateDir, uuid) ?? []);
}

function isDomainState(value: unknown): value is DomainState {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    ['uuid', 'name', 'profileFile', 'filesFile', 'profileSha256'].every((key) => typeof v[key] === 'string') &&
    profileModes.includes(v['mode'] as ProfileMode) &&
    typeof v['loaded'] === 'boolean' &&
    (v['domainId'] === null || Number.isInteger(v['domainId'])) &&
    Array.isArray(v['appended']) &&
    v['appended'].every((a: unknown) => typeof a === 'object' && a !== null && typeof (a as { path?: unknown }).path === 'string' && typeof (a as { subtree?: unknown }).subtree === 'boolean')
  );
}
