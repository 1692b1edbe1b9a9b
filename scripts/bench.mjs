#!/usr/bin/env node
// npm run bench: what virt-aa-hook costs next to libvirt's own virt-aa-helper
// and AppArmor abstraction, both measured in this run on this machine, for the
// bundled example VM. Prints medians and ratios; claims belong here, not in
// timed unit tests.

import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.env.BENCH_RUNS ?? 20);
const example = path.join(root, 'test/fixtures/example-vm.xml');
const cli = path.join(root, 'dist/virt-aa-hook');
const hook = path.join(root, 'dist/hooks/qemu');
const helper = '/usr/lib/libvirt/virt-aa-helper';
const parser = ['/usr/sbin/apparmor_parser', '/sbin/apparmor_parser'].find(existsSync);
const features = ['/usr/share/apparmor-features/features'].find(existsSync);
const libvirtTemplate = '/etc/apparmor.d/libvirt/TEMPLATE.qemu';

if (!existsSync(cli) || !existsSync(hook)) spawnSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { stdio: 'inherit' });

/** Median wall time in ms of `runs` runs (after one warm-up); `before` runs untimed ahead of each. */
function time(file, args, input, options = {}) {
  const once = () => {
    options.before?.();
    const start = process.hrtime.bigint();
    const result = spawnSync(file, args, { input, encoding: 'utf8', env: options.env ?? process.env });
    if (result.status !== 0) throw new Error(`${file} ${args.join(' ')} failed: ${result.stderr}`);
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  once();
  const samples = Array.from({ length: runs }, once).sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

const rows = [];
function compare(what, ours, reference, referenceName) {
  rows.push({ what, ours: ours.toFixed(1), reference: reference === undefined ? 'n/a' : `${reference.toFixed(1)} (${referenceName})`, ratio: reference === undefined ? 'n/a' : `${(ours / reference).toFixed(2)}x` });
}

const xml = readFileSync(example, 'utf8');
const uuid = /<uuid>([^<]+)<\/uuid>/.exec(xml)[1];
const helperUsable = existsSync(helper) && process.getuid?.() === 0;
const skipped = [];

// 1. Rules for one domain: our generate against virt-aa-helper's dry run.
const ours = time(cli, ['generate', example]);
const helperMs = helperUsable ? time(helper, ['-d', '-r', '-u', `libvirt-${uuid}`], xml) : undefined;
compare('generate the rules of one VM (ms)', ours, helperMs, 'virt-aa-helper -d -r');
if (!helperUsable) skipped.push(`virt-aa-helper: ${existsSync(helper) ? 'needs root' : 'not installed (Debian libvirt-daemon)'}`);

// 2. Compiling the complete profile of that VM: our template and abstraction
//    against libvirt's template and abstractions/libvirt-qemu with libvirt's rules.
//    Then the whole prepare hook, cold (empty cache) and warm (a domain started
//    before), against what libvirt runs at each start: virt-aa-helper, which
//    has apparmor_parser compile its profile (without a cache).
let libvirtCompile;
if (parser !== undefined) {
  const dir = mkdtempSync(path.join(tmpdir(), 'virt-aa-hook-bench-'));
  const flags = ['-Q', '-K', '-T', '-I', path.join(root, 'apparmor.d'), ...(features === undefined ? [] : ['-M', features])];
  const ourProfile = path.join(dir, 'ours');
  writeFileSync(ourProfile, spawnSync(cli, ['generate', '--profile', example], { encoding: 'utf8' }).stdout);
  if (helperUsable && existsSync(libvirtTemplate)) {
    const rules = spawnSync(helper, ['-d', '-r', '-u', `libvirt-${uuid}`], { input: xml, encoding: 'utf8' }).stderr.split('\n').filter((l) => /^\s+("|deny )/.test(l));
    const libvirtProfile = path.join(dir, 'libvirt');
    writeFileSync(libvirtProfile, readFileSync(libvirtTemplate, 'utf8').replace('LIBVIRT_TEMPLATE', `libvirt-${uuid}`).replace(/\n}\s*$/, `\n${rules.join('\n')}\n}\n`));
    libvirtCompile = time(parser, [...flags, libvirtProfile]);
  } else {
    skipped.push("libvirt's profile: needs virt-aa-helper as root and /etc/apparmor.d/libvirt/TEMPLATE.qemu");
  }
  compare('compile the complete profile, no cache (ms)', time(parser, [...flags, ourProfile]), libvirtCompile, "libvirt's template + abstractions/libvirt-qemu");

  const aaDir = path.join(dir, 'apparmor.d');
  mkdirSync(path.join(aaDir, 'virt-aa-hook'), { recursive: true });
  copyFileSync(path.join(root, 'apparmor.d/virt-aa-hook/TEMPLATE.qemu'), path.join(aaDir, 'virt-aa-hook/TEMPLATE.qemu'));
  const wrapperDir = path.join(dir, 'wrappers');
  const paths = { apparmorDir: aaDir, cacheDir: path.join(dir, 'cache'), stateDir: path.join(dir, 'state'), runDir: path.join(dir, 'run'), wrapperDir, logFile: path.join(dir, 'log'), apparmorParser: parser, includeDirs: [path.join(root, 'apparmor.d'), '/etc/apparmor.d'], ...(features === undefined ? {} : { featuresFile: features }) };
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ loader: 'compile-only', paths }));
  const env = { PATH: process.env.PATH, VIRT_AA_HOOK_CONFIG: path.join(dir, 'config.json') };
  const enrolled = xml.replace(/<emulator>[^<]*<\/emulator>/, `<emulator>${wrapperDir}/virt-aa-hook.qemu-system-x86_64</emulator>`);
  const release = () => spawnSync(hook, ['web-01', 'release', 'end', '-'], { input: enrolled, env });
  const reference = libvirtCompile === undefined || helperMs === undefined ? undefined : libvirtCompile + helperMs;
  const cold = time(hook, ['web-01', 'prepare', 'begin', '-'], enrolled, { env, before: () => { release(); rmSync(paths.cacheDir, { recursive: true, force: true }); } });
  compare('prepare hook, cold cache (ms)', cold, reference, 'virt-aa-helper + apparmor_parser');
  const warm = time(hook, ['web-01', 'prepare', 'begin', '-'], enrolled, { env, before: release });
  compare('prepare hook, domain started before (ms)', warm, reference, 'virt-aa-helper + apparmor_parser');
  rmSync(dir, { recursive: true, force: true });
} else {
  skipped.push('apparmor_parser is not installed');
}

// 3. A hook call that does nothing (an operation libvirt may add one day), against starting Node at all.
const empty = mkdtempSync(path.join(tmpdir(), 'virt-aa-hook-bench-'));
writeFileSync(path.join(empty, 'config.json'), JSON.stringify({ paths: { logFile: path.join(empty, 'log') } }));
const env = { ...process.env, VIRT_AA_HOOK_CONFIG: path.join(empty, 'config.json') };
const noop = time(hook, ['vm', 'some-future-op', 'begin', '-'], '', { env });
compare('hook call for a no-op event (ms)', noop, time(process.execPath, ['-e', '0']), 'node -e 0');
rmSync(empty, { recursive: true, force: true });

console.log(`virt-aa-hook benchmark, median of ${runs} runs each (BENCH_RUNS to change), ${new Date().toISOString()}`);
console.table(rows);
for (const reason of skipped) console.log(`skipped: ${reason}`);
