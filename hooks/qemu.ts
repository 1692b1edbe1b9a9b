// /etc/libvirt/hooks/qemu: libvirt runs this for every QEMU domain event with
// `<name> <op> <subop> <extra>` as argv and the domain XML on stdin. Kept to
// the bare minimum of imports (no yargs): every domain start waits for it.
// The XML parser, synthesis and the profile store load only for events that
// use them (a dynamic import: esbuild leaves them uninitialized until then).

import { defaultPaths, loadConfig } from '../lib/config.ts';
import { parseHookArgv } from '../lib/hook/event.ts';
import { ignoredOutcome, isIgnored, unprivileged, type HookOutcome } from '../lib/hook/outcome.ts';
import { writeLog, type LogDestination } from '../lib/log.ts';
import { readDomainXml } from '../lib/read-input.ts';
import { processLabel } from '../lib/apparmor/status.ts';
import { oneLine } from '../lib/errors.ts';
import { sinceStart } from '../lib/boot-record.ts';
import { addTime, timed, timingField } from '../lib/timing.ts';

// Everything above is loaded and initialized by now.
const entryStart = sinceStart();

async function run(argv: readonly string[]): Promise<HookOutcome & { readonly logTo: LogDestination }> {
  const event = parseHookArgv(argv);
  // A qemu:///session daemon runs this same hook as its user, who may load no
  // profile: its guests start as before, unconfined, whatever the policy.
  if (process.getuid?.() !== 0) {
    try {
      readDomainXml('-');
    } catch {
      // Read only so that libvirt never writes into a closed pipe.
    }
    return { ...unprivileged(event), logTo: defaultPaths };
  }
  try {
    const config = timed('config', () => loadConfig());
    // stdin is read even when unused, so libvirt never writes into a closed pipe.
    const xml = timed('input', () => readDomainXml('-'));
    if (isIgnored(event)) return { ...ignoredOutcome(event), logTo: config.paths };
    const importStart = sinceStart();
    const [{ dispatch }, { hookDeps }] = await Promise.all([import('../lib/hook/dispatch.ts'), import('../lib/hook/deps.ts')]);
    addTime('init', sinceStart() - importStart);
    return { ...timed('work', () => dispatch(event, xml, hookDeps(config))), logTo: config.paths };
  } catch (error) {
    const { eventFailed } = await import('../lib/hook/dispatch.ts');
    // Without a configuration, the system log.
    return { ...eventFailed(event, error), logTo: defaultPaths };
  }
}

const started = process.hrtime.bigint();
void run(process.argv.slice(2)).then((outcome) => {
  const ms = Number((process.hrtime.bigint() - started) / 1_000_000n);
  // ms: the hook's own work; wall: since the process started, Node's start-up included.
  // hook_label: the profile the hook itself ran in, which shows whether a confined
  // libvirtd ran it under our hook profile (it may load policy) or its own (it may not).
  const hookLabel = processLabel(process.pid);
  const line = `${outcome.log} ms=${ms} wall=${Math.round(process.uptime() * 1000)}${hookLabel === undefined ? '' : ` hook_label=${JSON.stringify(hookLabel)}`}${timingField(entryStart)}`;
  // A domain name may hold a newline or an escape sequence: one line each, whatever it says.
  for (const text of outcome.stderr) process.stderr.write(`${oneLine(text)}\n`);
  if (outcome.stdout !== '') process.stdout.write(outcome.stdout);
  // Exiting here spares Node tearing down the heap at its own exit, a few ms
  // of every call (npm run bench). Nothing is lost: Node writes to the pipes,
  // files and terminals libvirt gives a hook synchronously.
  writeLog(outcome.logTo, line, () => process.exit(outcome.exitCode));
});
