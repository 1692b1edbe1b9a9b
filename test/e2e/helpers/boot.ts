// Boots the e2e guest: Debian's kernel with AppArmor, our initramfs, the
// host's root read-only over 9p (see guest/init.sh), under TCG (nested KVM
// hangs these machines' guests at "Probing EDD": test-environment.md).

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { Kernel } from './initramfs.ts';

export interface BootOptions {
  readonly kernel: Kernel;
  readonly initramfs: string;
  /** The checkout, mounted at the same path in the guest. */
  readonly checkout: string;
  /** The guest script, run as PID 1 (a path inside the checkout). */
  readonly script: string;
  /** Shared read-write as /e2e: results under <run>/, caches beside them. */
  readonly shareDir: string;
  readonly run: string;
  readonly appArmor: boolean;
  /** Virtual CPUs. Under TCG a second one only pays when the guest runs two things at once. */
  readonly cpus: number;
  /** Runs at the lowest CPU priority: a shorter guest booted beside a longer one takes only what that one leaves. */
  readonly background: boolean;
  readonly consoleLog: string;
  readonly timeoutMs: number;
}

export interface BootResult {
  readonly ms: number;
  readonly timedOut: boolean;
  readonly exitCode: number | null;
}

function qemuArgs(o: BootOptions): string[] {
  const cmdline = [
    'console=ttyS0',
    o.appArmor ? 'apparmor=1 security=apparmor' : 'apparmor=0',
    'panic=-1',
    'loglevel=4',
    // TCG: the guest's own mitigations only cost time.
    'mitigations=off',
    `e2e.script=${o.script}`,
    `e2e.checkout=${o.checkout}`,
    `e2e.run=${o.run}`,
  ].join(' ');
  const share = (dir: string, tag: string, readonly: boolean): string[] => ['-virtfs', `local,path=${dir},mount_tag=${tag},security_model=passthrough${readonly ? ',readonly=on' : ''},multidevs=remap`];
  return [
    '-accel', 'tcg,thread=multi',
    '-m', '2048',
    '-smp', String(o.cpus),
    '-cpu', 'qemu64',
    '-nodefaults', '-display', 'none', '-serial', 'stdio', '-no-reboot',
    '-kernel', o.kernel.image,
    '-initrd', o.initramfs,
    '-append', cmdline,
    ...share('/', 'hostroot', true),
    ...share(o.checkout, 'checkout', true),
    ...share(o.shareDir, 'e2eout', false),
  ];
}

/** Guests still running: killed when this process exits, however it exits (ava's own timeout, a crash). */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const qemu of running) qemu.kill('SIGKILL');
});

/** Runs the guest to its power-off (or kills it at the timeout), its serial console written to a file. */
export function bootGuest(o: BootOptions): Promise<BootResult> {
  const started = Date.now();
  const console = fs.openSync(o.consoleLog, 'w');
  const qemu = spawn('qemu-system-x86_64', qemuArgs(o), { stdio: ['ignore', console, console] });
  running.add(qemu);
  if (o.background && qemu.pid !== undefined) os.setPriority(qemu.pid, 19);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    qemu.kill('SIGKILL');
  }, o.timeoutMs);
  return new Promise((resolve) => {
    let finished = false;
    const finish = (exitCode: number | null): void => {
      if (finished) return;
      finished = true;
      running.delete(qemu);
      clearTimeout(timer);
      fs.closeSync(console);
      resolve({ ms: Date.now() - started, timedOut, exitCode });
    };
    qemu.on('error', () => finish(null));
    qemu.on('exit', (code) => finish(code));
  });
}
