// What `doctor` and `status` print: a line per check or per field for an
// admin, or JSON for machines. Pure.

import type { ProfileOrigin } from '../profile-store.ts';
import type { Check, CheckState } from './doctor.ts';
import type { DenialsFact, InspectFacts, LogFact } from './facts.ts';
import type { DomainStatus } from './status.ts';

/** doctor's exit code: 1 when a check failed. Warnings and skipped checks do not count. */
export const doctorExitCode = (checks: readonly Check[]): 0 | 1 => (checks.some((c) => c.state === 'fail') ? 1 : 0);

const stateWords: Readonly<Record<CheckState, string>> = { ok: 'ok', warn: 'WARN', fail: 'FAIL', skip: 'skip' };

export function doctorText(checks: readonly Check[], configFile: string): string {
  const width = Math.max(...checks.map((c) => c.id.length));
  const lines = [`# virt-aa-hook doctor, configuration ${configFile}`];
  for (const check of checks) {
    lines.push(`${stateWords[check.state].padEnd(5)} ${check.id.padEnd(width)}  ${check.title}: ${check.detail}`);
    for (const fix of check.fix) lines.push(`${' '.repeat(6 + width + 2)}fix: ${fix}`);
  }
  const count = (state: CheckState): number => checks.filter((c) => c.state === state).length;
  lines.push(`# ${count('ok')} ok, ${count('warn')} warning(s), ${count('fail')} failed, ${count('skip')} skipped: exit ${doctorExitCode(checks)}`);
  return `${lines.join('\n')}\n`;
}

export function doctorJson(checks: readonly Check[], configFile: string): string {
  const exitCode = doctorExitCode(checks);
  return `${JSON.stringify({ ok: exitCode === 0, exitCode, configFile, checks }, null, 2)}\n`;
}

const origins: Readonly<Record<ProfileOrigin, string>> = {
  generated: 'made from our template',
  'admin-edited': 'edited by an administrator: kept and used',
  'libvirt-replaced': "made by libvirt's own virt-aa-helper (ours replaces it at the next start)",
};

function profileLine(status: DomainStatus, facts: Pick<InspectFacts, 'config'>): string {
  const { profile } = status;
  const loaded = profile.loaded !== null ? `loaded (${profile.loaded})` : facts.config.loader === 'compile-only' ? 'not loaded ("loader": "compile-only": compiled, never loaded)' : 'not loaded';
  const rules = profile.rules === null ? 'no rules file' : `${profile.rules} rule(s)`;
  const origin = profile.origin === null ? 'no profile file' : origins[profile.origin];
  return `${profile.name} ${loaded}, ${rules}, ${origin}`;
}

function eventLine(status: DomainStatus, log: LogFact): string {
  if (log.source === undefined) return `unknown (${log.problem})`;
  const event = status.lastEvent;
  if (event === null) return `none in ${log.source}`;
  return `${event.when === undefined ? '' : `${event.when} `}${event.what}: ${event.outcome ?? '(no outcome)'}`;
}

function denialsLine(status: DomainStatus, denials: DenialsFact): string {
  if (denials.source === undefined) return `unknown (${denials.problem})`;
  return `${status.denials ?? 0} in ${denials.source}${status.denials === 0 ? '' : `: ${status.denialsCommand}`}`;
}

export function statusText(statuses: readonly DomainStatus[], facts: Pick<InspectFacts, 'config' | 'hookLog' | 'denials'>): string {
  const lines: string[] = [];
  for (const s of statuses) {
    lines.push(`domain '${s.name}' ${s.uuid}: ${s.running ? `running${s.pid === null ? '' : ` (pid ${s.pid})`}` : 'shut off'}`);
    lines.push(`  confinement: ${s.confinement.text}`);
    lines.push(`  profile:     ${profileLine(s, facts)}`);
    lines.push(`  QEMU label:  ${s.running ? (s.label ?? 'cannot be read') : '(not running)'}`);
    lines.push(`  last event:  ${eventLine(s, facts.hookLog)}`);
    lines.push(`  denials:     ${denialsLine(s, facts.denials)}`);
  }
  if (statuses.length === 0) lines.push('# no domain is defined or running');
  const hook = facts.hookLog.source === undefined ? `no hook log (${facts.hookLog.problem})` : `hook and helper events from ${facts.hookLog.source}`;
  const denials = facts.denials.source === undefined ? `no kernel log (${facts.denials.problem})` : `AppArmor records from ${facts.denials.source}`;
  lines.push(`# ${hook}; ${denials}`);
  return `${lines.join('\n')}\n`;
}

export function statusJson(statuses: readonly DomainStatus[], facts: Pick<InspectFacts, 'hookLog' | 'denials'>): string {
  const source = (log: LogFact | DenialsFact) => (log.source === undefined ? { source: null, problem: log.problem } : { source: log.source });
  return `${JSON.stringify({ hookLog: source(facts.hookLog), kernelLog: source(facts.denials), domains: statuses }, null, 2)}\n`;
}
