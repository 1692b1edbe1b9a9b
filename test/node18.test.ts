// The bundled entry points must run on Node 18.19+, the Node of Ubuntu 24.04
// and Debian 12, although development uses Node 20.

import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import tmp from 'tmp';
import { checkoutRoot } from './helpers/apparmor-parser.ts';
import { node18, node18Version } from './helpers/node18.ts';

const cli = path.join(checkoutRoot, 'dist', 'virt-aa-hook');
const example = path.join(checkoutRoot, 'test/fixtures/example-vm.xml');
const found = node18();

if ('missing' in found) {
  test.skip(`built files on Node 18: ${found.missing}`, () => {});
} else {
  test(`the built CLI runs on Node ${node18Version} exactly as on this Node`, (t) => {
    t.is(execFileSync(found.path, ['--version'], { encoding: 'utf8' }).trim(), `v${node18Version}`);
    const args = [cli, 'generate', '--profile', '--explain', example];
    const old = spawnSync(found.path, args, { encoding: 'utf8' });
    const current = spawnSync(process.execPath, args, { encoding: 'utf8' });
    t.is(old.status, 0, old.stderr);
    t.is(old.stdout, current.stdout);
    t.is(old.stderr, current.stderr);
    const help = spawnSync(found.path, [cli, '--help'], { encoding: 'utf8' });
    t.is(help.status, 0, help.stderr);
    t.regex(help.stdout, /generate \[file\]/);
  });

  test(`a refusal on Node ${node18Version} is one line with exit code 2`, (t) => {
    const run = spawnSync(found.path, [cli, 'generate', '-'], { input: '<dom', encoding: 'utf8' });
    t.is(run.status, 2);
    t.is(run.stderr, 'virt-aa-hook: error: cannot read domain XML: malformed at line 1: Unclosed tag \'dom\'.\n');
  });

  test(`one code cache directory for Node ${node18Version} and this Node: each finds the other's cache stale and runs the same`, (t) => {
    const cacheDir = fs.realpathSync(tmp.dirSync({ unsafeCleanup: true }).name);
    fs.chmodSync(cacheDir, 0o755);
    const cacheFile = path.join(cacheDir, 'virt-aa-hook.generate.cache');
    const generate = (node: string) => spawnSync(node, [cli, 'generate', '--profile', example], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', VIRT_AA_HOOK_CODE_CACHE: cacheDir } });
    const versionOf = (): string | undefined => / node (v[\d.]+) /.exec(fs.readFileSync(cacheFile, 'latin1').split('\n')[0] ?? '')?.[1];
    const current = generate(process.execPath);
    t.is(versionOf(), process.version);
    for (const node of [found.path, found.path, process.execPath]) {
      const run = generate(node);
      t.is(run.status, 0, run.stderr);
      t.is(run.stdout, current.stdout);
      t.is(run.stderr, current.stderr);
    }
    t.is(versionOf(), process.version, 'each rewrote it for itself');
  });
}
