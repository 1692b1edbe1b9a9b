// The real outside world of the profile store, built from the configuration:
// shared by the hook, virt-aa-helper and the admin commands, so all three
// write, load, lock and remove profiles the same way.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { readRequiredFile } from './apparmor/files.ts';
import { ProfileLoader } from './apparmor/loader.ts';
import { withDomainLock } from './apparmor/lock.ts';
import { domainTasks, loadedProfiles } from './apparmor/status.ts';
import type { Config } from './config.ts';
import { localFs } from './host/host-fs.ts';
import type { StoreContext, StoreDeps } from './profile-store.ts';

export function storeContext(config: Config): StoreContext {
  const { paths } = config;
  const templatePath = path.join(paths.apparmorDir, 'virt-aa-hook', 'TEMPLATE.qemu');
  return {
    apparmorDir: paths.apparmorDir,
    stateDir: paths.stateDir,
    cacheDir: paths.cacheDir,
    templatePath,
    template: () => readRequiredFile(templatePath, 'profile template', ' (is virt-aa-hook installed?)'),
    libvirtTemplate: () => {
      try {
        return fs.readFileSync(path.join(paths.apparmorDir, 'libvirt', 'TEMPLATE.qemu'), 'utf8');
      } catch {
        return undefined;
      }
    },
    loader: new ProfileLoader({
      parser: paths.apparmorParser,
      baseDir: paths.apparmorDir,
      includeDirs: paths.includeDirs,
      cacheDir: paths.cacheDir,
      featuresFile: paths.featuresFile,
      compileOnly: config.loader === 'compile-only',
    }),
  };
}

export interface SystemStoreDeps extends StoreDeps {
  /** Loaded profiles by name with their mode, read once per process. */
  readonly loadedProfiles: () => ReadonlyMap<string, string>;
}

export function storeDeps(config: Config): SystemStoreDeps {
  let profiles: ReadonlyMap<string, string> | undefined;
  const loaded = (): ReadonlyMap<string, string> => (profiles ??= loadedProfiles(config.paths));
  return {
    config,
    fs: localFs('/'),
    store: storeContext(config),
    loadedProfiles: loaded,
    // Compile-only never loads anything: what it compiled counts as in place.
    isLoaded: (name) => config.loader === 'compile-only' || loaded().has(name),
    tasksOf: (uuid) => (config.loader === 'compile-only' ? [] : domainTasks(uuid)),
    lock: (uuid, fn) => withDomainLock(path.join(config.paths.runDir, 'locks'), uuid, fn),
  };
}
