// The e2e suite's own plumbing, checked without booting anything: the
// initramfs archive format (read back by the real cpio) and the result
// records the guest writes (escaped by guest/lib.sh, read by the host).

import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tmp from 'tmp';
import { cpioNewc } from './e2e/helpers/initramfs.ts';
import { parseResults, scenarioReport, stageTimes } from './e2e/helpers/results.ts';

const hasCpio = spawnSync('sh', ['-c', 'command -v cpio']).status === 0;

(hasCpio ? test : test.skip)('cpioNewc writes an archive cpio unpacks: directories, files with modes, symlinks', (t) => {
  const archive = cpioNewc([
    { name: 'bin', mode: 0o755 },
    { name: 'bin/busybox', mode: 0o755, data: Buffer.from('#!/bin/true\n') },
    { name: 'bin/sh', mode: 0o777, link: 'busybox' },
    { name: 'odd name.txt', mode: 0o600, data: Buffer.from('x'.repeat(5)) },
  ]);
  const dir = tmp.dirSync({ unsafeCleanup: true });
  const unpack = spawnSync('cpio', ['-idm', '--quiet', '--no-absolute-filenames'], { cwd: dir.name, input: archive });
  t.is(unpack.status, 0, unpack.stderr.toString());
  t.is(fs.readFileSync(path.join(dir.name, 'bin/busybox'), 'utf8'), '#!/bin/true\n');
  t.is(fs.statSync(path.join(dir.name, 'bin/busybox')).mode & 0o777, 0o755);
  t.is(fs.readlinkSync(path.join(dir.name, 'bin/sh')), 'busybox');
  t.is(fs.readFileSync(path.join(dir.name, 'odd name.txt'), 'utf8'), 'xxxxx');
  t.is(fs.statSync(path.join(dir.name, 'odd name.txt')).mode & 0o777, 0o600);
  dir.removeCallback();
});

test('result records: escapes undone, scenarios reported, stages timed, junk ignored', (t) => {
  const text = [
    'E2E\tstage\t-\tsetup\t1200',
    'E2E\tbegin\twrapper-mode\tdescription\tstart, confined',
    'E2E\tcheck\twrapper-mode\tvirsh start wrap\tok',
    'E2E\tcheck\twrapper-mode\tthe label\tfail: got \'unconfined\'\\nsecond line\\tand a tab \\\\n',
    'E2E\tfact\twrapper-mode\tdenial\taudit: apparmor="DENIED"',
    'E2E\tstage\twrapper-mode\tscenario wrapper-mode\t4500',
    'E2E\tresult\twrapper-mode\tresult\tFAIL',
    'a console line that is not a record',
    'E2E\tcheck\tonly\tfour fields',
    'E2E\tbogus\tx\ty\tz',
  ].join('\n');
  const records = parseResults(text);
  t.is(records.length, 7);
  const report = scenarioReport(records, 'wrapper-mode');
  t.deepEqual(report, {
    name: 'wrapper-mode',
    description: 'start, confined',
    result: 'FAIL',
    checks: [
      { what: 'virsh start wrap', ok: true, detail: 'ok' },
      { what: 'the label', ok: false, detail: "got 'unconfined'\nsecond line\tand a tab \\n" },
    ],
    facts: [{ key: 'denial', value: 'audit: apparmor="DENIED"' }],
    ms: 4500,
  });
  t.deepEqual([...stageTimes(records)], [['setup', 1200]]);
  t.is(scenarioReport(records, 'never-ran').result, undefined);
});
