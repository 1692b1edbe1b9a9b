import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import tmp from 'tmp';
import { withDomainLock } from '../../lib/apparmor/lock.ts';
import { HostError } from '../../lib/errors.ts';
import { checkoutRoot } from '../helpers/apparmor-parser.ts';
import type { WorkerJob } from './fixtures/lock-worker.ts';

const worker = path.join(checkoutRoot, 'test/apparmor/fixtures/lock-worker.ts');
const uuid = '6f1d2c3b-0000-4000-8000-00000000000';

interface Run {
  readonly dir: string;
  readonly lockDir: string;
  readonly log: string;
  readonly start: (id: string, key: string, options: Pick<WorkerJob, 'parties' | 'rounds' | 'holdMs'>) => ChildProcess;
}

function setup(t: ExecutionContext): Run {
  const dir = tmp.dirSync({ unsafeCleanup: true }).name;
  const lockDir = path.join(dir, 'locks');
  const log = path.join(dir, 'log');
  const barrierDir = path.join(dir, 'barrier');
  fs.mkdirSync(barrierDir);
  fs.writeFileSync(log, '');
  const start: Run['start'] = (id, key, options) => {
    const child = spawn(process.execPath, ['--import', 'tsx', worker, JSON.stringify({ id, lockDir, key, log, barrierDir, ...options })], { cwd: checkoutRoot, stdio: ['ignore', 'ignore', 'inherit'] });
    t.teardown(() => void child.kill('SIGKILL'));
    return child;
  };
  return { dir, lockDir, log, start };
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.on('exit', (code) => resolve(code))));
}

interface Event {
  readonly ms: number;
  readonly event: string;
  readonly id: string;
}

function events(log: string): Event[] {
  return fs
    .readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [ms, event, id] = line.split(' ');
      return { ms: Number(ms), event: event ?? '', id: id ?? '' };
    });
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

test('two processes on the same key: 20 rounds each, their critical sections never overlap', async (t) => {
  const run = setup(t);
  // Held longer than a waiter's poll interval, so a waiter that wrongly got in would be caught inside.
  const options = { parties: 2, rounds: 20, holdMs: 25 };
  const codes = await Promise.all([exited(run.start('a', `${uuid}1`, options)), exited(run.start('b', `${uuid}1`, options))]);
  t.deepEqual(codes, [0, 0]);
  const log = events(run.log);
  t.is(log.length, 80);
  for (let i = 0; i < log.length; i += 2) {
    const [start, end] = [log[i], log[i + 1]];
    t.is(start?.event, 'start');
    t.deepEqual(end && { event: end.event, id: end.id }, { event: 'end', id: start?.id }, `line ${i + 2} interleaves`);
  }
  // They did contend: the lock passed between them, not one whole run after the other.
  const handovers = log.filter((e, i) => e.event === 'start' && i > 0 && log[i - 1]?.id !== e.id).length;
  t.true(handovers >= 2, `only ${handovers} handovers`);
  t.deepEqual(fs.readdirSync(run.lockDir), [], 'nothing left behind');
});

test('two processes on different keys hold their locks at the same time', async (t) => {
  const run = setup(t);
  const options = { parties: 2, rounds: 1, holdMs: 400 };
  await Promise.all([exited(run.start('a', `${uuid}2`, options)), exited(run.start('b', `${uuid}3`, options))]);
  const log = events(run.log);
  const span = (id: string): [number, number] => [log.find((e) => e.id === id && e.event === 'start')?.ms ?? NaN, log.find((e) => e.id === id && e.event === 'end')?.ms ?? NaN];
  const [a, b] = [span('a'), span('b')];
  const overlap = Math.min(a[1], b[1]) - Math.max(a[0], b[0]);
  t.log(`overlap ${overlap} ms of 400`);
  t.true(overlap > 200, `overlap ${overlap} ms`);
});

test('a live owner makes others time out; once it is killed, its stale lock is taken over', async (t) => {
  const run = setup(t);
  const key = `${uuid}4`;
  // Holds the lock for a minute, unless killed first.
  const holder = run.start('holder', key, { parties: 1, rounds: 1, holdMs: 60_000 });
  await until(() => events(run.log).length > 0);
  const error = t.throws(() => withDomainLock(run.lockDir, key, () => 'never', 200), { instanceOf: HostError });
  t.regex(error?.message ?? '', new RegExp(`^cannot lock domain ${key}: held by pid ${holder.pid} for \\d+ms$`));
  t.is(error?.context.path, path.join(run.lockDir, `${key}.lock`));

  holder.kill('SIGKILL');
  await exited(holder);
  t.is(withDomainLock(run.lockDir, key, () => 'mine', 5000), 'mine');
  t.deepEqual(fs.readdirSync(run.lockDir), []);
});

test('a lock left by a pid that no longer exists is stale', (t) => {
  const run = setup(t);
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  const lock = path.join(run.lockDir, `${uuid}5.lock`);
  fs.mkdirSync(lock, { recursive: true });
  fs.writeFileSync(path.join(lock, 'owner'), `${dead} 0123456789abcdef\n`);
  t.is(withDomainLock(run.lockDir, `${uuid}5`, () => fs.readFileSync(path.join(lock, 'owner'), 'utf8').split(' ')[0], 5000), String(process.pid));
  t.false(fs.existsSync(lock));
});

test('the lock is released when the function throws, and its error comes through', (t) => {
  const run = setup(t);
  t.throws(() => withDomainLock(run.lockDir, `${uuid}6`, () => { throw new Error('boom'); }), { message: 'boom' });
  t.is(withDomainLock(run.lockDir, `${uuid}6`, () => 1, 0), 1);
});

test('taking a lock this process already holds fails at once instead of waiting for itself', (t) => {
  const run = setup(t);
  const started = Date.now();
  const error = t.throws(() => withDomainLock(run.lockDir, `${uuid}7`, () => withDomainLock(run.lockDir, `${uuid}7`, () => 1)), { instanceOf: HostError });
  t.is(error?.message, `cannot lock domain ${uuid}7: already held by this process`);
  t.true(Date.now() - started < 1000);
});

test('a key must be a plain file name', (t) => {
  const run = setup(t);
  for (const key of ['../etc/x', 'a/b', '', 'x y']) {
    t.throws(() => withDomainLock(run.lockDir, key, () => 1), { instanceOf: HostError, message: `cannot lock domain "${key}": not a plain file name` });
  }
  t.false(fs.existsSync(run.lockDir));
});
