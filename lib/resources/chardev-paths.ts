// Host paths of a character device backend, shared by serial ports, consoles,
// channels, USB redirection, smartcard passthrough and EGD random sources.

import type { Chardev } from '../domain/types.ts';
import { fileAccess, reason, snippet, type Access } from '../profile/access.ts';

export function chardevAccesses(chardev: Chardev, device: string): readonly Access[] {
  const { source, logFile } = chardev;
  const result: Access[] = [];
  switch (source.type) {
    case 'pty':
    case 'dev':
    case 'file':
      if (source.path !== undefined) result.push(fileAccess(source.path, 'rw', reason(device, `${source.type} backend`)));
      break;
    case 'unix':
      // Without a path libvirt generates one in the domain's channel directory.
      if (source.path !== undefined) result.push(fileAccess(source.path, 'rw', reason(device, 'unix socket')));
      break;
    case 'pipe': {
      // QEMU opens <path>.in and <path>.out, and falls back to <path> itself.
      const why = reason(device, 'named pipe');
      result.push(fileAccess(source.path, 'rw', why), fileAccess(`${source.path}.in`, 'rw', why), fileAccess(`${source.path}.out`, 'rw', why));
      break;
    }
    case 'tcp':
      result.push(snippet('nameservice', reason(device, 'tcp backend (a peer by host name or address)')));
      if (source.tls) result.push(snippet('tls', reason(device, 'TLS certificates')));
      break;
    case 'udp':
      result.push(snippet('nameservice', reason(device, 'udp backend (datagrams, a peer by host name or address)')));
      break;
    case 'none':
      break;
  }
  if (logFile !== undefined) result.push(fileAccess(logFile, 'w', reason(device, 'log file')));
  return result;
}
