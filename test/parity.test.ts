// Parity with libvirt's own virt-aa-helper over the corpus: every path it
// grants for a domain it accepts is granted by our complete profile, or our
// generator refuses the domain, or the path is missing for a reason README.md
// states (lib/parity/reasons.ts). Needs virt-aa-helper (Debian:
// libvirt-daemon), apparmor_parser, the corpus and root.

import test from 'ava';
import { existsSync } from 'node:fs';
import { missingReasons } from '../lib/parity/reasons.ts';
import { compareFiles, formatSummary, parityInputs, problems, summarize, virtAaHelper, type FileResult } from '../scripts/parity.ts';
import { apparmorParser } from './helpers/apparmor-parser.ts';
import { corpusDir, corpusPresent } from './helpers/corpus.ts';

const absent = [
  existsSync(virtAaHelper) ? undefined : virtAaHelper,
  apparmorParser === undefined ? 'apparmor_parser' : undefined,
  corpusPresent ? undefined : `the corpus at ${corpusDir} (set VIRT_AA_HOOK_CORPUS)`,
  // virt-aa-helper probes backing chains and host devices as root.
  process.getuid?.() === 0 ? undefined : 'root',
].filter((a) => a !== undefined);

if (absent.length > 0) {
  test.skip(`parity with virt-aa-helper: needs ${absent.join(', ')}`, () => {});
} else {
  let results: readonly FileResult[] = [];
  test.before(async () => {
    results = await compareFiles(parityInputs());
  });

  const verdicts = (name: string): string[] => {
    const file = results.find((r) => r.name === name);
    if (file === undefined) return [`${name} was not compared`];
    return file.paths.map((p) => `${p.status}${p.category === undefined ? '' : ` (${p.category})`}: "${p.rule}" ${p.perms}`);
  };

  test('every path virt-aa-helper grants is granted by ours, refused, or missing for a documented reason', (t) => {
    const summary = summarize(results);
    t.log(formatSummary(summary).join('\n'));
    t.true(summary.compared > 1000, `only ${summary.compared} domains compared`);
    t.deepEqual(problems(results), []);
  });

  test('every reason used is one of the documented reasons', (t) => {
    const known = new Set(missingReasons.map((r) => r.id));
    const used = new Set(results.flatMap((r) => r.paths.flatMap((p) => (p.category === undefined ? [] : [p.category]))));
    t.deepEqual([...used].filter((c) => !known.has(c)), []);
  });

  test('a backing chain: every layer granted, read-only below the top', (t) => {
    t.deepEqual(verdicts('libvirt/disk-backing-chains-noindex.xml'), [
      'granted: "/var/log/libvirt/**/QEMUGuest1.log" w',
      'missing (legacy-private-dir): "/var/lib/libvirt/qemu/domain-QEMUGuest1/monitor.sock" rw',
      'missing (inactive-domain-id): "/var/lib/libvirt/qemu/domain--1-QEMUGuest1/*" rw',
      'granted: "/run/libvirt/**/QEMUGuest1.pid" rwk',
      'missing (tunnelled-migration-socket): "/run/libvirt/**/*.tunnelmigrate.dest.QEMUGuest1" rw',
      ...['/tmp/missing-backing-store.qcow', '/dev/HostVG/QEMUGuest1', '/tmp/image2', '/tmp/image3.qcow', '/tmp/image4.qcow', '/tmp/image5.qcow'].map((p) => `granted: "${p}" rk`),
      'granted: "/tmp/Fedora-17-x86_64-Live-KDE.iso" rk',
      'granted: "/tmp/image.qcow" rk',
      'granted: "/dev/HostVG/QEMUGuest11" rwk',
      'granted: "/var/lib/libvirt/images/rhel7.1484071880" rwk',
      ...['1484071877', '1484071876', '1484071872', '1483615252', '1483605924', '1483605920', '1483546244', '1483545901', '1483545313', '1483536402'].map(
        (n) => `granted: "/var/lib/libvirt/images/rhel7.${n}" rk`,
      ),
      'granted: "/var/lib/libvirt/images/rhel7.qcow2" rk',
    ]);
    const file = results.find((r) => r.name === 'libvirt/disk-backing-chains-noindex.xml');
    t.deepEqual(file?.paths.filter((p) => p.status === 'granted' && p.lacking !== '') ?? [], [], 'with k as well');
  });

  test('an emulated TPM: state, log and the sockets of the running domain', (t) => {
    t.deepEqual(verdicts('libvirt/tpm-emulator.xml'), [
      'granted: "/var/log/libvirt/**/TPM-VM.log" w',
      'missing (legacy-private-dir): "/var/lib/libvirt/qemu/domain-TPM-VM/monitor.sock" rw',
      'missing (inactive-domain-id): "/var/lib/libvirt/qemu/domain--1-TPM-VM/*" rw',
      'granted: "/run/libvirt/**/TPM-VM.pid" rwk',
      'missing (tunnelled-migration-socket): "/run/libvirt/**/*.tunnelmigrate.dest.TPM-VM" rw',
      'missing (inactive-domain-id): "/run/libvirt/qemu/swtpm/-1-TPM-VM-swtpm.sock" rw',
      'granted: "/var/lib/libvirt/swtpm/11d7cd22-da89-3094-6212-079a48a309a1/tpm1.2/" r',
      'granted: "/var/lib/libvirt/swtpm/11d7cd22-da89-3094-6212-079a48a309a1/tpm1.2/**" rwk',
      'granted: "/var/log/swtpm/libvirt/qemu/TPM-VM-swtpm.log" w',
      'missing (inactive-domain-id): "/run/libvirt/qemu/swtpm/-1-TPM-VM-swtpm.pid" rw',
    ]);
  });
}
