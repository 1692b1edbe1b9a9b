// Bundles each entry point into one self-contained CommonJS file with a node
// shebang, so a call loads a single file and needs no node_modules. Each file
// is the code-cache loader (lib/code-cache-boot.ts) followed by the bundle in
// a comment: the loader runs it from V8's code cache where it has one.
import { createHash } from 'node:crypto';
import { build } from 'esbuild';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const entries = [
  { in: 'lib/cli/main.ts', out: 'dist/virt-aa-hook', kind: 'cli' },
  { in: 'hooks/qemu.ts', out: 'dist/hooks/qemu', kind: 'hook' },
  { in: 'lib/helper/main.ts', out: 'dist/virt-aa-helper', kind: 'helper' },
];

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
mkdirSync('dist/hooks', { recursive: true });
// The bundles are CommonJS; this keeps Node from reading them as ES modules
// because of the project's own "type": "module".
writeFileSync('dist/package.json', '{ "type": "commonjs" }\n');

const common = { bundle: true, write: false, platform: 'node', target: 'node18.19', legalComments: 'none', logLevel: 'warning', minifyWhitespace: true };
/**
 * esbuild gives every `import * as fs from 'node:fs'` a fresh namespace
 * object with a getter per property of the module: 19 copies of fs and path
 * per call, about 1.5 ms of a hook call. Our code only reads properties,
 * which Node's own module object has too, so it is used as it is.
 */
const builtinNamespace = /__toESM\(((?:__)?require\("node:[a-z_/]+"\))(?:, ?1)?\)/g;
const text = async (options) => (await build({ ...common, ...options })).outputFiles[0].text.replace(builtinNamespace, '$1');

// How the bundle is stored after the loader: lib/code-cache.ts owns it, the build only uses it.
const { encodePayload } = await import(`data:text/javascript;base64,${Buffer.from(await text({ entryPoints: ['lib/code-cache.ts'], format: 'esm' })).toString('base64')}`);

for (const entry of entries) {
  const code = await text({
    entryPoints: [entry.in],
    format: 'cjs',
    define: { 'import.meta.url': '__bundle_url', VIRT_AA_HOOK_VERSION: JSON.stringify(version) },
  });
  const name = entry.out.split('/').at(-1);
  const sha256 = createHash('sha256').update(code).digest('hex');
  const loader = await text({ entryPoints: ['lib/code-cache-boot.ts'], format: 'iife', define: { VIRT_AA_HOOK_BUNDLE: JSON.stringify({ name, sha256, kind: entry.kind }) } });
  // Line 2 is what the installer recognises a bundle of ours by; line 3 it fills in with the cache directory.
  const head = ['#!/usr/bin/env node', 'const __bundle_url = require("node:url").pathToFileURL(__filename).href;', 'const virtAaHookCodeCacheDir = null;'];
  writeFileSync(entry.out, `${head.join('\n')}\n${loader}${encodePayload(code)}`);
  chmodSync(entry.out, 0o755);
}
