// What the code-cache loader (lib/code-cache.ts) leaves for the bundle it
// runs, so VIRT_AA_HOOK_TIMING (lib/timing.ts) can tell loading apart.

export type CacheStatus =
  /** V8 took the cached code */
  | 'hit'
  /** no code cache directory: VIRT_AA_HOOK_CODE_CACHE=off, or a bundle not installed */
  | 'off'
  | 'missing'
  /** written for another bundle, Node.js or set of flags */
  | 'stale'
  /** the file or its directory may be written by someone other than root (or us) */
  | 'unsafe'
  | 'unreadable'
  /** V8 refused it (another V8 version or flag set than its header says) */
  | 'rejected';

/**
 * Milliseconds since the process started. Not performance.now(): the
 * `performance` global loads perf_hooks on first use, about 1 ms of a call.
 */
export const sinceStart = (): number => process.uptime() * 1000;

export interface BootRecord {
  /** sinceStart() when the loader began. */
  readonly start: number;
  readonly readMs: number;
  readonly compileMs: number;
  readonly status: CacheStatus;
}

const key = Symbol.for('virt-aa-hook.boot');

export function recordBoot(record: BootRecord): void {
  (globalThis as Record<symbol, unknown>)[key] = record;
}

/** Undefined when the bundle was not run through the loader (tests, tsx). */
export function bootRecord(): BootRecord | undefined {
  return (globalThis as Record<symbol, unknown>)[key] as BootRecord | undefined;
}
