import test from 'ava';
import { escapeLiteral, patternText } from '../../lib/policy/escape.ts';
import { compileProfile, ruleExpressions } from '../helpers/apparmor-parser.ts';

const escapes = test.macro({
  exec(t, path: string, expected: string) {
    const escaped = escapeLiteral(path);
    t.is(escaped, expected);
    // The real parser must read the escaped text back as exactly the literal path.
    const profile = `profile t {\n  "${escaped}" r,\n}\n`;
    const compiled = compileProfile(profile);
    t.true(compiled.ok, compiled.output);
    // In the parser's own regex, a glob or variable shows up as an unescaped
    // character class or alternation; a literal path has none.
    const dump = ruleExpressions(profile);
    const regex = /^rule: .*?  ->  (.*) \(0x/m.exec(dump)?.[1];
    t.not(regex, undefined, dump);
    t.notRegex(regex ?? '', /(?<!\\)[[(|]/, dump);
  },
  title: (_given, path: string) => `escapes ${JSON.stringify(path)}`,
});

test(escapes, '/srv/vm/disk.img', '/srv/vm/disk.img');
test(escapes, '/srv/vm/*', '/srv/vm/\\*');
test(escapes, '/srv/vm/disk?.img', '/srv/vm/disk\\?.img');
test(escapes, '/srv/vm/{a,b}.img', '/srv/vm/\\{a,b\\}.img');
test(escapes, '/srv/vm/x[y', '/srv/vm/x\\[y');
test(escapes, '/srv/vm/x]y', '/srv/vm/x\\]y');
test(escapes, '/srv/vm/@{HOME}/x', '/srv/vm/@\\{HOME\\}/x');
test(escapes, '/srv/vm/a\\', '/srv/vm/a\\x5c');
test(escapes, '/srv/vm/a\\x41b', '/srv/vm/a\\x5cx41b');
test(escapes, '/srv/vm/a"b', '/srv/vm/a\\x22b');
test(escapes, '/srv/vm/a\\bc', '/srv/vm/a\\x5cbc');
test(escapes, '/srv/vm/a^b', '/srv/vm/a\\^b');
test(escapes, '/srv/vm/a b,c#d=e$f(g)|h+i', '/srv/vm/a b,c#d=e$f(g)|h+i');
test(escapes, '/srv/vm/café/ü', '/srv/vm/café/ü');
test(escapes, '/srv/vm/tab\there', '/srv/vm/tab\\x09here');
test(escapes, '/srv/vm/a\u0001b', '/srv/vm/a\\x01b');
test(escapes, '/srv/vm/a\nb', '/srv/vm/a\\x0ab');
test(escapes, '/srv/vm/a\rb\u001b[0m\u007f', '/srv/vm/a\\x0db\\x1b\\[0m\\x7f');

test('every control character is read back by the parser as exactly that byte', (t) => {
  // The parser prints a rule's literal bytes on the left of its dump: each
  // \xNN must become the one byte, never a longer hex number that eats the
  // next character ("b" and "f" are hex digits).
  const codes = [...Array(0x20).keys()].slice(1).concat(0x7f);
  const paths = codes.map((code) => `/srv/c${String.fromCharCode(code)}bf.img`);
  const profile = `profile t {\n${paths.map((p) => `  "${escapeLiteral(p)}" r,`).join('\n')}\n}\n`;
  const compiled = compileProfile(profile);
  t.true(compiled.ok, compiled.output);
  const dump = ruleExpressions(profile);
  for (const p of paths) {
    const literal = p.replace(/\./g, '\\.');
    t.true(dump.includes(`rule: ${literal}  ->`), JSON.stringify(p));
  }
});

test('a path ending in a backslash does not swallow the next rule', (t) => {
  // The parser's lexer reads `\\"` as an escaped quote: this pair of rules
  // failed to compile when a backslash was escaped as `\\`.
  const profile = `profile t {\n  "${escapeLiteral('/srv/a\\')}" r,\n  "${escapeLiteral('/srv/b"c')}" r,\n  "/srv/d" r,\n}\n`;
  const compiled = compileProfile(profile);
  t.true(compiled.ok, compiled.output);
  const dump = ruleExpressions(profile);
  t.is((dump.match(/^rule: \/srv/gm) ?? []).length, 3, dump);
});

test('wildcards become AARE and nothing else does', (t) => {
  t.is(patternText(['/var/lib/libvirt/qemu/domain-', { wildcard: 'domain-id' }, '-vm[1]/', { wildcard: 'anypath' }]), '/var/lib/libvirt/qemu/domain-[0-9]{,[0-9]}{,[0-9]}{,[0-9]}{,[0-9]}{,[0-9]}{,[0-9]}{,[0-9]}{,[0-9]}{,[0-9]}-vm\\[1\\]/**');
  t.is(patternText(['/a*', { wildcard: 'any' }]), '/a\\**');
});

test('the domain-id wildcard matches 1 to 10 digits and nothing else', (t) => {
  const regex = new RegExp(`^${ruleRegex(patternText([{ wildcard: 'domain-id' }]))}$`);
  for (const id of ['0', '7', '42', '2147483647']) t.regex(id, regex);
  for (const notId of ['', 'x', '1-2', '12345678901', '1a']) t.notRegex(notId, regex);
});

/** Minimal AARE to JS regex for the constructs the wildcard uses: [0-9] and {,X}. */
function ruleRegex(aare: string): string {
  return aare.replace(/\{,\[0-9\]\}/g, '(?:[0-9])?');
}
