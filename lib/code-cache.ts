// Runs a bundle from V8's code cache. Node compiles every function of a
// bundle again at every call; a hook call, our virt-aa-helper or the CLI
// instead load the bytecode an earlier call of the same kind left in the
// code cache directory. scripts/build.mjs puts this in front of each bundle,
// whose own code follows in a comment (scanning a comment costs V8 a tenth of
// compiling the code, and this reads it back); the installer names the
// directory. Whatever is wrong with a cache (missing, from another bundle,
// Node or V8 flags, unreadable, unsafe, rejected by V8), the bundle is
// compiled as it would be without one, and a cache is written at exit when
// the directory takes one; nothing here can make a call fail.
//
// Runs before the bundle, so it imports nothing of it.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { recordBoot, sinceStart, type CacheStatus } from './boot-record.ts';

/** How a call's kind shows in its argv: each kind runs different code, so each has its own cache. */
export type CacheKind = 'hook' | 'helper' | 'cli';

/** Where the bundle's own code starts in its file; it ends with the file's last `*\/`. */
export const payloadMarker = '\n/*virt-aa-hook:bundle\n';
/** `*\/` inside the code, which would end the comment, is stored as this and put back when read. */
export const escapedCommentEnd = '*\u0000/';

/** The bundle's code as the build stores it after `payloadMarker`. */
export function encodePayload(code: string): string {
  if (code.includes(escapedCommentEnd)) throw new Error('the bundle contains "*\\0/": pick another escape for "*/"');
  return `${payloadMarker}${code.replaceAll('*/', escapedCommentEnd)}*/\n`;
}

/** The bundle's code from its file's text, or undefined when the file has none. */
export function decodePayload(fileText: string): string | undefined {
  const start = fileText.indexOf(payloadMarker);
  const end = fileText.lastIndexOf('*/');
  if (start < 0 || end < start) return undefined;
  return fileText.slice(start + payloadMarker.length, end).replaceAll(escapedCommentEnd, '*/');
}

/**
 * The kind of call, from argv (without node and the script): the hook's
 * operation (argv by position, as the hook reads it), the helper's
 * one-letter options, the CLI's command. Anything odd is `other`.
 */
export function cacheClass(kind: CacheKind, argv: readonly string[]): string {
  const raw =
    kind === 'hook'
      ? argv[1]
      : kind === 'helper'
        ? [...new Set(argv.filter((a) => /^-[A-Za-z]$/.test(a)).map((a) => a.slice(1)))].sort().join('')
        : argv.find((a) => /^[a-z][a-z-]*$/.test(a));
  return raw !== undefined && /^[A-Za-z0-9_-]{1,32}$/.test(raw) ? raw : 'other';
}

export interface Runtime {
  readonly version: string;
  readonly arch: string;
  readonly execArgv: readonly string[];
  readonly nodeOptions: string | undefined;
}

/**
 * The first line of a cache file: what its code was compiled from and by.
 * V8 itself only checks the source's length and its own version and flags,
 * so the bundle's hash must be in here. Padded to 16 bytes, so the code after
 * it stays aligned (V8 copies unaligned data first).
 */
export function cacheHeader(bundleSha256: string, runtime: Runtime): string {
  const line = `virt-aa-hook code cache ${bundleSha256} node ${runtime.version} ${runtime.arch} ${JSON.stringify([...runtime.execArgv, runtime.nodeOptions ?? ''])}`.replace(/\n/g, ' ');
  return `${line.padEnd(Math.ceil((line.length + 1) / 16) * 16 - 1)}\n`;
}

/** VIRT_AA_HOOK_CODE_CACHE: `off`, or an absolute directory instead of the installed one. */
export function cacheDirectory(setting: string | undefined, installed: string | null): string | null {
  if (setting === 'off') return null;
  if (setting !== undefined && setting.startsWith('/')) return setting;
  return installed;
}

/** Root's or our own, and writable by no one else: only then is its code run. */
export function isSafe(stats: Pick<fs.Stats, 'uid' | 'mode'>, uid: number): boolean {
  return (stats.uid === 0 || stats.uid === uid) && (stats.mode & 0o022) === 0;
}

const maxCacheBytes = 16 * 1024 * 1024;

interface Found {
  readonly status: CacheStatus;
  readonly data?: Buffer;
}

function readCache(file: string, header: string, uid: number): Found {
  let fd: number;
  try {
    if (!isSafe(fs.statSync(path.dirname(file)), uid)) return { status: 'unsafe' };
    // Not through a symlink, and never waiting on a FIFO someone put there.
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (error) {
    return { status: (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable' };
  }
  try {
    const stats = fs.fstatSync(fd);
    if (!stats.isFile() || !isSafe(stats, uid)) return { status: 'unsafe' };
    // A cache is a few hundred KiB; something far larger is not one, and reading it would slow the call.
    if (stats.size > maxCacheBytes) return { status: 'stale' };
    const data = fs.readFileSync(fd);
    if (data.length <= header.length || data.subarray(0, header.length).toString('latin1') !== header) return { status: 'stale' };
    return { status: 'hit', data: data.subarray(header.length) };
  } catch {
    return { status: 'unreadable' };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes the cache through a temp file and rename(2), so a reader sees a
 * whole file or none. The temp file is opened first: where the directory
 * takes nothing, no code is serialized for nothing.
 */
function writeCache(file: string, header: string, script: vm.Script): void {
  const temp = `${path.dirname(file)}/.${path.basename(file)}.${process.pid}.tmp`;
  let fd: number | undefined;
  try {
    fd = fs.openSync(temp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o644);
    fs.writeSync(fd, header);
    fs.writeSync(fd, script.createCachedData());
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(temp, file);
  } catch {
    if (fd !== undefined) fs.closeSync(fd);
    try {
      fs.unlinkSync(temp);
    } catch {
      // never created
    }
  }
}

export interface BundleInfo {
  /** The file's base name: `qemu`, `virt-aa-helper`, `virt-aa-hook`. */
  readonly name: string;
  readonly sha256: string;
  readonly kind: CacheKind;
  /** Filled in by the installer; null in a build. */
  readonly installedCacheDir: string | null;
}

/** What the CommonJS wrapper of the bundle's file gives the code inside it. */
export interface CommonJsScope {
  readonly require: NodeJS.Require;
  readonly module: NodeJS.Module;
  readonly filename: string;
  readonly dirname: string;
  readonly bundleUrl: string;
}

export function runBundle(bundle: BundleInfo, scope: CommonJsScope): void {
  const start = sinceStart();
  const code = decodePayload(fs.readFileSync(scope.filename, 'utf8'));
  if (code === undefined) throw new Error(`${scope.filename} holds no bundle: rebuild it with npm run build`);
  const dir = cacheDirectory(process.env['VIRT_AA_HOOK_CODE_CACHE'], bundle.installedCacheDir);
  const file = dir === null ? undefined : path.join(dir, `${bundle.name}.${cacheClass(bundle.kind, process.argv.slice(2))}.cache`);
  const header = cacheHeader(bundle.sha256, { version: process.version, arch: process.arch, execArgv: process.execArgv, nodeOptions: process.env['NODE_OPTIONS'] });
  const uid = process.getuid?.() ?? -1;
  const found: Found = file === undefined ? { status: 'off' } : readCache(file, header, uid);
  const read = sinceStart();
  // The parameters of Node's own CommonJS wrapper, and the URL the bundle uses for import.meta.url.
  const wrapped = `(function (exports, require, module, __filename, __dirname, __bundle_url) {${code}\n})`;
  const script = new vm.Script(wrapped, { filename: scope.filename, ...(found.data === undefined ? {} : { cachedData: found.data }) });
  const status: CacheStatus = found.data !== undefined && script.cachedDataRejected === true ? 'rejected' : found.status;
  recordBoot({ start, readMs: read - start, compileMs: sinceStart() - read, status });
  // Written last, once the call's work and output are done; an unsafe one is left alone.
  if (file !== undefined && status !== 'hit' && status !== 'unsafe') process.once('exit', () => writeCache(file, header, script));
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(scope.module.exports, scope.module.exports, scope.require, scope.module, scope.filename, scope.dirname, scope.bundleUrl);
}
