import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import tmp from 'tmp';
import { cacheClass, cacheDirectory, cacheHeader, decodePayload, encodePayload, isSafe, payloadMarker } from '../lib/code-cache.ts';
import { checkoutRoot } from './helpers/apparmor-parser.ts';

const hook = path.join(checkoutRoot, 'dist/hooks/qemu');
const runtime = { version: 'v20.20.2', arch: 'x64', execArgv: [], nodeOptions: undefined };

test('the bundle goes into a comment and comes back as it was, */ included', (t) => {
  const code = 'const a = "*/"; /* c */ const re = /x*\\//; module.exports = a;';
  const file = `#!/usr/bin/env node\nloader();${encodePayload(code)}`;
  t.false(file.slice(file.indexOf(payloadMarker) + 3, -3).includes('*/'), 'nothing ends the comment early');
  t.is(decodePayload(file), code);
  t.is(decodePayload('#!/usr/bin/env node\nno bundle here\n'), undefined);
  t.throws(() => encodePayload('a *\u0000/ b'), { message: /another escape/ });
});

test("each kind of call has its own cache: the hook's operation by position, the helper's options, the CLI's command", (t) => {
  t.is(cacheClass('hook', ['--version', 'prepare', 'begin', '-']), 'prepare');
  t.is(cacheClass('hook', ['vm', 'some future/op', 'begin', '-']), 'other');
  t.is(cacheClass('hook', []), 'other');
  t.is(cacheClass('helper', ['-r', '-u', 'libvirt-x', '-F', '/p', '-r']), 'Fru');
  t.is(cacheClass('helper', ['-d', '-c', '-u', 'libvirt-x']), 'cdu');
  t.is(cacheClass('helper', ['--help']), 'other');
  t.is(cacheClass('cli', ['--config-file', '/c', 'generate']), 'generate');
});

test('the header names the bundle, Node.js, the architecture and the flags, and keeps the code aligned', (t) => {
  const header = cacheHeader('ab'.repeat(32), runtime);
  t.true(header.endsWith('\n'));
  t.is(header.length % 16, 0);
  t.is(header.split('\n').length, 2);
  const others = [
    cacheHeader('cd'.repeat(32), runtime),
    cacheHeader('ab'.repeat(32), { ...runtime, version: 'v18.20.8' }),
    cacheHeader('ab'.repeat(32), { ...runtime, arch: 'arm64' }),
    cacheHeader('ab'.repeat(32), { ...runtime, execArgv: ['--jitless'] }),
    cacheHeader('ab'.repeat(32), { ...runtime, nodeOptions: '--max-old-space-size=64' }),
  ];
  for (const other of others) t.not(other, header);
  t.is(cacheHeader('ab'.repeat(32), { ...runtime, execArgv: ['--a\nb'] }).split('\n').length, 2, 'one line whatever the flags');
});

test('VIRT_AA_HOOK_CODE_CACHE turns the cache off or names another directory; the installed one otherwise', (t) => {
  t.is(cacheDirectory('off', '/var/cache/x'), null);
  t.is(cacheDirectory('/tmp/c', '/var/cache/x'), '/tmp/c');
  t.is(cacheDirectory(undefined, '/var/cache/x'), '/var/cache/x');
  t.is(cacheDirectory('relative', null), null);
});

test("only root's or our own files and directories, writable by no one else, are trusted", (t) => {
  t.true(isSafe({ uid: 0, mode: 0o100644 }, 1000));
  t.true(isSafe({ uid: 1000, mode: 0o40755 }, 1000));
  t.false(isSafe({ uid: 1001, mode: 0o100644 }, 1000));
  t.false(isSafe({ uid: 0, mode: 0o100664 }, 1000));
  t.false(isSafe({ uid: 0, mode: 0o40777 }, 1000));
});

// The built hook, through its code cache: a no-op event, whose log line says what the cache did.

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly cache: string | undefined;
}

function setup(): { readonly dir: string; readonly cacheDir: string; readonly run: (env?: Record<string, string>) => Run } {
  const dir = fs.realpathSync(tmp.dirSync({ unsafeCleanup: true }).name);
  const cacheDir = path.join(dir, 'code-cache');
  fs.mkdirSync(cacheDir, { mode: 0o755 });
  const log = path.join(dir, 'log');
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ paths: { logFile: log } }));
  const run = (env: Record<string, string> = {}): Run => {
    const result = spawnSync(process.execPath, [hook, 'vm', 'some-future-op', 'begin', '-'], {
      input: '',
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin', VIRT_AA_HOOK_CONFIG: path.join(dir, 'config.json'), VIRT_AA_HOOK_CODE_CACHE: cacheDir, VIRT_AA_HOOK_TIMING: '1', ...env },
    });
    const last = fs.readFileSync(log, 'utf8').trimEnd().split('\n').at(-1) ?? '';
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, cache: / code_cache=(\S+)/.exec(last)?.[1] };
  };
  return { dir, cacheDir, run };
}

const cacheFile = (cacheDir: string): string => path.join(cacheDir, 'qemu.some-future-op.cache');

test('the first call writes the cache at exit, the next runs from it; neither prints anything', (t) => {
  const { cacheDir, run } = setup();
  const first = run();
  t.deepEqual([first.status, first.stdout, first.stderr, first.cache], [0, '', '', 'missing']);
  t.regex(fs.readFileSync(cacheFile(cacheDir), 'latin1'), /^virt-aa-hook code cache [0-9a-f]{64} node v\d+/);
  t.is(fs.statSync(cacheFile(cacheDir)).mode & 0o777, 0o644);
  const second = run();
  t.deepEqual([second.status, second.stdout, second.stderr, second.cache], [0, '', '', 'hit']);
  t.deepEqual(fs.readdirSync(cacheDir), ['qemu.some-future-op.cache'], 'no temp file left');
});

test('a cache of another bundle or Node.js is stale: compiled as without one, and replaced', (t) => {
  const { cacheDir, run } = setup();
  run();
  const file = cacheFile(cacheDir);
  const good = fs.readFileSync(file);
  fs.writeFileSync(file, Buffer.concat([Buffer.from(good.toString('latin1').replace(/cache [0-9a-f]{64}/, `cache ${'0'.repeat(64)}`), 'latin1')]));
  const replaced = run();
  t.deepEqual([replaced.status, replaced.cache], [0, 'stale']);
  t.is(run().cache, 'hit', 'replaced');
  fs.writeFileSync(file, good.toString('latin1').replace(/node v[\d.]+/, 'node v0.0.1'), 'latin1');
  const stale = run();
  t.deepEqual([stale.status, stale.stderr, stale.cache], [0, '', 'stale']);
  const header = (data: Buffer): string => data.subarray(0, data.indexOf(0x0a) + 1).toString('latin1');
  t.is(header(fs.readFileSync(file)), header(good));
});

test('code V8 refuses, a truncated or huge file, a symlink or a FIFO in its place never break a call', (t) => {
  const { cacheDir, run } = setup();
  run();
  const file = cacheFile(cacheDir);
  const good = fs.readFileSync(file);
  const headerLength = good.indexOf(0x0a) + 1;
  fs.writeFileSync(file, Buffer.concat([good.subarray(0, headerLength), Buffer.alloc(4096, 0x5a)]));
  t.deepEqual([run().cache, run().cache], ['rejected', 'hit']);
  fs.writeFileSync(file, good.subarray(0, headerLength + 64));
  const truncated = run();
  t.deepEqual([truncated.status, truncated.cache], [0, 'rejected']);
  fs.rmSync(file);
  fs.symlinkSync(path.join(cacheDir, 'elsewhere'), file);
  const symlink = run();
  t.deepEqual([symlink.status, symlink.cache], [0, 'unreadable']);
  t.false(fs.lstatSync(file).isSymbolicLink(), 'the symlink was replaced, not followed');
  fs.rmSync(file);
  fs.writeFileSync(file, good.subarray(0, headerLength));
  fs.truncateSync(file, 64 * 1024 * 1024);
  const huge = run();
  t.deepEqual([huge.status, huge.cache], [0, 'stale'], 'not read at all');
  fs.rmSync(file);
  spawnSync('mkfifo', [file]);
  const fifo = run();
  t.deepEqual([fifo.status, fifo.cache], [0, 'unsafe'], 'opened without waiting for a writer');
});

test('a directory others may write to is not trusted, and nothing is written there', (t) => {
  const { cacheDir, run } = setup();
  fs.chmodSync(cacheDir, 0o777);
  const unsafe = run();
  t.deepEqual([unsafe.status, unsafe.cache], [0, 'unsafe']);
  t.deepEqual(fs.readdirSync(cacheDir), []);
});

test('no directory, or VIRT_AA_HOOK_CODE_CACHE=off: compiled as without a cache', (t) => {
  const { dir, run } = setup();
  const missing = run({ VIRT_AA_HOOK_CODE_CACHE: path.join(dir, 'missing') });
  t.deepEqual([missing.status, missing.cache], [0, 'missing']);
  t.false(fs.existsSync(path.join(dir, 'missing')), 'never created');
  const off = run({ VIRT_AA_HOOK_CODE_CACHE: 'off' });
  t.deepEqual([off.status, off.cache], [0, 'off']);
});
