// /usr/lib/libvirt/virt-aa-helper, once installed: libvirt's AppArmor driver
// runs this in place of its own helper, with the domain XML on stdin. No
// yargs on this path (libvirt runs it at every start and hotplug); exit 0 or
// 1 as libvirt expects, one line on stderr for every failure (libvirt shows
// it in virsh's error), and one line in the system log per call.

import { existsSync } from 'node:fs';
import { childProcess } from '../builtins.ts';
import { defaultPaths, loadConfig, type Config } from '../config.ts';
import { describeError } from '../errors.ts';
import { writeLog, type LogDestination } from '../log.ts';
import { readDomainXml } from '../read-input.ts';
import { storeDeps } from '../store-deps.ts';
import { parseHelperArgv } from './argv.ts';
import { runHelper, type HelperOutcome } from './run.ts';
import { sinceStart } from '../boot-record.ts';
import { timed, timingField } from '../timing.ts';

// Everything above is loaded and initialized by now.
const entryStart = sinceStart();

interface Result {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: readonly string[];
  readonly log: string;
  readonly logTo: LogDestination;
}

/** libvirt's own helper, for what is not ours: same argv, same XML, its exit code. */
function passThrough(argv: readonly string[], outcome: Extract<HelperOutcome, { kind: 'pass-through' }>, config: Config): Result {
  const original = config.paths.originalHelper;
  const log = `helper=${JSON.stringify(argv.join(' '))} outcome=passed to ${original} (${outcome.reason})`;
  if (!existsSync(original)) {
    const line = `virt-aa-hook: error: ${outcome.reason}, and libvirt's own helper ${original} is not there to take it`;
    return { exitCode: 1, stdout: '', stderr: [line], log: `${log}: missing`, logTo: config.paths };
  }
  const run = childProcess().spawnSync(original, argv, {
    // Its messages start with its argv[0]: the name libvirt called, not the
    // diverted file's.
    argv0: process.argv[1],
    input: outcome.xml,
    stdio: [outcome.xml === undefined ? 'inherit' : 'pipe', 'inherit', 'inherit'],
    env: process.env,
  });
  const exitCode = run.status ?? 1;
  return { exitCode, stdout: '', stderr: run.error === undefined ? [] : [`virt-aa-hook: error: cannot run ${original}: ${run.error.message}`], log: `${log} exit=${exitCode}`, logTo: config.paths };
}

function main(argv: readonly string[]): Result {
  let config: Config;
  try {
    config = timed('config', () => loadConfig());
  } catch (error) {
    return { exitCode: 1, stdout: '', stderr: [`virt-aa-hook: error: ${describeError(error)}`], log: `helper=${JSON.stringify(argv.join(' '))} outcome=failed: ${describeError(error)}`, logTo: defaultPaths };
  }
  const outcome = timed('work', () => runHelper(parseHelperArgv(argv), { ...storeDeps(config), readXml: () => timed('input', () => readDomainXml('-')) }));
  if (outcome.kind === 'pass-through') return passThrough(argv, outcome, config);
  return { ...outcome, logTo: config.paths };
}

const started = process.hrtime.bigint();
const result = main(process.argv.slice(2));
const ms = Number((process.hrtime.bigint() - started) / 1_000_000n);
if (result.stdout !== '') process.stdout.write(result.stdout);
for (const line of result.stderr) process.stderr.write(`${line}\n`);
// As the hook does (hooks/qemu.ts): no heap teardown, every write above is synchronous.
writeLog(result.logTo, `${result.log} ms=${ms} wall=${Math.round(process.uptime() * 1000)}${timingField(entryStart)}`, () => process.exit(result.exitCode));
