// Where a hook or helper call spends its time, for `npm run bench`: with
// VIRT_AA_HOOK_TIMING=1 the entry adds `timing=phase:ms,...` to its log line.
// libvirt runs hooks and its helper with a fixed environment, so a host never
// sees the field; without the variable, `timed` only calls its function.

import { bootRecord, sinceStart } from './boot-record.ts';

const enabled = process.env['VIRT_AA_HOOK_TIMING'] === '1';
const spent = new Map<string, number>();

/** Runs `fn`, adding its duration to `phase` (phases may nest: `parser` is part of `work`). */
export function timed<T>(phase: string, fn: () => T): T {
  if (!enabled) return fn();
  const start = sinceStart();
  try {
    return fn();
  } finally {
    spent.set(phase, (spent.get(phase) ?? 0) + sinceStart() - start);
  }
}

/** Adds time spent outside `timed` (across an await) to `phase`. */
export function addTime(phase: string, ms: number): void {
  if (enabled) spent.set(phase, (spent.get(phase) ?? 0) + ms);
}

/**
 * ` timing=node:…,load:…,<phases> code_cache=<status>` or nothing. `node` is
 * Node.js's own start (to the end of its bootstrap); `load` from there to
 * `entryStart` (a sinceStart()), plus modules loaded on demand later (the
 * `init` phase): reading, compiling and initializing the bundle, through
 * the code-cache loader also apart as `read`, `compile` and `init`.
 */
export function timingField(entryStart: number): string {
  if (!enabled) return '';
  const bootstrap = performance.nodeTiming.bootstrapComplete;
  const boot = bootRecord();
  const onDemand = spent.get('init') ?? 0;
  const phases: (readonly [string, number])[] = [
    ['node', bootstrap],
    ['load', entryStart - bootstrap + onDemand],
    ...(boot === undefined ? [] : ([['read', boot.readMs], ['compile', boot.compileMs], ['init', entryStart - boot.start - boot.readMs - boot.compileMs + onDemand]] as const)),
    ...[...spent].filter(([phase]) => phase !== 'init'),
  ];
  return ` timing=${phases.map(([phase, ms]) => `${phase}:${ms.toFixed(2)}`).join(',')}${boot === undefined ? '' : ` code_cache=${boot.status}`}`;
}
