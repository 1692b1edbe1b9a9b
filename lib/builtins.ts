// Node's own modules that cost a call milliseconds to load and that many
// calls never use, loaded at their first use instead of with the bundle:
// node:child_process takes about 3 ms (it pulls in net and streams), and a
// hook event that runs no program must not pay for it; node:net (about 2 ms)
// only the log line to journald needs.

import type * as ChildProcess from 'node:child_process';
import { createRequire } from 'node:module';
import type * as Net from 'node:net';
import type * as Os from 'node:os';

const load = createRequire(import.meta.url);

function lazy<T>(id: string): () => T {
  let module: T | undefined;
  return () => (module ??= load(id) as T);
}

export const childProcess = lazy<typeof ChildProcess>('node:child_process');
export const os = lazy<typeof Os>('node:os');
export const net = lazy<typeof Net>('node:net');
