// /etc/libvirt/hooks/qemu: libvirt runs this for every QEMU domain event with
// `<name> <op> <subop> <extra>` as argv and the domain XML on stdin. Kept to
// the bare minimum of imports (no yargs): every domain start waits for it.

import { loadConfig } from '../lib/config.ts';
import { dispatch, eventFailed, unprivileged, type HookOutcome } from '../lib/hook/dispatch.ts';
import { hookDeps } from '../lib/hook/deps.ts';
import { parseHookArgv } from '../lib/hook/event.ts';
import { writeLog } from '../lib/log.ts';
import { readDomainXml } from '../lib/read-input.ts';
import { processLabel } from '../lib/apparmor/status.ts';
import { oneLine } from '../lib/errors.ts';

function run(argv: readonly string[]): HookOutcome & { readonly logFile: string | null } {
  const event = parseHookArgv(argv);
  // A qemu:///session daemon runs this same hook as its user, who may load no
  // profile: its guests start as before, unconfined, whatever the policy.
  if (process.getuid?.() !== 0) {
    try {
      readDomainXml('-');
    } catch {
      // Read only so that libvirt never writes into a closed pipe.
    }
    return { ...unprivileged(event), logFile: null };
  }
  try {
    const config = loadConfig();
    // stdin is read even when unused, so libvirt never writes into a closed pipe.
    const xml = readDomainXml('-');
    return { ...dispatch(event, xml, hookDeps(config)), logFile: config.paths.logFile };
  } catch (error) {
    return { ...eventFailed(event, error), logFile: null };
  }
}

const started = process.hrtime.bigint();
const outcome = run(process.argv.slice(2));
const ms = Number((process.hrtime.bigint() - started) / 1_000_000n);
// ms: the hook's own work; wall: since the process started, Node's start-up included.
// hook_label: the profile the hook itself ran in, which shows whether a confined
// libvirtd ran it under our hook profile (it may load policy) or its own (it may not).
const hookLabel = processLabel(process.pid);
writeLog(outcome.logFile, `${outcome.log} ms=${ms} wall=${Math.round(process.uptime() * 1000)}${hookLabel === undefined ? '' : ` hook_label=${JSON.stringify(hookLabel)}`}`);
// A domain name may hold a newline or an escape sequence: one line each, whatever it says.
for (const line of outcome.stderr) process.stderr.write(`${oneLine(line)}\n`);
if (outcome.stdout !== '') process.stdout.write(outcome.stdout);
process.exitCode = outcome.exitCode;
