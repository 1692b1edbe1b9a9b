// Bundles each entry point into one self-contained CommonJS file with a node
// shebang, so a hook call loads a single file and needs no node_modules.
import { build } from 'esbuild';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const entries = [
  { in: 'lib/cli/main.ts', out: 'dist/virt-aa-hook' },
  { in: 'hooks/qemu.ts', out: 'dist/hooks/qemu' },
  { in: 'lib/helper/main.ts', out: 'dist/virt-aa-helper' },
];

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
mkdirSync('dist/hooks', { recursive: true });
// The bundles are CommonJS; this keeps Node from reading them as ES modules
// because of the project's own "type": "module".
writeFileSync('dist/package.json', '{ "type": "commonjs" }\n');

for (const entry of entries) {
  await build({
    entryPoints: [entry.in],
    outfile: entry.out,
    bundle: true,
    platform: 'node',
    target: 'node18.19',
    format: 'cjs',
    banner: { js: '#!/usr/bin/env node\nconst __bundle_url = require("node:url").pathToFileURL(__filename).href;' },
    define: { 'import.meta.url': '__bundle_url', VIRT_AA_HOOK_VERSION: JSON.stringify(version) },
    legalComments: 'none',
    logLevel: 'warning',
  });
  chmodSync(entry.out, 0o755);
}
