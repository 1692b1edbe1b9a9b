// `virt-aa-hook setup`: the host files besides profiles (emulator wrappers,
// the daemons' PATH drop-in, a fresh install's configuration), gathered,
// planned by lib/host-setup.ts and written here. scripts/install and
// scripts/uninstall run it (with --root for a staging directory); `sync` runs
// the same at boot and after a QEMU upgrade.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Argv } from 'yargs';
import { readRequiredFile, removeIfExists, writeFileAtomically } from '../apparmor/files.ts';
import { runCommand, type CommandRunner } from '../apparmor/runner.ts';
import { defaultConfigPath, defaultPaths, freshInstallConfigText, loadConfig, type Config } from '../config.ts';
import { daemonPath, daemonUnits } from '../daemon-path.ts';
import { errnoCode, HostError } from '../errors.ts';
import { daemonPathFiles, planSetup, type Change, type FileFact, type SetupFacts, type SetupPaths } from '../host-setup.ts';
import { hookDeps } from '../hook/deps.ts';
import { driverIsActive, type DriverFacts } from '../hook/libvirt-driver.ts';
import { packageRoot } from '../package-root.ts';
import { emulatorSet, type EmulatorSet } from '../wrapper.ts';
import type { GlobalArgs } from './context.ts';
import type { CliIo } from './io.ts';

export interface SetupArgs extends GlobalArgs {
  readonly root: string | undefined;
  readonly 'dry-run': boolean | undefined;
  readonly remove: boolean | undefined;
  readonly 'fresh-install': boolean | undefined;
  readonly restart: boolean | undefined;
}

export function setupBuilder(y: Argv): Argv<SetupArgs> {
  return y
    .option('root', { type: 'string', describe: 'act below this directory (a staging root): no daemon is restarted, libvirt\'s driver counts as inactive unless the configuration says "active"' })
    .option('dry-run', { type: 'boolean', describe: 'print what would change; change nothing' })
    .option('remove', { type: 'boolean', describe: 'remove the wrappers and the PATH drop-in (uninstall)' })
    .option('fresh-install', { type: 'boolean', describe: 'also write the configuration of a fresh install (policy "require") when there is none' })
    .option('restart', { type: 'boolean', default: true, describe: 'restart the daemons (systemd) when their PATH changed; --no-restart only says how' })
    .option('print-paths', { type: 'boolean', describe: 'print the emulator and legacy wrapper directories, one "key value" line each, and nothing else' }) as unknown as Argv<SetupArgs>;
}

const maxTextBytes = 64 * 1024;

function readFact(file: string): FileFact | undefined {
  let stats: fs.Stats;
  try {
    stats = fs.statSync(file);
  } catch {
    return undefined;
  }
  if (!stats.isFile()) return undefined;
  let text: string | undefined;
  if (stats.size <= maxTextBytes) {
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      text = undefined;
    }
  }
  return { text, ctimeMs: stats.ctimeMs };
}

/** Regular files below a directory, by host path (dot files are temp files of an atomic write). */
function filesBelow(root: string, dir: string): Map<string, FileFact> {
  const result = new Map<string, FileFact>();
  const walk = (hostDir: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(root + hostDir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const hostPath = `${hostDir}/${entry.name}`;
      if (entry.isDirectory()) walk(hostPath);
      else {
        const fact = readFact(root + hostPath);
        if (fact !== undefined) result.set(hostPath, fact);
      }
    }
  };
  walk(dir);
  return result;
}

const isExecutableIn = (root: string) => (file: string): boolean => {
  try {
    const stats = fs.statSync(root + file);
    return stats.isFile() && (stats.mode & 0o111) !== 0;
  } catch {
    return false;
  }
};

/** Whether systemd runs the daemons: a running systemd, or for a staging root one that has systemd's directory (as scripts/install decides). */
function systemdManages(root: string, paths: SetupPaths): boolean {
  return root === '' ? fs.existsSync('/run/systemd/system') : fs.existsSync(root + paths.systemdDir);
}

/** The emulators the host (or a staging root) has, as the daemon's PATH finds them. */
export function hostEmulators(root = ''): EmulatorSet {
  return emulatorSet((dir) => {
    try {
      return fs.readdirSync(root + dir);
    } catch {
      return [];
    }
  }, isExecutableIn(root));
}

export function gatherSetupFacts(root: string, config: Config, driverFacts: () => DriverFacts): SetupFacts {
  const { paths } = config;
  const emulators = hostEmulators(root);
  const wrappers = filesBelow(root, paths.emulatorDir);
  const byPathReal = [...wrappers.keys()].flatMap((file) => (file.startsWith(`${paths.emulatorDir}/by-path/`) ? [file.slice(`${paths.emulatorDir}/by-path`.length)] : []));
  const emulatorFiles = new Map<string, FileFact>();
  for (const real of [...emulators.values(), ...byPathReal]) {
    const fact = readFact(root + real);
    if (fact !== undefined && isExecutableIn(root)(real)) emulatorFiles.set(real, { text: undefined, ctimeMs: fact.ctimeMs });
  }
  const daemonFiles = new Map(daemonPathFiles(paths).map((file) => [file, readFact(root + file)?.text]));
  return {
    emulators,
    template: readRequiredFile(path.join(packageRoot(), 'scripts', 'qemu-wrapper'), 'the emulator wrapper template'),
    wrappers,
    emulatorFiles,
    systemd: systemdManages(root, paths),
    // A staging root has no kernel to ask: only the configuration can say "active".
    driverActive: root === '' ? driverIsActive(config, driverFacts) : config.libvirtDriver === 'active',
    daemonFiles,
  };
}

/** Removes directories left empty, from `dir` up to (not including) `stop`. */
function removeEmptyParents(dir: string, stop: string): void {
  for (let current = dir; current.startsWith(`${stop}/`); current = path.dirname(current)) {
    try {
      fs.rmdirSync(current);
    } catch {
      return;
    }
  }
}

export function applyChange(root: string, change: Change, stopAt: (file: string) => string): void {
  const file = root + change.path;
  switch (change.kind) {
    case 'write': {
      let mode = change.mode;
      if (mode === undefined) {
        try {
          mode = fs.statSync(file).mode & 0o7777;
        } catch (error) {
          throw new HostError(`cannot read "${file}": ${errnoCode(error)}`, { path: file });
        }
      }
      writeFileAtomically(file, change.content, mode);
      return;
    }
    case 'touch': {
      const now = new Date();
      try {
        fs.utimesSync(file, now, now);
      } catch (error) {
        throw new HostError(`cannot touch "${file}": ${errnoCode(error)}`, { path: file });
      }
      return;
    }
    case 'remove':
      removeIfExists(file);
      removeEmptyParents(path.dirname(file), root + stopAt(change.path));
  }
}

const verbs = { write: ['wrote', 'would write'], touch: ['touched', 'would touch'], remove: ['removed', 'would remove'] } as const;

export interface SetupOptions {
  readonly root: string;
  readonly dryRun: boolean;
  readonly remove: boolean;
  readonly restart: boolean;
}

/**
 * A changed PATH reaches a daemon only at its restart (SIGHUP keeps its
 * environment): systemd's daemons are restarted if they run, without
 * waiting (at boot this runs before them); elsewhere the command is printed.
 */
function restartDaemons(config: Config, options: SetupOptions, systemd: boolean, io: CliIo, run: CommandRunner): void {
  const value = daemonPath(config.paths.emulatorDir);
  const units = daemonUnits.join(' ');
  // Drop-ins elsewhere (tests) are not what systemd reads.
  if (systemd && config.paths.systemdDir === defaultPaths.systemdDir && options.restart && !options.dryRun) {
    const reload = run('systemctl', ['daemon-reload']);
    const restart = reload.code === 0 ? run('systemctl', ['--no-block', 'try-restart', ...daemonUnits]) : reload;
    if (restart.code === 0) {
      io.stdout(`restarting ${units} where they run, for their new PATH (running guests keep running)\n`);
      return;
    }
    io.stderr(`virt-aa-hook: warning: systemctl failed (${restart.stderr.trim().split('\n')[0] ?? ''}): run 'systemctl daemon-reload && systemctl try-restart ${units}'`);
    return;
  }
  if (systemd) {
    io.stdout(`the daemons' PATH changed: run 'systemctl daemon-reload && systemctl try-restart ${units}' (running guests keep running)\n`);
  } else if (fs.existsSync(`${options.root}/etc/init.d/libvirtd`)) {
    io.stdout(`libvirtd's PATH changed: run '/etc/init.d/libvirtd restart' (running guests keep running)\n`);
  } else {
    io.stdout(`libvirtd's PATH changed: restart libvirtd with PATH=${value} in its environment, e.g. kill "$(cat /run/libvirtd.pid)"; PATH=${value} libvirtd -d\n`);
  }
}

/** Plans and applies the host files; returns whether the daemons' PATH changed. */
export function runHostSetup(config: Config, driverFacts: () => DriverFacts, options: SetupOptions, io: CliIo, run: CommandRunner = runCommand): boolean {
  const facts = gatherSetupFacts(options.root, config, driverFacts);
  const changes = planSetup(config.paths, facts, options.remove);
  const stopAt = (file: string): string => (file.startsWith(`${config.paths.emulatorDir}/`) ? path.dirname(config.paths.emulatorDir) : config.paths.systemdDir);
  for (const change of changes) {
    if (!options.dryRun) applyChange(options.root, change, stopAt);
    io.stdout(`${verbs[change.kind][options.dryRun ? 1 : 0]} ${options.root}${change.path}: ${change.why}\n`);
  }
  const pathChanged = changes.some((c) => c.kind !== 'touch' && c.daemonPath);
  if (pathChanged) restartDaemons(config, options, facts.systemd, io, run);
  return pathChanged;
}

export function runSetup(args: SetupArgs, io: CliIo): void {
  const root = args.root === undefined || args.root === '/' ? '' : path.resolve(args.root);
  // Below a staging root the configuration is the staged one.
  const configFile = root === '' ? args['config-file'] : root + (args['config-file'] ?? defaultConfigPath);
  const config = loadConfig(configFile);
  const options: SetupOptions = { root, dryRun: args['dry-run'] === true, remove: args.remove === true, restart: args.restart !== false };
  if (args['fresh-install'] === true && !options.remove) {
    const file = configFile ?? process.env['VIRT_AA_HOOK_CONFIG'] ?? defaultConfigPath;
    if (!fs.existsSync(file)) {
      if (!options.dryRun) writeFileAtomically(file, freshInstallConfigText);
      io.stdout(`${options.dryRun ? 'would write' : 'wrote'} ${file}: a fresh install requires confinement ("policy": "require")\n`);
    }
  }
  runHostSetup(config, hookDeps(config).driverFacts, options, io);
}
