// The e2e guest's initramfs: busybox, the few kernel modules needed to mount
// the host's root over 9p with a writable overlay on top, and our init script
// (test/e2e/guest/init.sh). Built from the host's own files and cached under
// .cache/e2e/, keyed on everything that goes into it: a rebuild happens only
// when the kernel, its modules, busybox or the init script change.

import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';

/** Modules the init script loads, dependencies first (their own dependencies are added from modules.dep). */
const initramfsModules = ['virtio_pci', '9pnet_virtio', '9p', 'overlay'] as const;

export interface Kernel {
  readonly version: string;
  readonly image: string;
  readonly modulesDir: string;
}

/** The newest /boot/vmlinuz-* whose modules are installed, or undefined. */
export function findKernel(bootDir = '/boot', modulesRoot = '/lib/modules'): Kernel | undefined {
  let names: string[];
  try {
    names = fs.readdirSync(bootDir);
  } catch {
    return undefined;
  }
  const versions = names
    .filter((n) => n.startsWith('vmlinuz-'))
    .map((n) => n.slice('vmlinuz-'.length))
    .filter((v) => fs.existsSync(path.join(modulesRoot, v, 'modules.dep')))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const version = versions.at(-1);
  if (version === undefined) return undefined;
  return { version, image: path.join(bootDir, `vmlinuz-${version}`), modulesDir: path.join(modulesRoot, version) };
}

interface ModuleFile {
  readonly name: string;
  readonly file: string;
}

const moduleName = (relative: string): string => path.basename(relative).replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');

/** The modules to insmod, in load order: each one after everything it depends on. */
function moduleLoadOrder(modulesDir: string, wanted: readonly string[]): readonly ModuleFile[] {
  const deps = new Map<string, { file: string; deps: string[] }>();
  for (const line of fs.readFileSync(path.join(modulesDir, 'modules.dep'), 'utf8').split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const file = line.slice(0, colon);
    const rest = line.slice(colon + 1).trim();
    deps.set(moduleName(file), { file, deps: rest === '' ? [] : rest.split(/\s+/).map(moduleName) });
  }
  const order: ModuleFile[] = [];
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const entry = deps.get(name);
    // Built into the kernel: nothing to load.
    if (entry === undefined) return;
    for (const dep of entry.deps) visit(dep);
    order.push({ name, file: path.join(modulesDir, entry.file) });
  };
  for (const name of wanted) visit(name);
  return order;
}

/** A module's bytes, decompressed (busybox insmod takes plain .ko files). */
function moduleBytes(file: string): Buffer {
  const tool = file.endsWith('.xz') ? 'xz' : file.endsWith('.zst') ? 'zstd' : file.endsWith('.gz') ? 'gzip' : undefined;
  if (tool === undefined) return fs.readFileSync(file);
  const result = spawnSync(tool, ['-dc', file], { maxBuffer: 256 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`cannot decompress ${file} with ${tool}: ${result.stderr.toString()}`);
  return result.stdout;
}

interface CpioEntry {
  readonly name: string;
  readonly mode: number;
  readonly data?: Buffer;
  readonly link?: string;
}

/** A "newc" cpio archive, as the kernel unpacks an initramfs. */
export function cpioNewc(entries: readonly CpioEntry[]): Buffer {
  const chunks: Buffer[] = [];
  const pad = (length: number): void => {
    const extra = (4 - (length % 4)) % 4;
    if (extra > 0) chunks.push(Buffer.alloc(extra));
  };
  const hex = (n: number): string => n.toString(16).padStart(8, '0');
  let ino = 1;
  const push = (name: string, mode: number, body: Buffer): void => {
    const header =
      '070701' +
      [ino++, mode, 0, 0, 1, 0, body.length, 0, 0, 0, 0, Buffer.byteLength(name) + 1, 0].map(hex).join('');
    chunks.push(Buffer.from(header, 'ascii'), Buffer.from(`${name}\0`, 'utf8'));
    pad(110 + Buffer.byteLength(name) + 1);
    chunks.push(body);
    pad(body.length);
  };
  for (const entry of entries) {
    if (entry.link !== undefined) push(entry.name, 0o120000 | 0o777, Buffer.from(entry.link));
    else if (entry.data !== undefined) push(entry.name, 0o100000 | entry.mode, entry.data);
    else push(entry.name, 0o040000 | entry.mode, Buffer.alloc(0));
  }
  push('TRAILER!!!', 0, Buffer.alloc(0));
  return Buffer.concat(chunks);
}

export interface InitramfsBuild {
  readonly file: string;
  /** false: taken from the cache. */
  readonly built: boolean;
  readonly modules: readonly string[];
}

/** Builds (or finds in the cache) the initramfs for this kernel, busybox and init script. */
export function buildInitramfs(options: { readonly kernel: Kernel; readonly busybox: string; readonly initScript: string; readonly cacheDir: string }): InitramfsBuild {
  const { kernel, busybox, initScript, cacheDir } = options;
  const modules = moduleLoadOrder(kernel.modulesDir, initramfsModules);
  const init = fs.readFileSync(initScript);
  const key = createHash('sha256');
  key.update(`kernel ${kernel.version}\n`);
  for (const file of [busybox, ...modules.map((m) => m.file)]) {
    const stat = fs.statSync(file);
    key.update(`${file} ${stat.size} ${stat.mtimeMs}\n`);
  }
  key.update(init);
  const file = path.join(cacheDir, `initramfs-${kernel.version}-${key.digest('hex').slice(0, 16)}.cpio.gz`);
  const names = modules.map((m) => m.name);
  if (fs.existsSync(file)) return { file, built: false, modules: names };

  const entries: CpioEntry[] = [];
  for (const dir of ['bin', 'dev', 'proc', 'sys', 'lib', 'lib/modules', 'lower', 'upper', 'newroot']) entries.push({ name: dir, mode: 0o755 });
  entries.push({ name: 'bin/busybox', mode: 0o755, data: fs.readFileSync(busybox) });
  entries.push({ name: 'bin/sh', mode: 0o777, link: 'busybox' });
  entries.push({ name: 'init', mode: 0o755, data: init });
  for (const m of modules) entries.push({ name: `lib/modules/${m.name}.ko`, mode: 0o644, data: moduleBytes(m.file) });
  entries.push({ name: 'modules.order', mode: 0o644, data: Buffer.from(`${names.join('\n')}\n`) });

  fs.mkdirSync(cacheDir, { recursive: true });
  // Older builds of other kernels or scripts only take space.
  for (const old of fs.readdirSync(cacheDir)) if (old.startsWith('initramfs-') && old.endsWith('.cpio.gz')) fs.rmSync(path.join(cacheDir, old), { force: true });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, gzipSync(cpioNewc(entries), { level: 6 }));
  fs.renameSync(temporary, file);
  return { file, built: true, modules: names };
}
