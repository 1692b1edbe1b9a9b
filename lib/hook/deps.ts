// The real outside world of a hook call, built from the configuration.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { readRequiredFile } from '../apparmor/files.ts';
import { ProfileLoader } from '../apparmor/loader.ts';
import { withDomainLock } from '../apparmor/lock.ts';
import { appArmorEnabled, domainTasks, loadedProfiles, processLabel } from '../apparmor/status.ts';
import type { Config } from '../config.ts';
import { localFs, type HostFs } from '../host/host-fs.ts';
import type { StoreContext } from '../profile-store.ts';
import { readDriverFacts } from './libvirt-driver.ts';
import type { HookDeps } from './dispatch.ts';

/** QEMU's pid from libvirt's status file `<run dir>/<name>.xml`, written by libvirtd as root: `<domstatus ... pid='N'>`. */
export function statusFilePid(fs: HostFs, qemuRunDir: string, domainName: string): number | undefined {
  const text = fs.readText(`${qemuRunDir}/${domainName}.xml`);
  const pid = text === undefined ? undefined : /<domstatus\b[^>]*\spid=['"](\d+)['"]/.exec(text)?.[1];
  return pid === undefined ? undefined : Number(pid);
}

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
    // Compile-only never loads anything: what it compiled counts as in place.
    isLoaded: (name) => config.loader === 'compile-only' || loaded().has(name),
    tasksOf: (uuid) => (config.loader === 'compile-only' ? [] : domainTasks(uuid)),
    driverFacts: () => readDriverFacts(hostFs, config.paths.libvirtConfigDir, loaded()),
    processLabel: (pid) => processLabel(pid),
    qemuPid: (name) => statusFilePid(hostFs, config.layout.qemuRunDir, name),
    lock: (uuid, fn) => withDomainLock(path.join(config.paths.runDir, 'locks'), uuid, fn),
  };
}
