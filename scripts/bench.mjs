#!/usr/bin/env node
// npm run bench: what virt-aa-hook costs next to libvirt's own virt-aa-helper
// and AppArmor abstraction, both measured in this run on this machine, for the
// bundled example VM. Prints medians and ratios; claims belong here, not in
// timed unit tests.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
const features = '/usr/share/apparmor-features/features';
const libvirtTemplate = '/etc/apparmor.d/libvirt/TEMPLATE.qemu';

if (!existsSync(cli) || !existsSync(hook)) spawnSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { stdio: 'inherit' });

/** Median wall time in ms of `runs` runs (after one warm-up). */
function time(file, args, input) {
  const once = () => {
    const start = process.hrtime.bigint();
    const result = spawnSync(file, args, { input, encoding: 'utf8' });
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
compare('generate the rules of one VM (ms)', ours, helperUsable ? time(helper, ['-d', '-r', '-u', `libvirt-${uuid}`], xml) : undefined, 'virt-aa-helper -d -r');
if (!helperUsable) skipped.push(`virt-aa-helper: ${existsSync(helper) ? 'needs root' : 'not installed (Debian libvirt-daemon)'}`);

// 2. Compiling the complete profile of that VM: our template and abstraction
//    against libvirt's template and abstractions/libvirt-qemu with libvirt's rules.
if (parser !== undefined) {
  const dir = mkdtempSync(path.join(tmpdir(), 'virt-aa-hook-bench-'));
  const flags = ['-Q', '-K', '-T', '-I', path.join(root, 'apparmor.d'), ...(existsSync(features) ? ['-M', features] : [])];
  const ourProfile = path.join(dir, 'ours');
  writeFileSync(ourProfile, spawnSync(cli, ['generate', '--profile', example], { encoding: 'utf8' }).stdout);
  let reference;
  if (helperUsable && existsSync(libvirtTemplate)) {
    const rules = spawnSync(helper, ['-d', '-r', '-u', `libvirt-${uuid}`], { input: xml, encoding: 'utf8' }).stderr.split('\n').filter((l) => /^\s+("|deny )/.test(l));
    const libvirtProfile = path.join(dir, 'libvirt');
    writeFileSync(libvirtProfile, readFileSync(libvirtTemplate, 'utf8').replace('LIBVIRT_TEMPLATE', `libvirt-${uuid}`).replace(/\n}\s*$/, `\n${rules.join('\n')}\n}\n`));
    reference = time(parser, [...flags, libvirtProfile]);
  } else {
    skipped.push("libvirt's profile: needs virt-aa-helper as root and /etc/apparmor.d/libvirt/TEMPLATE.qemu");
  }
  compare('compile the complete profile, no cache (ms)', time(parser, [...flags, ourProfile]), reference, "libvirt's template + abstractions/libvirt-qemu");
  rmSync(dir, { recursive: true, force: true });
} else {
  skipped.push('apparmor_parser is not installed');
}

// 3. A hook call that does nothing (an operation libvirt may add one day), against starting Node at all.
const empty = mkdtempSync(path.join(tmpdir(), 'virt-aa-hook-bench-'));
writeFileSync(path.join(empty, 'config.json'), JSON.stringify({ paths: { logFile: path.join(empty, 'log') } }));
const env = { ...process.env, VIRT_AA_HOOK_CONFIG: path.join(empty, 'config.json') };
const noop = (() => {
  const once = () => {
    const start = process.hrtime.bigint();
    spawnSync(hook, ['vm', 'some-future-op', 'begin', '-'], { input: '', env });
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  once();
  return Array.from({ length: runs }, once).sort((a, b) => a - b)[Math.floor(runs / 2)];
})();
compare('hook call for a no-op event (ms)', noop, time(process.execPath, ['-e', '0']), 'node -e 0');
rmSync(empty, { recursive: true, force: true });

console.log(`virt-aa-hook benchmark, median of ${runs} runs each (BENCH_RUNS to change), ${new Date().toISOString()}`);
console.table(rows);
for (const reason of skipped) console.log(`skipped: ${reason}`);
