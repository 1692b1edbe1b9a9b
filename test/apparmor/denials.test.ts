import test from 'ava';
import { describeDenial, parseDenials } from '../../lib/apparmor/denials.ts';

const vm = 'e2e00000-0000-4000-8000-000000000001';

// Records as the kernel logged them in the e2e guest (dmesg), as auditd
// writes them, and the forms the kernel uses for odd values.
const cases: readonly { readonly title: string; readonly line: string; readonly expected: string | undefined }[] = [
  {
    title: 'dmesg, a file read',
    line: `[  104.512] audit: type=1400 audit(1795936315.120:4): apparmor="DENIED" operation="open" profile="libvirt-${vm}" name="/etc/shadow" pid=1094 comm="qemu-system-x86" requested_mask="r" denied_mask="r" fsuid=0 ouid=0`,
    expected: `domain 'web' (libvirt-${vm}): DENIED open "/etc/shadow" r (qemu-system-x86 pid 1094)`,
  },
  {
    title: 'a policy namespace (two libvirtd in one kernel)',
    line: `audit: type=1400 audit(1795936487.536:19): apparmor="DENIED" operation="open" namespace="root//e2esrc" profile="libvirt-${vm}" name="/proc/905/cmdline" pid=1774 comm="qemu-system-x86" requested_mask="r" denied_mask="r" fsuid=64055 ouid=0`,
    expected: `domain 'web' (libvirt-${vm}) in policy namespace e2esrc: DENIED open "/proc/905/cmdline" r (qemu-system-x86 pid 1774)`,
  },
  {
    title: 'auditd, complain mode, a child profile',
    line: `type=AVC msg=audit(1700000000.123:456): apparmor="ALLOWED" operation="connect" profile="libvirt-${vm}//passt" name="/run/other.sock" pid=77 comm="passt" requested_mask="wr" denied_mask="wr" fsuid=0 ouid=0`,
    expected: `domain 'web' (libvirt-${vm}//passt): ALLOWED connect "/run/other.sock" wr (passt pid 77)`,
  },
  {
    title: 'a path with a space, hex-encoded by the kernel',
    line: `audit: type=1400 audit(1.2:3): apparmor="DENIED" operation="open" profile="libvirt-${vm}" name=2F7372762F766D7320312F612E696D67 pid=9 comm="qemu-system-x86" requested_mask="rw" denied_mask="w" fsuid=64055 ouid=64055`,
    expected: `domain 'web' (libvirt-${vm}): DENIED open "/srv/vms 1/a.img" w (qemu-system-x86 pid 9)`,
  },
  {
    title: 'a capability',
    line: `audit: type=1400 audit(1.2:3): apparmor="DENIED" operation="capable" profile="libvirt-${vm}" pid=9 comm="qemu-system-x86" capability=12  capname="net_admin"`,
    expected: `domain 'web' (libvirt-${vm}): DENIED capable "net_admin" (qemu-system-x86 pid 9)`,
  },
  {
    title: "the hook's own profile",
    line: 'audit: type=1400 audit(1.2:3): apparmor="DENIED" operation="open" profile="virt-aa-hook" name="/etc/shadow" pid=5 comm="node" requested_mask="r" denied_mask="r" fsuid=0 ouid=0',
    expected: 'profile virt-aa-hook: DENIED open "/etc/shadow" r (node pid 5)',
  },
  {
    title: 'the old ":ns:" prefix, and a domain no longer known',
    line: `audit: type=1400 audit(1.2:3): apparmor="DENIED" operation="open" profile=":e2edst:libvirt-11111111-2222-4333-8444-555555555555" name="/x" pid=5 comm="qemu-system-x86" requested_mask="r" denied_mask="r"`,
    expected: 'profile libvirt-11111111-2222-4333-8444-555555555555 in policy namespace e2edst: DENIED open "/x" r (qemu-system-x86 pid 5)',
  },
  { title: "another program's profile", line: 'audit: type=1400 audit(1.2:3): apparmor="DENIED" operation="open" profile="/usr/sbin/libvirtd" name="/x" pid=5', expected: undefined },
  { title: 'a profile load', line: `audit: type=1400 audit(1.2:3): apparmor="STATUS" operation="profile_load" profile="unconfined" name="libvirt-${vm}" pid=5`, expected: undefined },
  { title: 'a name that only looks like ours', line: 'audit: type=1400 audit(1.2:3): apparmor="DENIED" operation="open" profile="libvirt-evil" name="/x" pid=5', expected: undefined },
  { title: 'not an audit record', line: 'kernel: Linux version 6.1.0', expected: undefined },
];

for (const c of cases) {
  test(`denials: ${c.title}`, (t) => {
    const denials = parseDenials(c.line);
    if (c.expected === undefined) return t.deepEqual(denials, []);
    t.is(denials.length, 1);
    const [denial] = denials;
    if (denial === undefined) return t.fail();
    t.is(describeDenial(denial, denial.uuid === vm ? 'web' : undefined), c.expected);
    t.true(c.line.endsWith(denial.record));
  });
}

test('denials: every record of a log, in order', (t) => {
  const log = cases.map((c) => c.line).join('\n');
  t.is(parseDenials(log).length, cases.filter((c) => c.expected !== undefined).length);
});
