// The real outside world of a hook call, built from the configuration.

import * as path from 'node:path';
import { readRequiredFile } from '../apparmor/files.ts';
import { ProfileLoader } from '../apparmor/loader.ts';
import { withDomainLock } from '../apparmor/lock.ts';
import { appArmorEnabled, loadedProfiles, processLabel } from '../apparmor/status.ts';
import type { Config } from '../config.ts';
import { localFs } from '../host/host-fs.ts';
import type { StoreContext } from '../profile-files.ts';
import { readDriverFacts } from './libvirt-driver.ts';
import type { HookDeps } from './dispatch.ts';

export function storeContext(config: Config): StoreContext {
  const { paths } = config;
  const templatePath = path.join(paths.apparmorDir, 'virt-aa-hook', 'TEMPLATE.qemu');
  return {
    apparmorDir: paths.apparmorDir,
    stateDir: paths.stateDir,
    cacheDir: paths.cacheDir,
    templatePath,
    template: () => readRequiredFile(templatePath, 'profile template', ' (is virt-aa-hook installed?)'),
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

export function hookDeps(config: Config): HookDeps {
  const hostFs = localFs('/');
  let profiles: ReadonlyMap<string, string> | undefined;
  const loaded = (): ReadonlyMap<string, string> => (profiles ??= loadedProfiles(config.paths));
  return {
    config,
    fs: hostFs,
    store: storeContext(config),
    appArmor: () => appArmorEnabled(config.paths),
    loadedProfiles: loaded,
    driverFacts: () => readDriverFacts(hostFs, config.paths.libvirtConfigDir, loaded()),
    processLabel: (pid) => processLabel(pid),
    lock: (uuid, fn) => withDomainLock(path.join(config.paths.runDir, 'locks'), uuid, fn),
  };
}
