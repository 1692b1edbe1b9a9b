import test from 'ava';
import { nameProblem, pathTextProblem, restrictedPathProblem } from '../../lib/policy/validate.ts';

const name = test.macro({
  exec(t, value: string, expected: RegExp | undefined) {
    const problem = nameProblem(value);
    if (expected === undefined) t.is(problem, undefined);
    else t.regex(problem ?? '', expected);
  },
  title: (_given, value: string, expected: RegExp | undefined) => `name ${JSON.stringify(value)} is ${expected === undefined ? 'accepted' : 'refused'}`,
});

// libvirt's QEMU driver refuses "/" in names (and "\n" at define only); everything else is escaped.
test(name, 'vm/x', /contains "\/"/);
test(name, '../etc', /contains "\/"/);
test(name, '', /empty/);
test(name, 'vm\u0000x', /NUL/);
for (const ok of ['web-01', '--version', '-x', '007', 'vm with spaces', 'é名前', 'a\\b', 'a@b', 'a#b', 'a!b$c', 'foo=1,bar=2', 'vm[1]', 'vm"*', '{a,b}', 'x?^', 'tab\there', 'ctl\u0001x', 'esc\u001b[31m', 'vm\nx', 'del\u007f', '.', '..']) {
  test(name, ok, undefined);
}

const path = test.macro({
  exec(t, value: string, expected: RegExp | undefined) {
    const problem = pathTextProblem(value);
    if (expected === undefined) t.is(problem, undefined);
    else t.regex(problem ?? '', expected);
  },
  title: (_given, value: string, expected: RegExp | undefined) => `path text ${JSON.stringify(value)} is ${expected === undefined ? 'accepted' : 'refused'}`,
});
test(path, 'disk.img', /not absolute/);
test(path, './disk.img', /not absolute/);
test(path, '/srv/a\u0000b', /NUL/);
test(path, '/srv/a\nb', undefined);
test(path, '/srv/a\rb', undefined);
test(path, '/srv/a\u007fb', undefined);
test(path, '/srv/[e]tc', undefined);

const restricted = test.macro({
  exec(t, value: string, writable: boolean, tree: boolean, expected: RegExp | undefined) {
    const problem = restrictedPathProblem(value, writable, tree);
    if (expected === undefined) t.is(problem, undefined);
    else t.regex(problem ?? '', expected);
  },
  title: (_given, value: string, writable: boolean, tree: boolean, expected: RegExp | undefined) =>
    `${writable ? 'writing' : 'reading'} ${tree ? 'the tree ' : ''}${value} is ${expected === undefined ? 'allowed' : 'refused'}`,
});
test(restricted, '/etc/passwd', false, false, /\/etc is restricted/);
test(restricted, '/etc', true, false, /\/etc is restricted/);
test(restricted, '/etc/pki/nssdb/cert9.db', false, false, undefined);
test(restricted, '/etc/pki/nssdb/cert9.db', true, false, /read-only access would be allowed/);
test(restricted, '/etcetera/disk.img', true, false, undefined);
test(restricted, '/lib64/ld.so', false, false, /\/lib64 is restricted/);
test(restricted, '/library/disk.img', true, false, undefined);
test(restricted, '/usr/libexec/qemu-kvm', false, false, /\/usr\/libexec/);
test(restricted, '/usr/share/OVMF/OVMF_CODE.fd', false, false, undefined);
test(restricted, '/usr/share/OVMF/OVMF_CODE.fd', true, false, /\/usr\/share is restricted/);
test(restricted, '/usr/share/doc/x', false, false, /\/usr\/share is restricted/);
test(restricted, '/boot/vmlinuz-6.1.0', false, false, undefined);
test(restricted, '/boot/vmlinuz-6.1.0', true, false, /\/boot is restricted/);
test(restricted, '/dev/mem', true, false, /\/dev\/mem/);
test(restricted, '/dev/kmem', false, false, /\/dev\/kmem/);
test(restricted, '/dev/port', true, false, /\/dev\/port/);
test(restricted, '/dev/sdb', true, false, undefined);
test(restricted, '/proc/self/mem', true, false, /\/proc/);
test(restricted, '/sys/kernel/security/apparmor/.load', true, false, /\/sys/);
test(restricted, '/var/cache/apparmor/x', true, false, /\/var\/cache\/apparmor/);
test(restricted, '/var/lib/libvirt/images/a.qcow2', true, false, undefined);
test(restricted, '/', false, true, /whole file system/);
test(restricted, '/var', false, true, /contains the restricted \/var\/lib\/apparmor/);
test(restricted, '/usr', false, true, /contains the restricted/);
test(restricted, '/srv/share', true, true, undefined);
