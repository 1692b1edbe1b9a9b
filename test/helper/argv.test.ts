// virt-aa-helper's command line, table-tested against what getopt_long makes
// of the same argv in libvirt's own helper ("acdDhrRH:b:u:p:f:F:").

import test from 'ava';
import { parseHelperArgv, profileUuid, type HelperArgv } from '../../lib/helper/argv.ts';

const u = 'libvirt-00000000-0000-0000-0000-0123456789ab';
const cmd = (command: string, extra: Partial<Extract<HelperArgv, { kind: 'command' }>> = {}): HelperArgv => ({ kind: 'command', command, dryRun: false, uuid: u, file: undefined, ...extra }) as HelperArgv;

const cases: readonly (readonly [string, readonly string[], HelperArgv])[] = [
  ['what libvirtd runs at start', ['-c', '-u', u], cmd('create')],
  ['a hotplug', ['-r', '-u', u, '-F', '/srv/a b.img'], cmd('replace', { file: { path: '/srv/a b.img', append: true } })],
  ['-f regenerates with the file', ['-r', '-u', u, '-f', '/srv/x'], cmd('replace', { file: { path: '/srv/x', append: false } })],
  ['bundled short options', ['-dr', '-u', u], cmd('replace', { dryRun: true })],
  ['an attached argument', ['-D', `-u${u}`], cmd('delete')],
  ['an argument bundled after flags', ['-dRu', u], cmd('remove', { dryRun: true })],
  ['long options, with = and without', ['--replace', `--uuid=${u}`, '--append-file', '/x'], cmd('replace', { file: { path: '/x', append: true } })],
  ['an unambiguous abbreviation', ['--repl', '--uu', u], cmd('replace')],
  ['the last command wins, as in getopt', ['-c', '-r', '-u', u], cmd('replace')],
  ['operands are ignored', ['-a', 'stray', '-u', u], cmd('add')],
  ['-- ends the options', ['-R', '-u', u, '--', '-c'], cmd('remove')],
  ['a file argument that looks like an option', ['-r', '-u', u, '-F', '-c'], cmd('replace', { file: { path: '-c', append: true } })],
  ['help wins over everything', ['-c', '-h'], { kind: 'help' }],
  ['no command', ['-u', u], { kind: 'bad-command' }],
  ['an unknown short option', ['-z'], { kind: 'unsupported', option: '-z' }],
  ['libvirt\'s removed probe option', ['-p', '0', '-r', '-u', u], { kind: 'unsupported', option: '-p' }],
  ['-H and -b take an argument and are refused', ['-H', 'x', '-c'], { kind: 'unsupported', option: '-H' }],
  ['-u without its argument', ['-c', '-u'], { kind: 'unsupported', option: '-u' }],
  ['an ambiguous abbreviation (--add or --add-file)', ['--ad', '-u', u], { kind: 'unsupported', option: '--ad' }],
  ['a flag given a value', ['--create=yes', '-u', u], { kind: 'unsupported', option: '--create=yes' }],
  ['an unknown long option', ['--probe', '-c'], { kind: 'unsupported', option: '--probe' }],
];

for (const [title, argv, expected] of cases) {
  test(`argv: ${title}: ${argv.join(' ')}`, (t) => {
    t.deepEqual(parseHelperArgv(argv), expected);
  });
}

test('profile names are libvirt-<uuid>, 44 characters, as libvirt checks them', (t) => {
  t.is(profileUuid(u), '00000000-0000-0000-0000-0123456789ab');
  t.is(profileUuid('libvirt-00000000-0000-0000-0000-0123456789AB'), '00000000-0000-0000-0000-0123456789ab');
  for (const bad of [undefined, '', 'libvirt-00000000-0000-0000-0000-00000000000g', `${u}abcdef`, 'libvirt-00000000-0000-0000-0000-0123456789a', 'qemu-00000000-0000-0000-0000-0123456789ab', 'libvirt-../../../../../etc/apparmor.d/x']) {
    t.is(profileUuid(bad), undefined, String(bad));
  }
});
