// Golden files: test/fixtures/golden/<case>.xml through `generate`, against
// <case>.expected. `UPDATE_GOLDEN=1 npx ava test/golden.test.ts` rewrites the
// expectations; review them in the diff. Every profile produced is compiled
// by the real apparmor_parser.

import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildHostTree } from './helpers/host-tree.ts';
import { checkoutRoot, compileProfiles } from './helpers/apparmor-parser.ts';
import { emptyConfig, runCapture, type CliRun } from './helpers/cli.ts';

const dir = path.join(checkoutRoot, 'test/fixtures/golden');
const cases = fs.readdirSync(dir).filter((f) => f.endsWith('.xml')).map((f) => f.slice(0, -4)).sort();
const update = process.env['UPDATE_GOLDEN'] === '1';
const hostRoot = buildHostTree();

function transcript(run: CliRun): string {
  let text = run.stdout;
  if (run.stderr !== '') text += `--- stderr\n${run.stderr}`;
  if (run.code !== 0) text += `--- exit ${run.code}\n`;
  return text;
}

for (const name of cases) {
  test(`golden: ${name}`, async (t) => {
    const run = await runCapture(['generate', '--config-file', emptyConfig, '--root', hostRoot, path.join(dir, `${name}.xml`)]);
    const expectedFile = path.join(dir, `${name}.expected`);
    const actual = transcript(run);
    if (update) fs.writeFileSync(expectedFile, actual);
    t.is(actual, fs.readFileSync(expectedFile, 'utf8'));
    t.false(/\n\s+at /.test(run.stderr), 'no stack trace');
    if (name.startsWith('error-')) {
      t.is(run.code, 2);
      t.regex(run.stderr, /^virt-aa-hook: error: [^\n]+\n$/);
    } else {
      t.is(run.code, 0);
    }
  });
}

test('every golden profile compiles with apparmor_parser', async (t) => {
  const profiles: string[] = [];
  for (const name of cases.filter((n) => !n.startsWith('error-'))) {
    const run = await runCapture(['generate', '--config-file', emptyConfig, '--profile', '--root', hostRoot, path.join(dir, `${name}.xml`)]);
    t.is(run.code, 0, name);
    profiles.push(run.stdout);
  }
  const result = compileProfiles(profiles);
  t.true(result.ok, result.output);
});
