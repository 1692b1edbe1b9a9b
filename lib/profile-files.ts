// A domain's profile on the host: the profile made from the template
// (`libvirt/libvirt-<uuid>`, kept if an admin edited it), the rules include
// rewritten at every start (`libvirt/libvirt-<uuid>.files`), the deny-all
// placeholder of libvirt mode, and the state that ties them together.
// Callers hold the domain's lock.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { removeIfExists, writeFileAtomically, writeIfChanged } from './apparmor/files.ts';
import type { ProfileLoader } from './apparmor/loader.ts';
import { readState, removeState, sha256, writeState, type DomainState } from './apparmor/state.ts';
import type { ConfinementMode, DomainSettings } from './config.ts';
import { oneLine } from './errors.ts';
import { renderRules } from './profile/render.ts';
import { profileName, type Profile } from './profile/synthesize.ts';
import { fillTemplate } from './profile/template.ts';

export interface ProfilePaths {
  readonly profile: string;
  readonly files: string;
  readonly placeholder: string;
}

export function profilePaths(apparmorDir: string, uuid: string): ProfilePaths {
  const name = profileName(uuid);
  return {
    profile: path.join(apparmorDir, 'libvirt', name),
    files: path.join(apparmorDir, 'libvirt', `${name}.files`),
    placeholder: path.join(apparmorDir, 'virt-aa-hook', 'placeholders', name),
  };
}

export interface StoreContext {
  readonly apparmorDir: string;
  readonly stateDir: string;
  readonly cacheDir: string;
  readonly loader: ProfileLoader;
  readonly template: () => string;
  readonly templatePath: string;
}

/** The profile file as the template makes it: the per-VM rules come in through the include. */
export function profileFromTemplate(uuid: string, context: StoreContext): string {
  const name = profileName(uuid);
  return fillTemplate(context.template(), { PROFILE_NAME: name, VM_RULES: `  #include if exists <libvirt/${name}.files>` }, context.templatePath);
}

export function placeholderText(uuid: string): string {
  const name = profileName(uuid);
  return [
    '# virt-aa-hook placeholder: keeps the static label of an enrolled domain valid',
    '# while the domain is not running. It allows nothing.',
    'abi <abi/3.0>,',
    `profile ${name} flags=(attach_disconnected) {`,
    '}',
    '',
  ].join('\n');
}

export function filesText(profile: Profile, settings: DomainSettings, settingsKey: string): string {
  const extra = settings.rules.length === 0 ? '' : `\n# configuration: domains.${oneLine(settingsKey)}.rules\n${settings.rules.join('\n')}\n`;
  return renderRules(profile) + extra;
}

/**
 * apparmor_parser trusts its cache while the cache file is newer than the
 * profile and its includes. Rewriting identical text would make it stale, so
 * when the text is what the cache was compiled from, the old mtime goes back.
 */
function keepCacheValid(files: readonly string[], text: string, recordFile: string): void {
  const hash = sha256(text);
  let record: { sha256: string; mtimeMs: number } | undefined;
  try {
    record = JSON.parse(fs.readFileSync(recordFile, 'utf8')) as { sha256: string; mtimeMs: number };
  } catch {
    record = undefined;
  }
  if (record?.sha256 === hash) {
    const time = new Date(record.mtimeMs);
    for (const file of files) fs.utimesSync(file, time, time);
    return;
  }
  const mtimeMs = Math.max(...files.map((f) => fs.statSync(f).mtimeMs));
  writeFileAtomically(recordFile, `${JSON.stringify({ sha256: hash, mtimeMs })}\n`);
}

export interface InstallResult {
  /** Whether apparmor_parser ran (false: nothing changed and it is loaded). */
  readonly loaded: boolean;
  /** An admin edited the profile file; it was kept and used. */
  readonly adminProfile: boolean;
}

export function installProfile(
  uuid: string,
  domainName: string,
  mode: ConfinementMode,
  rulesText: string,
  options: { readonly complain: boolean; readonly isLoaded: (name: string) => boolean },
  context: StoreContext,
): InstallResult {
  const paths = profilePaths(context.apparmorDir, uuid);
  const previous = readState(context.stateDir, uuid);
  const generated = profileFromTemplate(uuid, context);
  const current = readText(paths.profile);
  const adminProfile = current !== undefined && current !== generated && sha256(current) !== previous?.profileSha256;
  // The include must exist before the profile that names it is compiled.
  const filesChanged = writeIfChanged(paths.files, rulesText);
  const profileChanged = adminProfile ? false : writeIfChanged(paths.profile, generated);
  const profileText = adminProfile ? (current ?? '') : generated;
  keepCacheValid([paths.files, paths.profile], profileText + rulesText, path.join(context.cacheDir, `${profileName(uuid)}.source.json`));
  const unchanged = !filesChanged && !profileChanged && previous?.loaded === true && previous.mode === mode && options.isLoaded(profileName(uuid));
  if (!unchanged) context.loader.replace(paths.profile, { complain: options.complain });
  const state: DomainState = {
    uuid,
    name: domainName,
    mode,
    profileFile: paths.profile,
    filesFile: paths.files,
    profileSha256: adminProfile ? (previous?.profileSha256 ?? '') : sha256(generated),
    loaded: true,
  };
  writeState(context.stateDir, state);
  return { loaded: !unchanged, adminProfile };
}

/** Whether the domain has a placeholder: it is enrolled in libvirt mode. */
export function hasPlaceholder(uuid: string, context: StoreContext): boolean {
  return fs.existsSync(profilePaths(context.apparmorDir, uuid).placeholder);
}

export function loadPlaceholder(uuid: string, context: StoreContext): void {
  const file = profilePaths(context.apparmorDir, uuid).placeholder;
  writeIfChanged(file, placeholderText(uuid));
  context.loader.replace(file);
}

export type RemoveOutcome = 'removed' | 'not-loaded' | 'placeholder';

/**
 * Unloads the profile (or, in libvirt mode, puts the placeholder back) and
 * removes what was generated. Safe to call twice and after a failed start.
 */
export function removeProfile(uuid: string, mode: ConfinementMode | undefined, isLoaded: (name: string) => boolean, context: StoreContext): RemoveOutcome {
  const paths = profilePaths(context.apparmorDir, uuid);
  const state = readState(context.stateDir, uuid);
  let outcome: RemoveOutcome;
  if ((mode ?? state?.mode) === 'libvirt') {
    loadPlaceholder(uuid, context);
    outcome = 'placeholder';
  } else if (!isLoaded(profileName(uuid))) {
    outcome = 'not-loaded';
  } else {
    // apparmor_parser -R wants a file that defines the profile; its rules do not matter.
    const unloadFrom = fs.existsSync(paths.profile) ? paths.profile : paths.placeholder;
    if (!fs.existsSync(unloadFrom)) writeFileAtomically(unloadFrom, placeholderText(uuid));
    outcome = context.loader.remove(unloadFrom);
  }
  const current = readText(paths.profile);
  if (current !== undefined && (sha256(current) === state?.profileSha256 || isUnmodifiedTemplate(current, uuid, context))) removeIfExists(paths.profile);
  removeIfExists(paths.files);
  if (outcome !== 'placeholder') removeIfExists(paths.placeholder);
  removeState(context.stateDir, uuid);
  return outcome;
}

/** Without state (a start that failed early), a profile is ours if the template would make it as it is. */
function isUnmodifiedTemplate(text: string, uuid: string, context: StoreContext): boolean {
  try {
    return text === profileFromTemplate(uuid, context);
  } catch {
    return false;
  }
}

/** A file's text, or undefined when there is none (or it cannot be read). */
export function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
