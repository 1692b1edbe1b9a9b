// Golden files: test/fixtures/golden/<case>.xml through `generate`, against
// <case>.expected. `UPDATE_GOLDEN=1 npx ava test/golden.test.ts` rewrites the
// expectations; review them in the diff. Every profile produced is compiled
// by the real apparmor_parser. The configuration is this file's own, with a
// state directory holding the image records of
// test/fixtures/golden/records/<uuid>.json (locations of earlier starts).

import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import tmp from 'tmp';
import { buildHostTree } from './helpers/host-tree.ts';
import { checkoutRoot, compileProfiles } from './helpers/apparmor-parser.ts';
import { runCapture, type CliRun } from './helpers/cli.ts';

const dir = path.join(checkoutRoot, 'test/fixtures/golden');
const cases = fs.readdirSync(dir).filter((f) => f.endsWith('.xml')).map((f) => f.slice(0, -4)).sort();
const update = process.env['UPDATE_GOLDEN'] === '1';
const hostRoot = buildHostTree();

/** A configuration of the defaults, but for a state directory of its own that holds the recorded image locations. */
function goldenConfig(): string {
  const work = fs.realpathSync(tmp.dirSync({ unsafeCleanup: true }).name);
  const records = path.join(work, 'state/images');
  fs.mkdirSync(records, { recursive: true });
  for (const record of fs.readdirSync(path.join(dir, 'records'))) fs.copyFileSync(path.join(dir, 'records', record), path.join(records, record));
  const file = path.join(work, 'config.json');
  fs.writeFileSync(file, JSON.stringify({ paths: { stateDir: path.join(work, 'state') } }));
  return file;
}
const configFile = goldenConfig();

function transcript(run: CliRun): string {
  let text = run.stdout;
  if (run.stderr !== '') text += `--- stderr\n${run.stderr}`;
  if (run.code !== 0) text += `--- exit ${run.code}\n`;
  return text;
}

for (const name of cases) {
  test(`golden: ${name}`, async (t) => {
    const run = await runCapture(['generate', '--root', hostRoot, '--config-file', configFile, path.join(dir, `${name}.xml`)]);
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
    const run = await runCapture(['generate', '--profile', '--root', hostRoot, '--config-file', configFile, path.join(dir, `${name}.xml`)]);
    t.is(run.code, 0, name);
    profiles.push(run.stdout);
  }
  const result = compileProfiles(profiles);
  t.true(result.ok, result.output);
});
