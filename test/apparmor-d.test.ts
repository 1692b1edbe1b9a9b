// The static policy shipped in apparmor.d/: the per-VM template, the base
// abstraction and one snippet per name in `snippetNames`. Everything is
// compiled by the real apparmor_parser, the base is guarded against regaining
// what only snippets or per-VM rules may grant, and every rule group must say
// why it is there.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import tmp from 'tmp';
import { snippetNames, type SnippetName } from '../lib/profile/access.ts';
import { fillTemplate } from '../lib/profile/template.ts';
import { apparmorParser, checkoutRoot, compileProfile, parserArgs } from './helpers/apparmor-parser.ts';

const policyDir = path.join(checkoutRoot, 'apparmor.d');
const templatePath = path.join(policyDir, 'virt-aa-hook/TEMPLATE.qemu');
const snippetDir = path.join(policyDir, 'abstractions/virt-aa-hook');
const basePath = path.join(snippetDir, 'qemu');
const profileName = 'libvirt-00000000-0000-0000-0000-000000000001';

const read = (file: string): string => fs.readFileSync(file, 'utf8');

/** The template as the hook fills it, with `rules` as the per-VM rules. */
function vmProfile(rules: string): string {
  return fillTemplate(read(templatePath), { PROFILE_NAME: profileName, VM_RULES: rules }, templatePath);
}

/**
 * The distinct warnings `--warn=all` prints for a profile, without the
 * profile and file names. Which warnings appear depends on the kernel
 * features the parser compiles for (e.g. unix rules are downgraded where the
 * kernel does not mediate them), so tests compare against abstractions/base.
 */
function warnings(text: string): ReadonlySet<string> {
  if (apparmorParser === undefined) throw new Error('apparmor_parser is not installed (apt-get install apparmor)');
  const file = tmp.fileSync();
  try {
    fs.writeFileSync(file.name, text);
    const run = spawnSync(apparmorParser, [...parserArgs(), '--warn=all', file.name], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`apparmor_parser failed: ${run.stdout}${run.stderr}`);
    const lines = `${run.stdout}${run.stderr}`.split('\n').filter((line) => line.trim() !== '');
    return new Set(lines.map((line) => line.replace(/^Warning from profile \S+ \([^)]*\): /, 'Warning: ')));
  } finally {
    file.removeCallback();
  }
}

const baselineWarnings = warnings(`abi <abi/3.0>,\n#include <tunables/global>\nprofile baseline {\n  #include <abstractions/base>\n}\n`);

function unexpectedWarnings(text: string): readonly string[] {
  return [...warnings(text)].filter((w) => !baselineWarnings.has(w));
}

/**
 * Rule groups (blocks between blank lines) whose first rule has no comment
 * before it in the same block. `abi`, profile headers, closing braces and
 * template tokens are structure; `#include` is a rule, not a comment.
 */
function uncommentedGroups(text: string): readonly string[] {
  const structure = /^(abi\s|profile\s.*\{$|\}$|###[A-Z_]+###$)/;
  const isComment = (line: string): boolean => /^#(?!include\b)/.test(line) && !structure.test(line);
  return text
    .split(/\n\s*\n/)
    .filter((block) => {
      const lines = block.split('\n').map((line) => line.trim()).filter((line) => line !== '');
      const firstRule = lines.findIndex((line) => !isComment(line) && !structure.test(line));
      return firstRule !== -1 && !lines.slice(0, firstRule).some(isComment);
    })
    .map((block) => block.trim());
}

// (a) the template alone, with no per-VM rules, is a valid profile

test('the template with an empty rules line compiles', (t) => {
  const result = compileProfile(vmProfile(''));
  t.true(result.ok, result.output);
});

// (c) the two tokens, where the renderer expects them

test('the template carries each token, the rules token once on its own line', (t) => {
  const template = read(templatePath);
  t.regex(template, /^profile ###PROFILE_NAME### flags=\(attach_disconnected\) \{$/m);
  t.regex(template, /^\s*#include if exists <virt-aa-hook\/local\/###PROFILE_NAME###>$/m);
  t.is(template.match(/###VM_RULES###/g)?.length, 1);
  t.regex(template, /^###VM_RULES###$/m);
  t.deepEqual([...new Set(template.match(/###[A-Z_]+###/g))].sort(), ['###PROFILE_NAME###', '###VM_RULES###']);
});

test('the filled template keeps the per-VM rules inside the profile body', (t) => {
  const profile = vmProfile('  # marker\n  /srv/marker r,');
  const body = profile.slice(profile.indexOf(`profile ${profileName} `));
  t.true(body.includes('/srv/marker r,'));
  t.true(body.indexOf('/srv/marker r,') < body.lastIndexOf('}'));
  t.false(profile.includes('###'));
});

// (b) every snippet name the resources may ask for has a file that compiles

const snippetCompiles = test.macro({
  exec(t, name: SnippetName) {
    const file = path.join(snippetDir, name);
    t.true(fs.existsSync(file), `${file} is missing`);
    const result = compileProfile(vmProfile(`  #include <abstractions/virt-aa-hook/${name}>`));
    t.true(result.ok, result.output);
    t.deepEqual(unexpectedWarnings(vmProfile(`  #include <abstractions/virt-aa-hook/${name}>`)), []);
  },
  title: (_given, name: SnippetName) => `snippet ${name} compiles inside a VM profile`,
});

for (const name of snippetNames) test(snippetCompiles, name);

test('all snippets together compile in one profile', (t) => {
  const rules = snippetNames.map((name) => `  #include <abstractions/virt-aa-hook/${name}>`).join('\n');
  const result = compileProfile(vmProfile(rules));
  t.true(result.ok, result.output);
});

test('no snippet file is shipped without a name in snippetNames', (t) => {
  const shipped = fs.readdirSync(snippetDir).filter((f) => f !== 'qemu' && !f.endsWith('.d'));
  t.deepEqual(shipped.sort(), [...snippetNames].sort());
});

// (d) least privilege: the base never grants what only a snippet or a
// per-VM rule may grant. Words match whole (`driver` is fine, `dri` is not).

const baseMustNotMention: readonly { readonly term: string; readonly word: boolean; readonly movedTo?: SnippetName }[] = [
  { term: '/dev/snd', word: false, movedTo: 'audio-alsa' },
  { term: 'pulse', word: false, movedTo: 'audio-pulseaudio' },
  { term: 'dash', word: true },
  { term: 'bash', word: true },
  { term: '_VARS.fd', word: false },
  { term: '/etc/pki', word: false, movedTo: 'tls' },
  { term: '/dev/vfio', word: false, movedTo: 'vfio' },
  { term: 'dri', word: true, movedTo: 'gl' },
  // Issue 12, finding 8: libvirt's abstraction has these through abstractions/nameservice.
  { term: 'dgram', word: true, movedTo: 'nameservice' },
  { term: 'netlink', word: true, movedTo: 'nameservice' },
  { term: 'resolv.conf', word: false, movedTo: 'nameservice' },
  { term: 'nscd', word: true, movedTo: 'nameservice' },
  { term: 'abstractions/nameservice>', word: false },
];

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

for (const { term, word, movedTo } of baseMustNotMention) {
  test(`the base abstraction does not mention ${JSON.stringify(term)}`, (t) => {
    const pattern = new RegExp(word ? `\\b${escapeRegex(term)}\\b` : escapeRegex(term), 'i');
    const base = read(basePath);
    const line = base.split('\n').find((l) => pattern.test(l));
    t.is(line, undefined, `base abstraction line: ${line ?? ''}`);
    if (movedTo !== undefined) t.regex(read(path.join(snippetDir, movedTo)), pattern, `expected in the ${movedTo} snippet`);
  });
}

test('the base abstraction keeps no capability that a non-root QEMU cannot use', (t) => {
  const granted = [...read(basePath).matchAll(/^\s*capability\s+([a-z_]+)\s*,/gm)].map((m) => m[1]).sort();
  t.deepEqual(granted, ['setgid', 'setuid']);
});

// (e) no warnings beyond those abstractions/base itself causes

test('the template with the base abstraction raises no unexpected parser warnings', (t) => {
  t.deepEqual(unexpectedWarnings(vmProfile('')), []);
});

// house style 19: every rule group says which domain element needs it

test('every rule group in apparmor.d carries a comment', (t) => {
  const files = [templatePath, basePath, ...snippetNames.map((name) => path.join(snippetDir, name))];
  for (const file of files) {
    t.deepEqual(uncommentedGroups(read(file)), [], path.relative(checkoutRoot, file));
  }
});

test('every shipped file declares the 3.0 ABI and ends with a newline', (t) => {
  for (const file of [templatePath, basePath, ...snippetNames.map((name) => path.join(snippetDir, name))]) {
    const text = read(file);
    t.regex(text, /^\s*abi <abi\/3\.0>,$/m, file);
    t.true(text.endsWith('\n'), file);
  }
});
