// One domain's hooks and admin commands must never interleave (a release
// deleting files a prepare is writing); different domains run in parallel.
// Node has no flock(2), so a lock is a directory: rename(2) of a prepared
// directory onto `<key>.lock` succeeds for exactly one process, and the
// owner's pid is inside it from the first instant (no lock without an owner).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { HostError, errnoCode } from '../errors.ts';
import { uniqueToken } from '../unique.ts';

interface Owner {
  readonly pid: number;
  /** Tells this acquisition from an earlier one by a process with the same pid. */
  readonly token: string;
}

/** Locks this process holds: taking one again would wait for itself. */
const held = new Set<string>();
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Runs `fn` (synchronous: the lock is released when it returns) while no other
 * process holds the same key. Waits up to `timeoutMs`, taking over a lock
 * whose owner died.
 */
export function withDomainLock<T>(lockDir: string, key: string, fn: () => T, timeoutMs = 120_000): T {
  if (!/^[A-Za-z0-9._-]+$/.test(key)) throw new HostError(`cannot lock domain "${key}": not a plain file name`, { path: lockDir });
  const lockPath = path.join(lockDir, `${key}.lock`);
  if (held.has(lockPath)) throw new HostError(`cannot lock domain ${key}: already held by this process`, { path: lockPath });
  const me: Owner = { pid: process.pid, token: uniqueToken() };
  acquire(lockPath, key, me, timeoutMs);
  held.add(lockPath);
  try {
    return fn();
  } finally {
    held.delete(lockPath);
    // Only our own: a lock taken over from us (after a pid check went wrong) is someone else's now.
    if (sameOwner(readOwner(lockPath), me)) release(lockPath);
  }
}

function acquire(lockPath: string, key: string, me: Owner, timeoutMs: number): void {
  const lockDir = path.dirname(lockPath);
  const started = Date.now();
  for (;;) {
    const candidate = uniqueName(lockDir, 'new');
    try {
      fs.mkdirSync(candidate, { recursive: true, mode: 0o755 });
      fs.writeFileSync(path.join(candidate, 'owner'), `${me.pid} ${me.token}\n`);
      fs.renameSync(candidate, lockPath);
      return;
    } catch (error) {
      removeLock(candidate);
      // A non-empty directory is already there: the lock is held.
      if (errnoCode(error) !== 'ENOTEMPTY' && errnoCode(error) !== 'EEXIST') {
        throw new HostError(`cannot lock domain ${key}: ${errnoCode(error)}`, { path: lockPath }, { cause: error });
      }
    }
    const owner = readOwner(lockPath);
    if (owner !== undefined && !isAlive(owner.pid)) {
      takeOver(lockPath, owner);
      continue;
    }
    if (Date.now() - started >= timeoutMs) {
      throw new HostError(`cannot lock domain ${key}: held by pid ${owner?.pid ?? 'unknown'} for ${heldForMs(lockPath)}ms`, { path: lockPath });
    }
    // Jitter, so waiting processes do not retry in lockstep.
    Atomics.wait(sleeper, 0, 0, 5 + Math.random() * 15);
  }
}

/**
 * Removes a lock whose owner died. Renaming it away first lets only one of
 * several stealers win. What it moved may already be a new owner's lock
 * (another stealer was faster and someone acquired since): then it goes back.
 * Only a third waiter acquiring in that instant could still slip in; we accept
 * that, as it needs a dead owner and three processes racing for one domain.
 */
function takeOver(lockPath: string, dead: Owner): void {
  const moved = uniqueName(path.dirname(lockPath), 'stale');
  if (!tryRename(lockPath, moved)) return; // another stealer was first
  if (sameOwner(readOwner(moved), dead) || !tryRename(moved, lockPath)) removeLock(moved);
}

/** Best effort: a lock left behind is stale once this process exits, and the next taker removes it. */
function release(lockPath: string): void {
  // Renamed away before it is emptied, so no one's rename can land on a half-removed lock.
  const moved = uniqueName(path.dirname(lockPath), 'released');
  if (tryRename(lockPath, moved)) removeLock(moved);
}

/**
 * A lock directory holds its owner file and nothing else: two calls. A
 * recursive rmSync loads Node's rimraf on first use, a millisecond or more
 * of every hook call; it only clears up what is not as expected.
 */
function removeLock(dir: string): void {
  try {
    fs.unlinkSync(path.join(dir, 'owner'));
    fs.rmdirSync(dir);
  } catch {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function tryRename(from: string, to: string): boolean {
  try {
    fs.renameSync(from, to);
    return true;
  } catch {
    return false;
  }
}

function readOwner(lockPath: string): Owner | undefined {
  try {
    const [pid, token] = fs.readFileSync(path.join(lockPath, 'owner'), 'utf8').trim().split(' ');
    return pid !== undefined && /^\d+$/.test(pid) && token !== undefined ? { pid: Number(pid), token } : undefined;
  } catch {
    return undefined;
  }
}

function sameOwner(a: Owner | undefined, b: Owner): boolean {
  return a !== undefined && a.pid === b.pid && a.token === b.token;
}

function isAlive(pid: number): boolean {
  // Our own pid on a lock we do not hold: left by an earlier process that had this pid.
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return errnoCode(error) !== 'ESRCH';
  }
}

function heldForMs(lockPath: string): number | string {
  try {
    return Math.round(Date.now() - fs.statSync(lockPath).mtimeMs);
  } catch {
    return '?';
  }
}

function uniqueName(lockDir: string, purpose: string): string {
  // Never ends in `.lock`, so it cannot be anyone's lock.
  return path.join(lockDir, `.${purpose}-${process.pid}-${uniqueToken()}`);
}
