// The real outside world of a hook call, built from the configuration.

import { appArmorEnabled, processLabel } from '../apparmor/status.ts';
import type { Config } from '../config.ts';
import type { HostFs } from '../host/host-fs.ts';
import { storeDeps } from '../store-deps.ts';
import { readDriverFacts } from './libvirt-driver.ts';
import type { HookDeps } from './dispatch.ts';

/** QEMU's pid from libvirt's status file `<run dir>/<name>.xml`, written by libvirtd as root: `<domstatus ... pid='N'>`. */
export function statusFilePid(fs: HostFs, qemuRunDir: string, domainName: string): number | undefined {
  const text = fs.readText(`${qemuRunDir}/${domainName}.xml`);
  const pid = text === undefined ? undefined : /<domstatus\b[^>]*\spid=['"](\d+)['"]/.exec(text)?.[1];
  return pid === undefined ? undefined : Number(pid);
}

export function hookDeps(config: Config): HookDeps {
  const store = storeDeps(config);
  return {
    ...store,
    appArmor: () => appArmorEnabled(config.paths),
    driverFacts: () => readDriverFacts(store.fs, config.paths.libvirtConfigDir, store.loadedProfiles()),
    processLabel: (pid) => processLabel(pid),
    qemuPid: (name) => statusFilePid(store.fs, config.layout.qemuRunDir, name),
  };
}
