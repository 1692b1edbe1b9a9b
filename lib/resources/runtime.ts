// Files libvirt creates for every running domain and hands to QEMU by path:
// the private directory (monitor, master key, auto-generated sockets), the
// channel directory, the pid file, the log and screenshots; and the emulator
// binary itself, which libvirt execs after switching to the profile. The
// managed-save image gets no rule: libvirt opens it and hands QEMU a
// descriptor, and a QEMU that could write it would choose the definition the
// next `virsh start` restores.

import { shortNameNeedsId, shortNameVariants } from '../host/layout.ts';
import { fileAccess, notice, patternAccess, reason, treePattern, type Access } from '../profile/access.ts';
import type { ResourceModule } from './resource.ts';

export const runtime: ResourceModule = {
  name: 'runtime',
  accesses: ({ domain, layout }) => {
    const { name, id } = domain;
    const result: Access[] = [];
    if (shortNameNeedsId(id, name)) {
      result.push(notice("the domain's id is not known yet and its name is 20 bytes or longer: its per-domain directories get rules at the prepare event, which knows the id", reason('domain', 'per-domain directories')));
    }
    for (const shortName of shortNameVariants(id, name)) {
      result.push(
        ...treePattern([`${layout.qemuLibDir}/domain-`, ...shortName], 'rwk', reason('domain', 'private directory (monitor socket, master key, generated sockets)')),
        // libvirt < 9.x kept channel sockets below the lib dir, later versions below the run dir.
        ...treePattern([`${layout.qemuLibDir}/channel/target/domain-`, ...shortName], 'rw', reason('domain', 'channel socket directory')),
        ...treePattern([`${layout.qemuRunDir}/channel/`, ...shortName], 'rw', reason('domain', 'channel socket directory')),
      );
    }
    result.push(
      fileAccess(`${layout.qemuRunDir}/${name}.pid`, 'rwk', reason('domain', 'pid file'), 'derived'),
      fileAccess(`${layout.qemuLogDir}/${name}.log`, 'w', reason('domain', 'log (when qemu.conf sets stdio_handler = "file")'), 'derived'),
      patternAccess([`${layout.qemuCacheDir}/qemu.screendump.`, { wildcard: 'any' }], 'rw', reason('domain', 'virsh screenshot')),
    );
    if (domain.statusMonitorPath !== undefined) {
      result.push(fileAccess(domain.statusMonitorPath, 'rw', reason('domain status', 'monitor socket')));
    }
    if (domain.emulator !== undefined) {
      // Exec only: libvirt switches to this profile before exec'ing the emulator.
      result.push(fileAccess(domain.emulator, 'ix', reason('devices <emulator>', 'executed inside this profile'), 'derived'));
    }
    return result;
  },
};
