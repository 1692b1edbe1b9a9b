// Domain names (issue 12, finding 12): every name libvirt's QEMU driver
// accepts gets a profile, and what the real parser compiles from the rules
// the name is part of matches that domain's files and no other's.

import test from 'ava';
import { generateProfile, pathGrants } from '../helpers/compiled.ts';

const xmlText = (text: string): string => text.replace(/[&<>'"]/g, (c) => `&#${c.charCodeAt(0)};`).replace(/[\t\r\n]/g, (c) => `&#${c.charCodeAt(0)};`);
const domain = (name: string): string => `<domain type='kvm' id='3'><name>${xmlText(name)}</name><uuid>6c1d4f3a-5b7e-4a29-9d0c-2f8e1b3a7c55</uuid>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>`;

const onlyItsOwn = test.macro({
  async exec(t, name: string, others: readonly string[]) {
    const run = await generateProfile(domain(name));
    t.is(run.code, 0, run.stderr);
    t.is(run.stderr, '');
    t.not(pathGrants(run.stdout, `/run/libvirt/qemu/${name}.pid`).length, 0, 'its own pid file');
    for (const other of others) t.deepEqual(pathGrants(run.stdout, `/run/libvirt/qemu/${other}.pid`), [], `not ${JSON.stringify(other)}`);
  },
  title: (_given, name: string) => `the name ${JSON.stringify(name)} is accepted and grants only its own files`,
});

// In libvirt's own test corpus.
test(onlyItsOwn, 'foo=1,bar=2', ['foo=1', 'bar=2']);
test(onlyItsOwn, 'vm[1]', ['vm1', 'vm[1']);
test(onlyItsOwn, 'vm*', ['vm', 'vm-other', 'vm*x']);
test(onlyItsOwn, 'vm?', ['vm1', 'vmx']);
test(onlyItsOwn, '{a,b}', ['a', 'b', '{a']);
test(onlyItsOwn, '@{HOME}', ['/root', '@HOME']);
test(onlyItsOwn, 'a"b', ['a', 'ab']);
test(onlyItsOwn, 'a\\b', ['ab', 'a\\\\b']);
test(onlyItsOwn, 'a^b', ['a', 'ab']);
// Control characters libvirt keeps in names (XML carries tab, CR and, for a transient domain, a newline).
test(onlyItsOwn, 'tab\there', ['tab here', 'tabhere', 'tab\\there']);
test(onlyItsOwn, 'cr\rx', ['crx', 'cr\nx']);
test(onlyItsOwn, 'nl\nx', ['nlx', 'nl\\nx']);

test('a name with "/" is refused in one line, as libvirt refuses it', async (t) => {
  const run = await generateProfile(domain('a/b'));
  t.is(run.code, 2);
  t.is(run.stderr, 'virt-aa-hook: error: domain \'a/b\': invalid domain name: the name contains "/" (libvirt refuses it too: the name is part of file names)\n');
});
