// End to end, in a kernel that enforces AppArmor: boots Debian's kernel under
// TCG on this host's own root (read-only 9p + tmpfs overlay), installs the
// built project inside with scripts/install (the driver boot: with the .deb,
// built here before the boot and shared in .cache/e2e/packages/), and runs
// the scenarios of guest/apparmor.sh, guest/wrapper.sh, guest/driver.sh and
// guest/security.sh (apparmor=1) and guest/no-apparmor.sh (apparmor=0) there,
// against the host's real libvirtd, QEMU and apparmor_parser. The guest
// writes results to a shared folder; every assertion is made here.
//
// Cached between runs in .cache/e2e/: the initramfs and libvirt's QEMU
// capabilities. Serial consoles and results of the last run: .cache/e2e/runs/.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkoutRoot } from '../helpers/apparmor-parser.ts';
import { bootGuest, type BootResult } from './helpers/boot.ts';
import { buildInitramfs, findKernel, type Kernel } from './helpers/initramfs.ts';
import { parseResults, scenarioReport, stageTimes, type ResultRecord } from './helpers/results.ts';

const cacheDir = path.join(checkoutRoot, '.cache', 'e2e');
const runsDir = path.join(cacheDir, 'runs');
const busybox = '/bin/busybox';

interface Boot {
  readonly name: string;
  readonly script: string;
  readonly appArmor: boolean;
  readonly cpus: number;
  readonly background: boolean;
  readonly scenarios: readonly string[];
  readonly timeoutMs: number;
}

const boots: readonly Boot[] = [
  {
    name: 'apparmor',
    script: 'test/e2e/guest/apparmor.sh',
    appArmor: true,
    // The migration scenario runs beside the others.
    cpus: 2,
    background: false,
    scenarios: ['wrapper-mode', 'save-restore-restart', 'hotplug', 'not-enrolled', 'migration', 'static-label-legacy', 'denials'],
    timeoutMs: 35 * 60_000,
  },
  {
    name: 'wrapper',
    script: 'test/e2e/guest/wrapper.sh',
    appArmor: true,
    // Its migration scenario runs beside the others.
    cpus: 2,
    background: false,
    scenarios: ['wrapper-default', 'wrapper-clone', 'wrapper-explicit-emulator', 'wrapper-migrate-in', 'wrapper-hotplug-hint', 'session-unconfined', 'doctor-status-wrapper'],
    timeoutMs: 35 * 60_000,
  },
  {
    name: 'driver',
    script: 'test/e2e/guest/driver.sh',
    appArmor: true,
    cpus: 2,
    background: false,
    scenarios: ['driver-default', 'driver-hotplug', 'driver-blockjobs', 'driver-save-restore', 'driver-permissive-daemon', 'doctor-status-driver', 'driver-denials', 'driver-package-remove'],
    timeoutMs: 40 * 60_000,
  },
  // What a compromised guest can change between two starts (issue 12).
  {
    name: 'security',
    script: 'test/e2e/guest/security.sh',
    appArmor: true,
    cpus: 2,
    background: false,
    scenarios: ['rebased-header', 'nvram-swap', 'save-without-rule', 'gc-running'],
    timeoutMs: 30 * 60_000,
  },
  // At the lowest priority beside two guests of two vCPUs each on a two-core
  // host it mostly waits for them: its timeout covers theirs.
  { name: 'no-apparmor', script: 'test/e2e/guest/no-apparmor.sh', appArmor: false, cpus: 1, background: true, scenarios: ['apparmor-off'], timeoutMs: 70 * 60_000 },
];

/** Guests (but the background ones) booted at once: this machine has two cores, and TCG keeps one busy per guest. */
const parallelBoots = 2;

/** For a developer's quicker loop: VIRT_AA_HOOK_E2E_BOOTS=driver,apparmor boots only those (the rest is reported as skipped). */
const onlyBoots = process.env['VIRT_AA_HOOK_E2E_BOOTS']?.split(',').filter((b) => b !== '');
const selected = (boot: Boot): boolean => onlyBoots === undefined || onlyBoots.includes(boot.name);

const onPath = (command: string): boolean => spawnSync('sh', ['-c', `command -v ${command}`], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } }).status === 0;

/** An ELF file without a program interpreter: runs in an initramfs without libc. */
function isStaticElf(file: string): boolean {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    return false;
  }
  if (bytes.length < 64 || bytes.readUInt32BE(0) !== 0x7f454c46 || bytes[4] !== 2) return false;
  const phoff = Number(bytes.readBigUInt64LE(32));
  const phentsize = bytes.readUInt16LE(54);
  const phnum = bytes.readUInt16LE(56);
  const PT_INTERP = 3;
  for (let i = 0; i < phnum; i++) if (bytes.readUInt32LE(phoff + i * phentsize) === PT_INTERP) return false;
  return true;
}

function kernelHasAppArmor(kernel: Kernel): boolean {
  try {
    return /^CONFIG_SECURITY_APPARMOR=y$/m.test(fs.readFileSync(`/boot/config-${kernel.version}`, 'utf8'));
  } catch {
    // No config to read: let the boot tell.
    return true;
  }
}

/** Why the e2e suite cannot run here, or undefined. */
function missingPrerequisite(kernel: Kernel | undefined): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (the guest shares the host root over 9p with passthrough ownership)';
  if (process.arch !== 'x64') return `needs an x86_64 host, this is ${process.arch}`;
  if (kernel === undefined) return 'no /boot/vmlinuz-* with its modules: apt-get install linux-image-amd64';
  if (!kernelHasAppArmor(kernel)) return `kernel ${kernel.version} is built without AppArmor`;
  if (!isStaticElf(busybox)) return `${busybox} is missing or not statically linked: apt-get install busybox-static`;
  for (const command of ['qemu-system-x86_64', 'qemu-img', 'libvirtd', 'virtlogd', 'virsh', 'apparmor_parser', 'aa-exec', 'nsenter', 'unshare', 'logger', 'virt-install', 'virt-clone', 'runuser', 'useradd']) {
    if (!onPath(command)) return `${command} is not installed (the guest runs the host's own programs): see .ci/run`;
  }
  if (/\s/.test(checkoutRoot)) return `the checkout path ${JSON.stringify(checkoutRoot)} has white space, which the kernel command line cannot carry`;
  if (!fs.existsSync(path.join(checkoutRoot, 'dist', 'hooks', 'qemu'))) return 'dist/ is not built: npm run test:e2e builds it';
  return undefined;
}

interface BootRun {
  readonly boot: Boot;
  readonly result: BootResult;
  readonly records: readonly ResultRecord[];
  readonly consoleLog: string;
}

const kernel = findKernel();
const missing = missingPrerequisite(kernel);
const runs = new Map<string, BootRun>();
let initramfsNote = '';

function consoleTail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no console log)';
  }
}

/**
 * The driver boot installs the Debian package: the one .ci/run built
 * ($VIRT_AA_HOOK_DEB), else one built here, copied where the guest sees it
 * (/e2e/packages/virt-aa-hook.deb). Its dependencies are the host's own.
 */
function shareDebianPackage(): void {
  const dir = path.join(cacheDir, 'packages');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  let deb = process.env['VIRT_AA_HOOK_DEB'];
  if (deb === undefined) {
    const built = spawnSync(path.join(checkoutRoot, 'scripts/build-packages'), ['--deb', '--out', path.join(dir, 'build')], { encoding: 'utf8' });
    if (built.status !== 0) return; // The guest says dpkg -i failed; the build's log is in .cache/e2e/packages/build/.
    deb = built.stdout.trim().split('\n').at(-1) ?? '';
  }
  fs.copyFileSync(deb, path.join(dir, 'virt-aa-hook.deb'));
}

const seconds = (ms: number | undefined): string => (ms === undefined ? '?' : `${(ms / 1000).toFixed(1)} s`);

if (missing !== undefined || kernel === undefined) {
  test.skip(`e2e in an AppArmor kernel: ${missing ?? 'no kernel'}`, () => {});
} else {
  test.before(async () => {
    const t0 = Date.now();
    if (onlyBoots === undefined || onlyBoots.includes('driver')) shareDebianPackage();
    const initramfs = buildInitramfs({ kernel, busybox, initScript: path.join(checkoutRoot, 'test/e2e/guest/init.sh'), cacheDir });
    initramfsNote = `initramfs ${initramfs.built ? 'built' : 'cached'} in ${seconds(Date.now() - t0)} (kernel ${kernel.version})`;
    fs.rmSync(runsDir, { recursive: true, force: true });
    fs.mkdirSync(runsDir, { recursive: true });
    // Two guests at a time, in the order listed, and the short background
    // one beside them at low priority: each mostly runs one process at a
    // time, and this machine has two cores.
    const queue = boots.filter((b) => selected(b) && !b.background);
    const bootNext = async (): Promise<void> => {
      const boot = queue.shift();
      if (boot === undefined) return;
      await bootOne(boot);
      await bootNext();
    };
    const bootOne = async (boot: Boot): Promise<void> => {
      const run = `runs/${boot.name}`;
      const consoleLog = path.join(runsDir, `${boot.name}.console.log`);
      const result = await bootGuest({
        kernel,
        initramfs: initramfs.file,
        checkout: checkoutRoot,
        script: path.join(checkoutRoot, boot.script),
        shareDir: cacheDir,
        run,
        appArmor: boot.appArmor,
        cpus: boot.cpus,
        background: boot.background,
        consoleLog,
        timeoutMs: boot.timeoutMs,
      });
      let text = '';
      try {
        text = fs.readFileSync(path.join(cacheDir, run, 'results.tsv'), 'utf8');
      } catch {
        // The guest died before writing anything: each scenario test says so.
      }
      runs.set(boot.name, { boot, result, records: parseResults(text), consoleLog });
    };
    await Promise.all([...Array.from({ length: parallelBoots }, bootNext), ...boots.filter((b) => selected(b) && b.background).map(bootOne)]);
  });

  for (const boot of boots) {
    if (!selected(boot)) {
      test.skip(`e2e boot (${boot.name}): not selected by VIRT_AA_HOOK_E2E_BOOTS`, () => {});
      continue;
    }
    test(`e2e boot (${boot.name}): the guest powers off by itself`, (t) => {
      const run = runs.get(boot.name);
      if (run === undefined) return t.fail('the guest was not booted');
      const times = stageTimes(run.records);
      const inStages = [...times.values()].reduce((a, b) => a + b, 0);
      const stages = [...times].map(([stage, ms]) => `${stage} ${seconds(ms)}`).join(', ') + (times.size === 0 ? '' : `, kernel boot and power-off ${seconds(run.result.ms - inStages)}`);
      t.log(`${boot.name}: whole boot ${seconds(run.result.ms)}${stages === '' ? '' : ` (${stages})`}; ${initramfsNote}; console: ${path.relative(checkoutRoot, run.consoleLog)}`);
      t.false(run.result.timedOut, `killed after ${seconds(boot.timeoutMs)}; console tail:\n${consoleTail(run.consoleLog)}`);
    });
    for (const name of boot.scenarios) {
      test(`e2e ${boot.name}: ${name}`, (t) => {
        const run = runs.get(boot.name);
        if (run === undefined) return t.fail('the guest was not booted');
        const report = scenarioReport(run.records, name);
        if (report.result === undefined) return t.fail(`the guest never finished this scenario; console tail:\n${consoleTail(run.consoleLog)}`);
        t.log(`${report.description ?? name}: ${report.result} in ${seconds(report.ms)}`);
        for (const check of report.checks) t.log(`${check.ok ? 'ok  ' : 'FAIL'} ${check.what}${check.ok ? '' : `: ${check.detail}`}`);
        for (const fact of report.facts) t.log(`fact ${fact.key}: ${fact.value}`);
        t.true(report.checks.length > 0, 'a scenario without checks proves nothing');
        t.deepEqual(
          report.checks.filter((c) => !c.ok).map((c) => `${c.what}: ${c.detail}`),
          [],
        );
        t.is(report.result, 'PASS');
      });
    }
  }
}
