// <memory> devices backed by host files (NVDIMM, virtio-pmem), SGX enclave
// memory, and <memoryBacking> in hugetlbfs or in libvirt's memory-backing dir.

import { devicesOf } from '../domain/types.ts';
import { shortNameVariants } from '../host/layout.ts';
import { fileAccess, reason, treePattern, type Access } from '../profile/access.ts';
import type { ResourceModule } from './resource.ts';

export const memory: ResourceModule = {
  name: 'memory',
  accesses: ({ domain, host, layout }) => {
    const result: Access[] = [];
    for (const m of devicesOf(domain, 'memory')) {
      if ((m.model === 'nvdimm' || m.model === 'virtio-pmem') && m.path !== undefined) {
        result.push(fileAccess(m.path, 'rw', reason(m.label, 'backing file')));
      }
      if (m.model === 'sgx-epc') {
        result.push(fileAccess('/dev/sgx_vepc', 'rw', reason(m.label, 'SGX enclave page cache'), 'derived'));
        result.push(fileAccess('/dev/sgx_provision', 'r', reason(m.label, 'SGX provisioning'), 'derived'));
      }
    }
    const backing = domain.memoryBacking;
    const dirs: string[] = [];
    if (backing.hugepages) {
      const mounts = host.hugetlbfsMounts.length > 0 ? host.hugetlbfsMounts : [layout.defaultHugetlbfsMount];
      dirs.push(...mounts.map((mount) => `${mount}/libvirt/qemu/`));
    } else if (backing.source === 'file' || (backing.shared && backing.source !== 'memfd' && backing.source !== 'anonymous')) {
      dirs.push(`${layout.qemuLibDir}/ram/`);
    }
    for (const dir of dirs) {
      const why = reason('memoryBacking', backing.hugepages ? 'hugepages' : 'file-backed guest memory');
      for (const shortName of shortNameVariants(domain.id, domain.name)) {
        result.push(...treePattern([dir, ...shortName], 'rw', why));
      }
    }
    return result;
  },
};
