// Is libvirt's own AppArmor driver going to label this domain? Then its
// confinement is libvirt's business and the hook stays out of the way.
// libvirt's driver only enables itself when the daemon is confined, and then
// labels every domain without a seclabel unless qemu.conf says otherwise.

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

/** Whether libvirt's dynamic AppArmor labelling applies to this domain. */
export function labelledByLibvirt(domain: Domain, driverActive: boolean, facts: DriverFacts): boolean {
  if (!driverActive) return false;
  // A seclabel without a model belongs to the first active driver, AppArmor here.
  const label = domain.seclabels.find((s) => s.model === 'apparmor') ?? domain.seclabels.find((s) => s.model === undefined);
  if (label !== undefined) return label.type === 'dynamic';
  const defaultConfined = facts.qemuConf === undefined ? undefined : qemuConfValue(facts.qemuConf, 'security_default_confined');
  return defaultConfined !== '0';
}

export function readDriverFacts(fs: HostFs, libvirtConfigDir: string, loadedProfiles: ReadonlyMap<string, string>): DriverFacts {
  return { loadedProfiles, qemuConf: fs.readText(`${libvirtConfigDir}/qemu.conf`) };
}
