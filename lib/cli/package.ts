// `virt-aa-hook manifest` prints what an installation consists of
// (lib/install/manifest.ts) for debian/rules, the RPM spec and
// scripts/install; `virt-aa-hook stage DIR` writes every file of it below
// DIR: bundles with their `#!<node>` shebang, the hook's profile naming that
// node, the man pages from this program's own help and yargs' bash completion.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Argv } from 'yargs';
import { defaultPaths, freshInstallConfigText } from '../config.ts';
import { UsageError, errnoCode, HostError } from '../errors.ts';
import { helperPage, hookPage, parseHelp, programPage } from '../install/man.ts';
import {
  activations,
  cliLink,
  configDir,
  files,
  flavours,
  hookPath,
  hookProfilePath,
  installRecordPath,
  libDir,
  manifest,
  manifestLines,
  movedHookPath,
  packageName,
  purgeDirs,
  rpmFiles,
  shippedHelperPath,
  shippedHookPath,
  syncUnit,
  codeCacheDir,
  triggerPaths,
  type Entry,
  type Flavour,
  type ManPage,
  type TargetFacts,
} from '../install/manifest.ts';
import { packageRoot } from '../package-root.ts';
import type { GlobalArgs } from './context.ts';
import type { CliIo } from './io.ts';
import { shellQuote } from './paths.ts';

declare const VIRT_AA_HOOK_VERSION: string | undefined;
const version = typeof VIRT_AA_HOOK_VERSION === 'string' ? VIRT_AA_HOOK_VERSION : 'development';

const formats = ['lines', 'rpm-files', 'conffiles', 'triggers', 'purge-dirs', 'activations', 'shell', 'env'] as const;
type Format = (typeof formats)[number];

export interface ManifestArgs extends GlobalArgs {
  readonly flavour: Flavour;
  readonly format: Format;
  readonly root: string | undefined;
}

export interface StageArgs extends ManifestArgs {
  readonly dir: string;
  readonly node: string;
  readonly 'resolved-node': string | undefined;
  readonly from: string | undefined;
}

const flavourOption = { choices: flavours, default: 'local' as Flavour, describe: 'deb: the Debian package, rpm: the RPM, local: scripts/install' } as const;
const rootOption = { type: 'string', describe: 'for --flavour local: decide what depends on the target (systemd, APT) from the system below this directory' } as const;

export function manifestBuilder(y: Argv): Argv<ManifestArgs> {
  return y
    .option('flavour', flavourOption)
    .option('format', {
      choices: formats,
      default: 'lines' as Format,
      describe:
        'lines: one tab-separated line per entry (file MODE SHEBANG CONFFILE TARGET, link TARGET TO, dir MODE TARGET); rpm-files: the RPM %files section; conffiles; triggers: the paths of the dpkg trigger; purge-dirs; activations: what an install changes in files not its own; shell: the layout as NAME=\'value\' lines; env: the layout as VAH_NAME=value lines (debhelper\'s #ENV.VAH_NAME# in the maintainer scripts)',
    })
    .option('root', rootOption) as unknown as Argv<ManifestArgs>;
}

export function stageBuilder(y: Argv): Argv<StageArgs> {
  return manifestBuilder(y)
    .positional('dir', { type: 'string', describe: 'the staging directory (DESTDIR)' })
    .option('node', { type: 'string', default: '/usr/bin/node', describe: 'the node of the shebangs (an absolute path of plain characters)' })
    .option('resolved-node', { type: 'string', describe: "that node's real path, also named in the hook's profile (default: as it resolves here, if it exists)" })
    .option('from', { type: 'string', describe: 'the built checkout to take the files from (default: the one this program runs from)' }) as unknown as Argv<StageArgs>;
}

function rootOf(root: string | undefined): string {
  return root === undefined || root === '/' ? '' : path.resolve(root);
}

/** What the target has, as scripts/install decides it: a running systemd (under --root: systemd's directory), APT's configuration directory. */
function targetFacts(root: string): TargetFacts {
  return {
    systemd: root === '' ? fs.existsSync('/run/systemd/system') : fs.existsSync(`${root}/etc/systemd/system`),
    apt: fs.existsSync(`${root}/etc/apt/apt.conf.d`),
  };
}

/** The checkout's files below apparmor.d/, relative to it. */
function policyFiles(from: string): string[] {
  const result: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(path.join(from, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (entry.isFile()) result.push(rel);
    }
  };
  walk('apparmor.d');
  return result;
}

function entriesFor(args: ManifestArgs, from: string): readonly Entry[] {
  return manifest(args.flavour, policyFiles(from), targetFacts(rootOf(args.root)));
}

/** The layout scripts/install and the maintainer scripts act on, from the one owner of each path. */
function layout(flavour: Flavour): readonly (readonly [string, string])[] {
  return [
    ['libDir', libDir],
    ['cliLink', cliLink],
    ['hookPath', hookPath],
    ['movedHookPath', movedHookPath],
    ['shippedHookPath', shippedHookPath],
    ['shippedHelperPath', flavour === 'deb' ? '' : shippedHelperPath],
    ['hookProfilePath', hookProfilePath],
    ['configDir', configDir],
    ['installRecordPath', installRecordPath],
    ['syncUnit', syncUnit],
    ['packageName', packageName],
    ['purgeDirs', purgeDirs.join(':')],
    ['libvirtHelper', defaultPaths.libvirtHelper],
    ['originalHelper', defaultPaths.originalHelper],
  ];
}

export function runManifest(args: ManifestArgs, io: CliIo): void {
  const entries = entriesFor(args, packageRoot());
  const print = (lines: readonly string[]): void => io.stdout(lines.map((l) => `${l}\n`).join(''));
  switch (args.format) {
    case 'lines':
      return io.stdout(manifestLines(entries));
    case 'rpm-files':
      return io.stdout(rpmFiles(entries));
    case 'conffiles':
      return print(files(entries).flatMap((e) => (e.conffile ? [e.target] : [])));
    case 'triggers':
      return print(triggerPaths);
    case 'purge-dirs':
      return print(purgeDirs);
    case 'activations':
      return print(activations(args.flavour).map((a) => `${a.name}\t${a.what}`));
    case 'shell':
      return print(layout(args.flavour).map(([key, value]) => `${key}=${shellQuote(value)}`));
    case 'env':
      // Plain paths only (checked): the values go unquoted into make's command line and the maintainer scripts.
      return print(layout(args.flavour).map(([key, value]) => {
        if (!/^[A-Za-z0-9._+/:-]*$/.test(value)) throw new UsageError(`the layout's ${key} "${value}" is not a plain path`);
        return `VAH_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}=${value}`;
      }));
  }
}

const plainPath = /^\/[A-Za-z0-9._+/-]+$/;

/** The shebang's node, and the values of the hook profile's `@{node}` (both paths AppArmor may see). */
function nodeOf(args: StageArgs): { readonly shebang: string; readonly values: readonly string[] } {
  for (const value of [args.node, args['resolved-node']]) {
    if (value !== undefined && (!plainPath.test(value) || value.length > 120)) throw new UsageError(`node path "${value}" must be an absolute path of plain characters, at most 120 long: it becomes a shebang and an AppArmor rule`);
  }
  let resolved = args['resolved-node'];
  if (resolved === undefined) {
    try {
      resolved = fs.realpathSync(args.node);
    } catch {
      resolved = args.node;
    }
  }
  return { shebang: args.node, values: [...new Set([args.node, resolved])] };
}

function readFrom(from: string, rel: string): Buffer {
  try {
    return fs.readFileSync(path.join(from, rel));
  } catch (error) {
    throw new HostError(`cannot read "${path.join(from, rel)}": ${errnoCode(error)}${rel.startsWith('dist/') ? ' (run npm ci: it builds dist/)' : ''}`, { path: rel });
  }
}

/** The build's line 3 of a bundle: no code cache, so a checkout's dist/ never writes outside it. */
const buildCacheLine = 'const virtAaHookCodeCacheDir = null;';

/** A bundle as installed: `#!<node>` first, and its third line naming the code cache. */
function installedBundle(bytes: Buffer, node: string): Buffer {
  const [shebang = '', second = '', third = '', ...rest] = bytes.toString('utf8').split('\n');
  if (!/^#!.*node/.test(shebang) || third !== buildCacheLine) throw new HostError('a bundle does not start as the build writes it (a node shebang, then the code cache line): rebuild with npm run build');
  return Buffer.from([`#!${node}`, second, `const virtAaHookCodeCacheDir = ${JSON.stringify(codeCacheDir)};`, ...rest].join('\n'));
}

/** Each page's text; the program's page from its own `--help` and each listed command's. */
async function manPages(printed: (tokens: readonly string[]) => Promise<string>): Promise<ReadonlyMap<ManPage, string>> {
  const top = await printed(['--help']);
  const commands = new Map<string, string>();
  for (const entry of parseHelp(top).blocks.get('Commands') ?? []) {
    const name = entry.term.split(/\s+/)[1];
    if (name !== undefined) commands.set(name, await printed([name, '--help']));
  }
  return new Map<ManPage, string>([
    ['virt-aa-hook', programPage(version, top, commands)],
    ['virt-aa-hook-qemu', hookPage(version)],
    ['virt-aa-hook-helper', helperPage(version)],
  ]);
}

export async function runStage(args: StageArgs, io: CliIo, printed: (tokens: readonly string[]) => Promise<string>): Promise<void> {
  const from = args.from === undefined ? packageRoot() : path.resolve(args.from);
  const dir = path.resolve(args.dir);
  const node = nodeOf(args);
  const entries = entriesFor(args, from);
  const pages = await manPages(printed);
  const completion = (await printed(['completion'])).replace(/\n*$/, '\n');
  for (const entry of entries) {
    const target = path.join(dir, entry.target);
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
    if (entry.kind === 'dir') {
      fs.mkdirSync(target, { recursive: true, mode: entry.mode });
      continue;
    }
    if (entry.kind === 'link') {
      fs.rmSync(target, { force: true });
      fs.symlinkSync(entry.to, target);
      continue;
    }
    const source = entry.source;
    let bytes: Buffer;
    switch (source.kind) {
      case 'build':
        bytes = readFrom(from, source.path);
        break;
      case 'hook-profile': {
        const text = readFrom(from, source.path).toString('utf8');
        if (text.match(/^@\{node\} = .*$/gm)?.length !== 1) throw new HostError(`${source.path} has no single "@{node} = " line`);
        bytes = Buffer.from(text.replace(/^@\{node\} = .*$/m, `@{node} = ${node.values.join(' ')}`));
        break;
      }
      case 'man':
        bytes = Buffer.from(pages.get(source.page) ?? '');
        break;
      case 'completion':
        bytes = Buffer.from(completion);
        break;
      case 'fresh-config':
        bytes = Buffer.from(freshInstallConfigText);
        break;
    }
    if (entry.shebang) bytes = installedBundle(bytes, node.shebang);
    fs.writeFileSync(target, bytes, { mode: entry.mode });
    fs.chmodSync(target, entry.mode);
  }
  io.stdout(`staged ${entries.length} entries of the ${args.flavour} flavour below ${dir}\n`);
}
