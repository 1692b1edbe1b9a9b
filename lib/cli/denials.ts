// `denials [DOMAIN]`: the AppArmor denials of our profiles, one readable line
// each, naming the domain. For the admin whose VM just failed at 3 a.m.:
// which path did QEMU (or the hook) ask for, where does a rule go, and for a
// path a running domain was denied (a plain `virsh attach-disk`: libvirt
// calls no hook for it), the exact command that grants that device.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { listStates } from '../apparmor/state.ts';
import { describeDenial, parseDenials, type Denial } from '../apparmor/denials.ts';
import { HostError, describeError, errnoCode } from '../errors.ts';
import { loadConfig, type Config } from '../config.ts';
import { runCommand } from '../apparmor/runner.ts';
import { renderDomainRules } from '../profile-store.ts';
import { deviceHint } from '../domain/device-hint.ts';
import { addDevice, updateDevice } from '../domain/edit.ts';
import { parseDomain } from '../domain/parse.ts';
import { localFs } from '../host/host-fs.ts';
import { commandLine } from '../shell-words.ts';
import { Virsh } from '../virsh.ts';
import { definedDomains } from './maintenance.ts';
import type { GlobalArgs } from './context.ts';
import type { CliIo } from './io.ts';

export interface DenialsArgs extends GlobalArgs {
  readonly domain: string | undefined;
  readonly log: string | undefined;
}

const auditLog = '/var/log/audit/audit.log';

/** The first log that has the records: auditd's file if it exists, else the kernel log. */
function readLogs(file: string | undefined): { readonly source: string; readonly text: string } {
  if (file !== undefined) {
    try {
      return { source: file, text: fs.readFileSync(file === '-' ? 0 : file, 'utf8') };
    } catch (error) {
      throw new HostError(`cannot read ${file}: ${errnoCode(error)}`, { path: file });
    }
  }
  const tried: string[] = [];
  if (fs.existsSync(auditLog)) {
    try {
      return { source: auditLog, text: fs.readFileSync(auditLog, 'utf8') };
    } catch (error) {
      tried.push(`${auditLog}: ${errnoCode(error)}`);
    }
  }
  for (const [command, args] of [['journalctl', ['-k', '-o', 'cat', '--no-pager', '-q']], ['dmesg', []]] as const) {
    const run = runCommand(command, args);
    if (run.code === 0 && run.stdout !== '') return { source: [command, ...args].join(' '), text: run.stdout };
    tried.push(`${command}: ${run.code === 0 ? 'no output' : (run.stderr.trim().split('\n')[0] ?? `exit ${run.code}`)}`);
  }
  throw new HostError(`cannot read the kernel log (${tried.join('; ')}); run as root, or pass --log FILE`);
}

/** UUID to domain name, from our state and libvirt's definitions. */
function domainNames(args: GlobalArgs): ReadonlyMap<string, string> {
  const config = loadConfig(args['config-file']);
  const names = new Map<string, string>();
  for (const domain of definedDomains(config)) names.set(domain.uuid, domain.name);
  for (const state of listStates(config.paths.stateDir)) names.set(state.uuid, state.name);
  return names;
}

/** The device a denied open asks for, checked by synthesizing the profile it would give: the command, or why there is none. */
function hintLines(config: Config, virsh: Virsh, uuid: string, name: string, file: string): readonly string[] {
  let live: string;
  try {
    if (!virsh.isActive(uuid)) return [];
    live = virsh.dumpxml(uuid, { inactive: false });
  } catch {
    // No libvirt to ask, or the domain is gone: the record alone says too little.
    return [];
  }
  const fs = localFs('/');
  // The kernel logs the path it resolved: what is there is the file itself.
  const hint = deviceHint(live, file, fs.lstat(file)?.type === 'block');
  if (hint === undefined) return [];
  try {
    renderDomainRules(parseDomain(hint.verb === 'attach-device' ? addDevice(live, hint.deviceXml) : updateDevice(live, hint.deviceXml)), { config, fs });
  } catch (error) {
    return [`# domain '${name}': "${file}" cannot be granted through virt-aa-hook: ${describeError(error)}`];
  }
  return [`# domain '${name}': to grant "${file}" as ${hint.note}, run:`, `${commandLine(hint.verb, [name, '-'], ['--live'])} <<'EOF'`, hint.deviceXml, 'EOF'];
}

export function runDenials(args: DenialsArgs, io: CliIo): number {
  const names = domainNames(args);
  const { source, text } = readLogs(args.log);
  const wanted = args.domain;
  const matches = (d: Denial): boolean => wanted === undefined || d.uuid === wanted.toLowerCase() || (d.uuid !== undefined && names.get(d.uuid) === wanted);
  const denials = parseDenials(text).filter(matches);
  io.stdout(`# ${denials.length} AppArmor record(s) of virt-aa-hook profiles${wanted === undefined ? '' : ` for '${wanted}'`} in ${source}\n`);
  for (const denial of denials) io.stdout(`${describeDenial(denial, denial.uuid === undefined ? undefined : names.get(denial.uuid))}\n`);
  const perVm = [...new Set(denials.flatMap((d) => (d.uuid === undefined ? [] : [d.uuid])))];
  const config = loadConfig(args['config-file']);
  const virsh = new Virsh(args.connect);
  // One hint per domain and path: QEMU asks again, the kernel logs each time.
  const opens = new Map(denials.filter((d) => d.verdict === 'DENIED' && d.operation === 'open' && d.uuid !== undefined && d.profile === `libvirt-${d.uuid}` && d.target?.startsWith('/') === true).map((d) => [`${d.uuid ?? ''}\n${d.target ?? ''}`, d]));
  for (const denial of opens.values()) {
    const uuid = denial.uuid ?? '';
    for (const line of hintLines(config, virsh, uuid, names.get(uuid) ?? uuid, denial.target ?? '')) io.stdout(`${line}\n`);
  }
  if (perVm.length > 0) {
    const local = path.join(config.paths.apparmorDir, 'virt-aa-hook', 'local');
    io.stdout(`# A device's path: add it with 'virt-aa-hook attach-device' or 'update-device'. Anything else: a rule in ${local}/libvirt-<uuid>, then restart the domain.\n`);
  }
  return 0;
}
