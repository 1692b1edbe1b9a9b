import test from 'ava';
import { aareToRegExp, parseFileRules, parseVariables, samplePaths, type FileRule } from '../../lib/parity/aare.ts';

const variables = new Map([
  ['HOME', ['@{HOMEDIRS}/*/', '/root/']],
  ['HOMEDIRS', ['/home/']],
  ['run', ['/run/', '/var/run/']],
  ['multiarch', ['*-linux-gnu*']],
  ['pid', ['{[1-9],[1-9][0-9]}']],
]);

const matches = test.macro({
  exec(t, pattern: string, yes: readonly string[], no: readonly string[]) {
    const regex = aareToRegExp(pattern, variables);
    for (const path of yes) t.true(regex.test(path), `${pattern} should match ${path} (${regex})`);
    for (const path of no) t.false(regex.test(path), `${pattern} should not match ${path} (${regex})`);
  },
  title: (_given, pattern: string) => `${pattern} as a RegExp`,
});

test(matches, '/srv/vm/disk.img', ['/srv/vm/disk.img'], ['/srv/vm/diskximg', '/srv/vm/disk.img2', '/srv/vm']);
// A glob that is a whole path component must match at least one character.
test(matches, '/dir/*', ['/dir/a', '/dir/.a'], ['/dir/', '/dir/a/b', '/dir']);
test(matches, '/dir/**', ['/dir/a', '/dir/a/b/'], ['/dir/', '/dir']);
test(matches, '/dir/*/', ['/dir/a/'], ['/dir//', '/dir/a/b/']);
test(matches, '/dir/a*', ['/dir/a', '/dir/abc'], ['/dir/a/b', '/dir/b']);
test(matches, '/dir/{,**}', ['/dir/', '/dir/a/b'], ['/dir']);
test(matches, '/a?c', ['/abc'], ['/a/c', '/ac', '/abbc']);
test(matches, '/dev/vfio/[0-9]*', ['/dev/vfio/0', '/dev/vfio/12'], ['/dev/vfio/vfio', '/dev/vfio/']);
test(matches, '/x/[^.]*', ['/x/a', '/x/abc'], ['/x/.a']);
test(matches, '/usr/lib{,32,64}/dri/*.so*', ['/usr/lib/dri/i965_dri.so', '/usr/lib32/dri/a.so.1'], ['/usr/libx/dri/a.so', '/usr/lib/dri/a.sx']);
test(matches, '/a/{b,{c,d}e}', ['/a/b', '/a/ce', '/a/de'], ['/a/be', '/a/c', '/a/e']);
test(matches, '/a/{x{1,2},y{3,{4,5}z}}', ['/a/x1', '/a/y3', '/a/y5z'], ['/a/y5', '/a/x3']);
test(matches, '/etc/pki/nssdb/{,*}', ['/etc/pki/nssdb/', '/etc/pki/nssdb/cert9.db'], ['/etc/pki/nssdb', '/etc/pki/nssdb/a/b']);
// Escaped specials are literal characters.
test(matches, '/srv/vm/\\*', ['/srv/vm/*'], ['/srv/vm/a']);
test(matches, '/srv/vm/disk\\?.img', ['/srv/vm/disk?.img'], ['/srv/vm/diskx.img']);
test(matches, '/srv/vm/\\{a,b\\}.img', ['/srv/vm/{a,b}.img'], ['/srv/vm/a.img']);
test(matches, '/srv/vm/x\\[y\\]', ['/srv/vm/x[y]'], ['/srv/vm/xy']);
test(matches, '/srv/vm/a\\^b', ['/srv/vm/a^b'], ['/srv/vm/ab']);
test(matches, '/srv/vm/@\\{HOME\\}/x', ['/srv/vm/@{HOME}/x'], ['/srv/vm/root/x']);
test(matches, '/srv/vm/a\\x5cb', ['/srv/vm/a\\b'], ['/srv/vm/ax5cb']);
test(matches, '/srv/vm/a\\x22b', ['/srv/vm/a"b'], []);
test(matches, '/srv/vm/\\101', ['/srv/vm/A'], ['/srv/vm/101']);
test(matches, '/srv/vm/a\\\\', ['/srv/vm/a\\'], []);
// Regex metacharacters AppArmor does not use are literal.
test(matches, '/srv/vm/a.b+c(d)|e$', ['/srv/vm/a.b+c(d)|e$'], ['/srv/vm/axb+c(d)|e$']);
test(matches, '//srv///vm/x', ['/srv/vm/x'], []);
// Variables, several values each, nested.
test(matches, '@{HOME}/x', ['/home/u/x', '/root/x'], ['/home/x', '/x']);
test(matches, '@{run}/libvirt/*.pid', ['/run/libvirt/a.pid', '/var/run/libvirt/a.pid', '/run/libvirt/.pid'], ['/run/libvirt/a/b.pid', '/srv/run/libvirt/a.pid']);
test(matches, '/proc/@{pid}/maps', ['/proc/1/maps', '/proc/42/maps'], ['/proc/0/maps', '/proc/self/maps']);
test(matches, '/usr/lib/@{multiarch}/dri/*.so*', ['/usr/lib/x86_64-linux-gnu/dri/a.so'], ['/usr/lib/dri/a.so']);

const refuses = test.macro({
  exec(t, pattern: string, message: RegExp) {
    t.throws(() => aareToRegExp(pattern, variables), { message });
  },
  title: (_given, pattern: string) => `${pattern} is refused`,
});

test(refuses, '/srv/vm/x[y', /unclosed \[/);
test(refuses, '/srv/vm/x}y', /unbalanced \}/);
test(refuses, '/srv/vm/{a,b', /unclosed \{/);
test(refuses, '/srv/vm/a\\', /trailing backslash/);
test(refuses, '@{NOPE}/x', /undefined variable @\{NOPE\}/);

const samples = test.macro({
  exec(t, pattern: string, expected: readonly string[]) {
    const sampleVariables = new Map([...variables, ['multiarch', ['x86_64-linux-gnu']]]);
    const paths = samplePaths(pattern, sampleVariables);
    t.deepEqual(paths, expected);
    // Every sample is a path the pattern really matches.
    const regex = aareToRegExp(pattern, variables);
    for (const path of paths) t.regex(path, regex);
  },
  title: (_given, pattern: string) => `samples of ${pattern}`,
});

test(samples, '/srv/vm/disk.img', ['/srv/vm/disk.img']);
test(samples, '/var/log/libvirt/**/vm.log', ['/var/log/libvirt/qemu/vm.log']);
test(samples, '/run/libvirt/**/*.tunnelmigrate.dest.vm', ['/run/libvirt/qemu/x.tunnelmigrate.dest.vm']);
test(samples, '/var/lib/libvirt/qemu/domain-1-vm/*', ['/var/lib/libvirt/qemu/domain-1-vm/x']);
test(samples, '/dev/vfio/[0-9]*', ['/dev/vfio/0']);
test(samples, '/usr/lib{,32,64}/dri/*.so*', ['/usr/lib/dri/x.so', '/usr/lib32/dri/x.so', '/usr/lib64/dri/x.so']);
test(samples, '/etc/pki/nssdb/{,*}', ['/etc/pki/nssdb/', '/etc/pki/nssdb/x']);
test(samples, '/usr/share/drirc.d/{,*.conf}', ['/usr/share/drirc.d/', '/usr/share/drirc.d/x.conf']);
test(samples, '/usr/lib/@{multiarch}/dri/*.so*', ['/usr/lib/x86_64-linux-gnu/dri/x.so']);
test(samples, '/a/{b,{c,d}e}', ['/a/b', '/a/ce', '/a/de']);
test(samples, '/x/[^x]?', ['/x/ax']);
test(samples, '/srv/vm/\\*\\{a\\}', ['/srv/vm/*{a}']);
test(samples, '@{HOME}/x', ['/home/x/x', '/root/x']);

const rules = test.macro({
  exec(t, line: string, expected: Partial<FileRule> | undefined) {
    const parsed = parseFileRules(`${line}\n`);
    if (expected === undefined) {
      t.deepEqual(parsed, []);
      return;
    }
    t.deepEqual(parsed, [{ deny: false, owner: false, profile: '', ...expected }]);
  },
  title: (_given, line: string) => `file rule ${JSON.stringify(line)}`,
});

test(rules, '"/path" rwk,', { path: '/path', perms: 'rwk' });
test(rules, '  /path rw,', { path: '/path', perms: 'rw' });
test(rules, 'owner /x r,', { path: '/x', perms: 'r', owner: true });
test(rules, 'audit deny /x w,', { path: '/x', perms: 'w', deny: true });
test(rules, 'deny "/srv/vm/a b" w,', { path: '/srv/vm/a b', perms: 'w', deny: true });
test(rules, 'allow file /x r,', { path: '/x', perms: 'r' });
test(rules, '/usr/bin/x Cx -> passt,', { path: '/usr/bin/x', perms: 'Cx' });
test(rules, '"/usr/bin/x" Px -> other//child ,', { path: '/usr/bin/x', perms: 'Px' });
test(rules, '@{PROC}/@{pid}/{maps,auxv,status} r,', { path: '@{PROC}/@{pid}/{maps,auxv,status}', perms: 'r' });
test(rules, '/usr/lib{,32,64}/** mr,', { path: '/usr/lib{,32,64}/**', perms: 'mr' });
test(rules, '/dev/log  w, # comment', { path: '/dev/log', perms: 'w' });
test(rules, '"/srv/a#b" r,', { path: '/srv/a#b', perms: 'r' });
test(rules, '"/srv/a\\x22b" r,', { path: '/srv/a\\x22b', perms: 'r' });
test(rules, '"/srv/a\\"b" r,', { path: '/srv/a\\"b', perms: 'r' });
test(rules, '# "/commented" r,', undefined);
test(rules, 'capability setuid,', undefined);
test(rules, 'deny capability kill,', undefined);
test(rules, 'network inet stream,', undefined);
test(rules, 'mount options=(rw, runbindable) -> /,', undefined);
test(rules, 'signal (receive) peer=libvirtd,', undefined);
test(rules, '@{run}=/run/ /var/run/', undefined);
test(rules, 'include <abstractions/base>', undefined);

test('rules inside a child profile belong to it, not to its parent', (t) => {
  const text = ['/outside r,', 'profile libvirt-x flags=(attach_disconnected) {', '  /a r,', '  /usr/bin/passt Cx -> passt,', '  profile passt {', '    /b w,', '  }', '  ^hat {', '    /c r,', '  }', '  /d r,', '}'].join('\n');
  t.deepEqual(
    parseFileRules(text).map((r) => [r.path, r.profile]),
    [
      ['/outside', ''],
      ['/a', 'libvirt-x'],
      ['/usr/bin/passt', 'libvirt-x'],
      ['/b', 'libvirt-x//passt'],
      ['/c', 'libvirt-x//hat'],
      ['/d', 'libvirt-x'],
    ],
  );
});

test('variables: assignment, append, quotes and comments', (t) => {
  const text = ['@{A}=x y', '@{A}+=z', '  @{B} = "quoted value" plain # comment', '@{C}={a,b}', '/not/a/variable r,'].join('\n');
  t.deepEqual(
    parseVariables(text),
    new Map([
      ['A', ['x', 'y', 'z']],
      ['B', ['quoted value', 'plain']],
      ['C', ['{a,b}']],
    ]),
  );
});
