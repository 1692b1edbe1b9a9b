// The real host around the integration tests: libvirt's daemons, virsh, the
// installed hook and its configuration. Everything here acts on this machine
// for real; the tests restore what they change.

import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultPaths } from '../../../lib/config.ts';
import { declaredPath, dropInFile } from '../../../lib/daemon-path.ts';
import { checkoutRoot, featuresFile } from '../../helpers/apparmor-parser.ts';

const installedCli = '/usr/sbin/virt-aa-hook';
export const hookPath = '/etc/libvirt/hooks/qemu';
export const configFile = '/etc/virt-aa-hook/config.json';
export const hookLog = '/var/log/virt-aa-hook-integration.log';
export const imageDir = '/srv/virt-aa-hook-it';

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(file: string, args: readonly string[], options: { readonly input?: string; readonly env?: NodeJS.ProcessEnv } = {}): Run {
  const result: SpawnSyncReturns<string> = spawnSync(file, args, { encoding: 'utf8', input: options.input ?? '', env: options.env ?? process.env, timeout: 180_000 });
  return { code: result.status ?? 128, stdout: result.stdout ?? '', stderr: `${result.stderr ?? ''}${result.error === undefined ? '' : result.error.message}` };
}

export function must(file: string, args: readonly string[], options: { readonly input?: string } = {}): string {
  const result = run(file, args, options);
  if (result.code !== 0) throw new Error(`${file} ${args.join(' ')} failed (${result.code}): ${result.stderr}${result.stdout}`);
  return result.stdout;
}

export const virsh = (...args: string[]): Run => run('virsh', ['--connect', 'qemu:///system', ...args]);
export const mustVirsh = (...args: string[]): string => must('virsh', ['--connect', 'qemu:///system', ...args]);
export const cli = (...args: string[]): Run => run(installedCli, args);

/** Why the integration suite cannot run here, or undefined. */
export function missingPrerequisite(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  for (const tool of ['virsh', 'libvirtd', 'virtlogd', 'qemu-system-x86_64', 'qemu-img', 'apparmor_parser', 'unshare']) {
    if (run('sh', ['-c', `command -v ${tool}`]).code !== 0) return `${tool} is not installed (apt-get install libvirt-daemon-system qemu-system-x86 qemu-utils apparmor)`;
  }
  if (!fs.existsSync(path.join(checkoutRoot, 'dist/hooks/qemu'))) return 'dist/ is missing (npm ci builds it)';
  return undefined;
}

function pidOf(pidFile: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(pidFile, 'utf8'), 10);
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

export function waitFor(what: string, check: () => boolean, timeoutMs = 60_000): void {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
}

/**
 * The PATH libvirtd gets from the drop-in the installer wrote: this machine
 * runs no systemd, so the test starts libvirtd itself with the PATH that
 * systemd's drop-in (or, without systemd, Debian's /etc/default/libvirtd,
 * which the init script sources) declares, parsed from that file.
 */
export function daemonPathFromDropIn(): { readonly file: string; readonly path: string } | undefined {
  for (const file of [dropInFile(defaultPaths.systemdDir, 'libvirtd.service'), defaultPaths.sysvDefaults]) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const declared = text.includes('virt-aa-hook') ? declaredPath(text) : undefined;
    if (declared !== undefined) return { file, path: declared };
  }
  return undefined;
}

/** Starts virtlogd and libvirtd as root (no systemd here), or restarts libvirtd so it sees the hook, with the PATH of our drop-in. */
export function startDaemons(): void {
  if (pidOf('/run/virtlogd.pid') === undefined) must('virtlogd', ['-d']);
  stopLibvirtd();
  const declared = daemonPathFromDropIn();
  const result = run('libvirtd', ['-d'], { env: { ...process.env, PATH: declared?.path ?? process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin' } });
  if (result.code !== 0) throw new Error(`libvirtd -d failed (${result.code}): ${result.stderr}`);
  waitFor('libvirtd', () => virsh('version').code === 0, 120_000);
}

function stopLibvirtd(): void {
  const pid = pidOf('/run/libvirtd.pid');
  if (pid === undefined) return;
  process.kill(pid, 'SIGTERM');
  waitFor('libvirtd to exit', () => pidOf('/run/libvirtd.pid') === undefined || !fs.existsSync(`/proc/${pid}`));
}

export function writeConfig(settings: Record<string, unknown>): void {
  fs.mkdirSync(path.dirname(configFile), { recursive: true });
  const paths = { logFile: hookLog, ...(featuresFile === null ? {} : { featuresFile }) };
  fs.writeFileSync(configFile, `${JSON.stringify({ loader: 'compile-only', ...settings, paths }, null, 2)}\n`);
}

/** Hook log lines written since `offset` (a byte position in the log). */
export function logSince(offset: number): string {
  try {
    return fs.readFileSync(hookLog).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

export function logOffset(): number {
  try {
    return fs.statSync(hookLog).size;
  } catch {
    return 0;
  }
}
