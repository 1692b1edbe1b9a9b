// Where a domain's image headers have named files before: one small JSON
// file per domain, <stateDir>/images/<uuid>.json, {"uuid", "dirs"}. Unlike
// the domain's state (removed at release) it lasts across starts, so that
// the next start can tell a backing chain that moved to a new location (a
// guest rewrote its header) from one that did not. Synthesis reads it as an
// input and returns the directories it granted; the caller records them once
// the profile is in place.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { removeIfExists, writeIfChanged } from './files.ts';
import { isCanonicalUuid } from './state.ts';

function recordFile(stateDir: string, uuid: string): string {
  if (!isCanonicalUuid(uuid)) throw new Error(`not a canonical UUID: ${JSON.stringify(uuid)}`);
  return path.join(stateDir, 'images', `${uuid}.json`);
}

/**
 * The recorded directories; undefined when nothing was ever recorded (the
 * domain's first start under virt-aa-hook: its chain is taken as it is). A
 * record that exists but cannot be read or trusted vouches for nothing.
 */
export function readImageRecord(stateDir: string, uuid: string): readonly string[] | undefined {
  let text: string;
  try {
    text = fs.readFileSync(recordFile(stateDir, uuid), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return [];
  }
  try {
    const json: unknown = JSON.parse(text);
    if (typeof json !== 'object' || json === null) return [];
    const { uuid: recorded, dirs } = json as { uuid?: unknown; dirs?: unknown };
    if (recorded !== uuid || !Array.isArray(dirs)) return [];
    return dirs.filter((d): d is string => typeof d === 'string' && d.startsWith('/'));
  } catch {
    return [];
  }
}

/** The record after a start that granted `imageDirs`: every location seen so far, sorted. */
export function nextImageRecord(previous: readonly string[] | undefined, imageDirs: readonly string[]): readonly string[] {
  return [...new Set([...(previous ?? []), ...imageDirs])].sort();
}

/**
 * Records the directories a loaded profile granted from image headers (its
 * `imageDirs`), written atomically and only when they change. Call it once
 * the profile is in place, under the domain's lock.
 */
export function recordImageLocations(stateDir: string, uuid: string, imageDirs: readonly string[]): boolean {
  const dirs = nextImageRecord(readImageRecord(stateDir, uuid), imageDirs);
  return writeIfChanged(recordFile(stateDir, uuid), `${JSON.stringify({ uuid, dirs }, null, 2)}\n`);
}

/** The UUIDs with a record, sorted; a missing directory is none. */
export function listImageRecords(stateDir: string): readonly string[] {
  let names: string[];
  try {
    names = fs.readdirSync(path.join(stateDir, 'images'));
  } catch {
    return [];
  }
  return names
    .map((name) => /^(.+)\.json$/.exec(name)?.[1])
    .filter((uuid): uuid is string => uuid !== undefined && isCanonicalUuid(uuid))
    .sort();
}

export function removeImageRecord(stateDir: string, uuid: string): boolean {
  return removeIfExists(recordFile(stateDir, uuid));
}
