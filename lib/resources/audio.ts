// <audio> backends: host sound reaches a VM only through the backend its
// configuration names. `none`, `spice` and `dbus` need nothing on the host.

import { devicesOf, type Audio } from '../domain/types.ts';
import { fileAccess, reason, snippet, treeAccess, type Access, type SnippetName } from '../profile/access.ts';
import type { ResourceModule } from './resource.ts';

const backendSnippets: { readonly [type: string]: SnippetName } = {
  alsa: 'audio-alsa',
  jack: 'audio-jack',
  oss: 'audio-oss',
  pipewire: 'audio-pipewire',
  pulseaudio: 'audio-pulseaudio',
};

function audioAccesses(audio: Audio): readonly Access[] {
  const device = audio.label;
  const result: Access[] = [];
  // SDL plays through a driver of its own choosing.
  const backend = audio.type === 'sdl' ? audio.driver : audio.type;
  const name = backend === undefined ? undefined : backendSnippets[backend];
  if (name !== undefined) result.push(snippet(name, reason(device, `host audio through ${backend ?? ''}`)));
  if (audio.type === 'sdl') result.push(snippet('x11', reason(device, 'SDL audio')));
  if (audio.type === 'file' && audio.path !== undefined) result.push(fileAccess(audio.path, 'rw', reason(device, 'audio recording file')));
  if (audio.serverName?.startsWith('/') === true) result.push(fileAccess(audio.serverName, 'rw', reason(device, 'audio server socket')));
  if (audio.runtimeDir !== undefined) result.push(...treeAccess(audio.runtimeDir, 'rw', reason(device, 'audio runtime directory')));
  for (const node of audio.devices) result.push(fileAccess(node, 'rw', reason(device, 'OSS device')));
  return result;
}

export const audio: ResourceModule = {
  name: 'audio',
  accesses: ({ domain }) => devicesOf(domain, 'audio').flatMap(audioAccesses),
};
