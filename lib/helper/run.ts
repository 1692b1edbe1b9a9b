// What virt-aa-helper does for each command libvirt's AppArmor driver gives
// it, through the same profile store and synthesis as the hook: `-c`/`-r` at
// start, `-r -F PATH` whenever a path joins the running domain (hotplug,
// media change, snapshot, block job, restore file, private directories),
// `-r` after a device leaves, `-D` at stop. Returns what to print and log;
// the entry does the printing and, for what is not ours, hands over to
// libvirt's original helper.

import * as fs from 'node:fs';
import { readState } from '../apparmor/state.ts';
import { parseDomain } from '../domain/parse.ts';
import type { Domain } from '../domain/types.ts';
import { DomainRefusedError, HostError, UsageError, describeError, oneLine } from '../errors.ts';
import { mergeAppends, outlivesReplace, parseAppendedPath, type AppendedPath } from '../profile/appended.ts';
import { applyProfile, profileFromTemplate, profilePaths, removeProfile, renderDomainRules, type StoreDeps } from '../profile-store.ts';
import { profileName, supportedDomainTypes } from '../profile/synthesize.ts';
import { helperUsage, profileUuid, type HelperArgv } from './argv.ts';
import { timed } from '../timing.ts';

export interface HelperDeps extends StoreDeps {
  /** The domain XML on standard input (10 MiB at most). */
  readonly readXml: () => string;
}

export type HelperOutcome =
  | { readonly kind: 'done'; readonly exitCode: 0 | 1; readonly stdout: string; readonly stderr: readonly string[]; readonly log: string }
  /** Not ours to confine: libvirt's original helper gets the same argv (and the XML already read). */
  | { readonly kind: 'pass-through'; readonly reason: string; readonly xml: string | undefined };

/** The program name in what the helper prints, as libvirt's helper prints its own. */
const program = 'virt-aa-helper';

function done(exitCode: 0 | 1, log: string, stderr: readonly string[] = [], stdout = ''): HelperOutcome {
  return { kind: 'done', exitCode, stdout, stderr, log };
}

function failed(error: unknown, log: string): HelperOutcome {
  return done(1, `${log} outcome=failed: ${describeError(error)}`, [`virt-aa-hook: error: ${describeError(error)}`]);
}

/** libvirt's dry run: each item after a line naming the program, on standard error. */
const info = (text: string): string[] => [`${program}:`, text];

function commandText(args: Extract<HelperArgv, { kind: 'command' }>): string {
  const file = args.file === undefined ? '' : ` ${args.file.append ? '-F' : '-f'} ${args.file.path}`;
  return `${{ add: '-a', create: '-c', delete: '-D', replace: '-r', remove: '-R' }[args.command]}${args.dryRun ? ' -d' : ''}${file}`;
}

/** The paths libvirt has added that the profile keeps for this run of the domain. */
function appendsFor(args: Extract<HelperArgv, { kind: 'command' }>, domain: Domain, deps: HelperDeps): { readonly appends: readonly AppendedPath[]; readonly skipped: readonly string[] } {
  const state = readState(deps.config.paths.stateDir, domain.uuid);
  // -c starts a run afresh; appends of an earlier run (a different id) are stale.
  const earlier = args.command === 'create' || state === undefined || state.domainId !== (domain.id ?? null) ? [] : state.appended;
  const file = args.file;
  // -F adds to what the running domain has; -r and -f rebuild from the XML, which names every device still attached.
  const kept = file?.append === true ? earlier : earlier.filter((a) => outlivesReplace(a, deps.config.layout));
  if (file === undefined) return { appends: kept, skipped: [] };
  // A descriptor libvirt resolved to a pipe or socket ("pipe:[1234]") names no file: libvirt's helper skips it too.
  if (!file.path.startsWith('/')) return { appends: kept, skipped: [file.path] };
  return { appends: mergeAppends(kept, [parseAppendedPath(file.path)]), skipped: [] };
}

function generateOrReplace(args: Extract<HelperArgv, { kind: 'command' }>, uuid: string, deps: HelperDeps, prefix: string): HelperOutcome {
  const xml = deps.readXml();
  const domain = timed('xml', () => parseDomain(xml));
  if (!supportedDomainTypes.has(domain.type)) return { kind: 'pass-through', reason: `domain type '${domain.type}' is not one virt-aa-hook confines`, xml };
  const log = `domain=${JSON.stringify(domain.name)} ${prefix}`;
  if (domain.uuid !== uuid) throw new UsageError(`given uuid does not match XML uuid (libvirt-${domain.uuid})`);
  // libvirt never defines a domain without one; its helper checks anyway (verify_xpath_context).
  if (domain.os.type === undefined) throw new DomainRefusedError('invalid VM definition: no <os><type>', { domain: domain.name });
  const paths = profilePaths(deps.config.paths.apparmorDir, uuid);
  if (args.command === 'create' && fs.existsSync(paths.profile)) throw new HostError('profile exists', { path: paths.profile });
  const { appends, skipped } = appendsFor(args, domain, deps);
  const warnings = skipped.map((p) => `${program}: warning: skipped "${oneLine(p)}": not an absolute path`);
  if (args.dryRun) {
    const { profile, text } = timed('synthesis', () => renderDomainRules(domain, deps, appends));
    const notes = profile.notices.map((n) => `${program}: warning: domain '${domain.name}', ${n.reason.device}: ${n.message}`);
    const created = args.command === 'create' ? [...info(paths.profile), ...info(profileFromTemplate(uuid, deps.store))] : [];
    return done(0, `${log} outcome=dry run`, [...warnings, ...notes, ...info(paths.files), ...info(text), ...created]);
  }
  const { profile, installed } = applyProfile(domain, 'driver', deps, appends);
  const notes = profile.notices.map((n) => `virt-aa-hook: warning: domain '${domain.name}', ${n.reason.device}: ${n.message}`);
  const what = installed.loaded ? (deps.config.loader === 'compile-only' ? 'compiled (compile-only)' : 'loaded') : 'unchanged';
  const origin = installed.origin === 'generated' ? '' : installed.origin === 'admin-edited' ? ' (admin-edited profile kept)' : " (libvirt's virt-aa-helper profile replaced)";
  return done(0, `${log} mode=driver rules=${profile.rules.length + profile.snippets.length} appended=${appends.length} notices=${profile.notices.length} outcome=${what}${origin}`, [...warnings, ...notes]);
}

function existingProfile(uuid: string, deps: HelperDeps): string {
  const file = profilePaths(deps.config.paths.apparmorDir, uuid).profile;
  if (!fs.existsSync(file)) throw new HostError(`profile ${profileName(uuid)} does not exist`, { path: file });
  return file;
}

export function runHelper(args: HelperArgv, deps: HelperDeps): HelperOutcome {
  switch (args.kind) {
    case 'help':
      return done(0, 'helper=-h outcome=usage', [], helperUsage);
    case 'unsupported':
      return { kind: 'pass-through', reason: `option ${args.option} is not one virt-aa-hook's helper handles`, xml: undefined };
    case 'bad-command':
      return failed(new UsageError('bad command'), 'helper=? ');
  }
  const uuid = profileUuid(args.uuid);
  const prefix = `${uuid === undefined ? '' : `profile=${profileName(uuid)} `}helper=${JSON.stringify(commandText(args))}`;
  try {
    if (uuid === undefined) throw new UsageError(`invalid UUID ${JSON.stringify(args.uuid ?? '')}`);
    const named = readState(deps.config.paths.stateDir, uuid)?.name;
    const log = `${named === undefined ? '' : `domain=${JSON.stringify(named)} `}${prefix}`;
    switch (args.command) {
      case 'create':
      case 'replace':
        return generateOrReplace(args, uuid, deps, prefix);
      case 'add': {
        const file = existingProfile(uuid, deps);
        if (!args.dryRun) deps.store.loader.replace(file);
        return done(0, `${log} outcome=${args.dryRun ? 'dry run' : 'loaded'}`);
      }
      case 'remove': {
        const file = existingProfile(uuid, deps);
        // Unloading a profile that still confines tasks would make them unconfined.
        const tasks = deps.tasksOf(uuid);
        if (tasks.length > 0) throw new HostError(`not unloading ${profileName(uuid)}: ${tasks.length} task(s) still run in it (pid ${tasks.join(', ')})`, { path: file });
        const outcome = args.dryRun ? 'dry run' : deps.store.loader.remove(file);
        return done(0, `${log} outcome=${outcome}`);
      }
      case 'delete': {
        if (args.dryRun) return done(0, `${log} outcome=dry run`);
        // libvirt's helper unloads and deletes the rules; the profile file stays unless it is ours as generated.
        const outcome = deps.lock(uuid, () => removeProfile(uuid, 'driver', deps));
        return done(0, `${log} mode=driver outcome=${outcome}`);
      }
    }
  } catch (error) {
    return failed(error, prefix);
  }
}
