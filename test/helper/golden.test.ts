// Every golden case of test/fixtures/golden through virt-aa-helper's command
// line (`-d -r -u libvirt-<uuid>`, in process, on the same host tree): the
// rules it would write are exactly what `generate` prints, and a domain
// `generate` refuses is refused by the helper with the same line. One code
// path from XML to rules: the hook, the helper and generate cannot disagree.

import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseHelperArgv } from '../../lib/helper/argv.ts';
import { runHelper } from '../../lib/helper/run.ts';
import { localFs } from '../../lib/host/host-fs.ts';
import { checkoutRoot } from '../helpers/apparmor-parser.ts';
import { emptyConfig, runCapture } from '../helpers/cli.ts';
import { hookEnv } from '../helpers/hook-env.ts';
import { buildHostTree } from '../helpers/host-tree.ts';

const dir = path.join(checkoutRoot, 'test/fixtures/golden');
const cases = fs.readdirSync(dir).filter((f) => f.endsWith('.xml')).map((f) => f.slice(0, -4)).sort();
const hostRoot = buildHostTree();

for (const name of cases) {
  test(`golden through virt-aa-helper: ${name}`, async (t) => {
    const file = path.join(dir, `${name}.xml`);
    const xml = fs.readFileSync(file, 'utf8');
    const uuid = /<uuid>\s*([^<]*?)\s*<\/uuid>/.exec(xml)?.[1];
    if (uuid === undefined) return t.pass('no UUID: libvirt never runs its helper without one');
    const generated = await runCapture(['generate', '--config-file', emptyConfig, '--root', hostRoot, file]);
    const env = hookEnv();
    const outcome = runHelper(parseHelperArgv(['-d', '-r', '-u', `libvirt-${uuid}`]), { ...env.deps(), fs: localFs(hostRoot), readXml: () => xml });
    if (outcome.kind !== 'done') {
      // Not ours to confine: libvirt's own helper takes it.
      t.regex(generated.stderr, /unsupported domain type/);
      return t.regex(outcome.reason, /is not one virt-aa-hook confines/);
    }
    if (generated.code === 0) {
      t.is(outcome.exitCode, 0, outcome.stderr.join('\n'));
      const rules = outcome.stderr[outcome.stderr.indexOf(env.filesFile(uuid.toLowerCase())) + 2];
      t.is(rules, generated.stdout);
    } else if (/invalid UUID/.test(outcome.stderr.join(''))) {
      // The profile name comes from the UUID: libvirt never runs its helper for a domain without a valid one.
      t.is(outcome.exitCode, 1);
      t.regex(generated.stderr, /uuid/i);
    } else {
      t.is(outcome.exitCode, 1);
      t.deepEqual(outcome.stderr, generated.stderr.trimEnd().split('\n').filter((l) => l.startsWith('virt-aa-hook: error:')));
    }
  });
}
