// Is libvirt's own AppArmor driver going to label this domain? Then libvirt
// runs virt-aa-helper (ours, once installed) for it and the hook stays out of
// the way. libvirt enables its driver when the kernel lists a profile named
// after the daemon (its full path, or `libvirtd`: security_apparmor.c
// use_apparmor) and qemu.conf allows it, and then labels every domain
// without a seclabel unless qemu.conf says otherwise. A guess here is checked
// later: from `start` on the XML carries the generated label, and `started`
// reads QEMU's own.

import type { Config } from '../config.ts';
import type { Domain } from '../domain/types.ts';
import type { HostFs } from '../host/host-fs.ts';
import { qemuConfValue } from '../host/qemu-conf.ts';

const daemonProfiles = ['libvirtd', '/usr/sbin/libvirtd', 'virtqemud', '/usr/sbin/virtqemud'];

export interface DriverFacts {
  readonly loadedProfiles: ReadonlyMap<string, string>;
  /** The text of qemu.conf, if readable. */
  readonly qemuConf: string | undefined;
}

export function libvirtDriverIsActive(facts: DriverFacts): boolean {
  const confined = daemonProfiles.some((name) => facts.loadedProfiles.has(name));
  const driver = facts.qemuConf === undefined ? undefined : qemuConfValue(facts.qemuConf, 'security_driver');
  const allowsAppArmor = driver === undefined || driver.includes('apparmor');
  return confined && allowsAppArmor;
}

/** Whether libvirt's driver is active here: as the configuration says, or (auto) as the host shows; facts are read only for auto. */
export function driverIsActive(config: Pick<Config, 'libvirtDriver'>, facts: () => DriverFacts): boolean {
  return config.libvirtDriver === 'auto' ? libvirtDriverIsActive(facts()) : config.libvirtDriver === 'active';
}

/** Whether libvirt's dynamic AppArmor labelling applies to this domain, once its driver is active. */
export function labelledByLibvirt(domain: Domain, facts: DriverFacts): boolean {
  // A seclabel without a model belongs to the first active driver, AppArmor here.
  const label = domain.seclabels.find((s) => s.model === 'apparmor') ?? domain.seclabels.find((s) => s.model === undefined);
  if (label !== undefined) return label.type === 'dynamic';
  const defaultConfined = facts.qemuConf === undefined ? undefined : qemuConfValue(facts.qemuConf, 'security_default_confined');
  return defaultConfined !== '0';
}

export function readDriverFacts(fs: HostFs, libvirtConfigDir: string, loadedProfiles: ReadonlyMap<string, string>): DriverFacts {
  return { loadedProfiles, qemuConf: fs.readText(`${libvirtConfigDir}/qemu.conf`) };
}
