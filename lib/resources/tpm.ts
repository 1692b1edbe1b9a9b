// <tpm>: a host TPM passed through (plus its sysfs cancel file), an external
// TPM socket, or swtpm, which libvirt starts inside this profile, with its
// socket, pid file, state directory and log.

import { devicesOf, type Tpm } from '../domain/types.ts';
import { shortNameVariants } from '../host/layout.ts';
import { fileAccess, patternAccess, reason, snippet, treeAccess, type Access } from '../profile/access.ts';
import type { ResourceContext, ResourceModule } from './resource.ts';

function passthroughAccesses(devicePath: string, device: string): readonly Access[] {
  const result: Access[] = [fileAccess(devicePath, 'rw', reason(device, 'host TPM'))];
  // QEMU cancels commands through sysfs; /dev/tpmrm0 is served by tpm0.
  const number = /(\d+)$/.exec(devicePath)?.[1];
  if (number !== undefined) {
    for (const cls of ['tpm', 'misc']) {
      result.push(fileAccess(`/sys/class/${cls}/tpm${number}/device/cancel`, 'rw', reason(device, 'TPM command cancellation'), 'derived'));
    }
  }
  return result;
}

function emulatorAccesses(backend: Extract<Tpm['backend'], { type: 'emulator' }>, device: string, context: ResourceContext): readonly Access[] {
  const { domain, layout } = context;
  const result: Access[] = [snippet('swtpm', reason(device, 'swtpm runs inside this profile'))];
  for (const shortName of shortNameVariants(domain.id, domain.name)) {
    for (const suffix of ['-swtpm.sock', '-swtpm.pid']) {
      result.push(patternAccess([`${layout.qemuRunDir}/swtpm/`, ...shortName, suffix], 'rwk', reason(device, `swtpm ${suffix.slice(7)} file`)));
    }
  }
  if (backend.state !== undefined) {
    const why = reason(device, 'swtpm state');
    result.push(...(backend.state.type === 'dir' ? treeAccess(backend.state.path, 'rwk', why) : [fileAccess(backend.state.path, 'rwk', why)]));
  } else {
    const versionDir = backend.version === '2.0' ? 'tpm2' : backend.version === '1.2' ? 'tpm1.2' : undefined;
    const stateDir = `${layout.swtpmStateDir}/${domain.uuid}${versionDir === undefined ? '' : `/${versionDir}`}`;
    result.push(...treeAccess(stateDir, 'rwk', reason(device, 'swtpm state'), 'derived'));
  }
  result.push(fileAccess(`${layout.swtpmLogDir}/${domain.name}-swtpm.log`, 'w', reason(device, 'swtpm log'), 'derived'));
  return result;
}

function tpmAccesses(tpm: Tpm, context: ResourceContext): readonly Access[] {
  const backend = tpm.backend;
  switch (backend.type) {
    case 'passthrough':
      return passthroughAccesses(backend.device, tpm.label);
    case 'emulator':
      return emulatorAccesses(backend, tpm.label, context);
    case 'external':
      return backend.socket === undefined ? [] : [fileAccess(backend.socket, 'rw', reason(tpm.label, 'external TPM socket'))];
    case 'other':
      return [];
  }
}

export const tpm: ResourceModule = {
  name: 'tpm',
  accesses: (context) => devicesOf(context.domain, 'tpm').flatMap((t) => tpmAccesses(t, context)),
};
