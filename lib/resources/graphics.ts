// <graphics> and <video>: listen sockets, GL render nodes with the driver
// files GL needs, SDL's X11 access, SPICE TLS and the per-domain D-Bus socket.

import { isIP } from 'node:net';
import { devicesOf } from '../domain/types.ts';
import { shortNameVariants } from '../host/layout.ts';
import { fileAccess, notice, patternAccess, reason, snippet, type Access } from '../profile/access.ts';
import type { ResourceContext, ResourceModule } from './resource.ts';

function glAccesses(renderNode: string | undefined, device: string, context: ResourceContext): readonly Access[] {
  const result: Access[] = [snippet('gl', reason(device, 'OpenGL drivers'))];
  if (renderNode !== undefined) {
    result.push(fileAccess(renderNode, 'rw', reason(device, 'render node')));
  } else if (context.host.renderNode !== undefined) {
    result.push(fileAccess(context.host.renderNode, 'rw', reason(device, "the host's first render node"), 'derived'));
  } else {
    result.push(notice('GL is enabled but the host has no DRM render node: no render node rule', reason(device, 'render node')));
  }
  return result;
}

export const graphics: ResourceModule = {
  name: 'graphics',
  accesses: (context) => {
    const { domain, layout } = context;
    const result: Access[] = [];
    for (const g of devicesOf(domain, 'graphics')) {
      for (const socket of g.sockets) result.push(fileAccess(socket, 'rw', reason(g.label, 'listen socket')));
      // An IP address is bound as it is; a host name is looked up first.
      const names = g.listenAddresses.filter((address) => isIP(address) === 0);
      if (names.length > 0) result.push(snippet('nameservice', reason(g.label, `listens on ${names.join(', ')}, a host name`)));
      if (g.gl) result.push(...glAccesses(g.renderNode, g.label, context));
      if (g.tls) result.push(snippet('tls', reason(g.label, 'SPICE TLS certificates')));
      else if (context.settings.graphicsTls && (g.type === 'vnc' || g.type === 'spice')) result.push(snippet('tls', reason(g.label, 'TLS certificates (graphicsTls in the configuration)')));
      if (g.type === 'sdl') {
        result.push(snippet('x11', reason(g.label, 'SDL window on the X server')));
        if (g.xauth !== undefined) result.push(fileAccess(g.xauth, 'r', reason(g.label, 'X authority file')));
      }
      if (g.type === 'dbus') {
        for (const shortName of shortNameVariants(domain.id, domain.name)) {
          result.push(patternAccess([`${layout.qemuRunDir}/dbus/`, ...shortName, { wildcard: 'any' }], 'rw', reason(g.label, "the domain's D-Bus daemon")));
        }
      }
    }
    for (const video of devicesOf(domain, 'video')) {
      if (video.accel3d) result.push(...glAccesses(video.renderNode, video.label, context));
    }
    return result;
  },
};
