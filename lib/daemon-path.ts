// The libvirt daemons' PATH with our emulator wrappers first: the systemd
// drop-ins for libvirtd and virtqemud, and the line Debian's sysv init script
// of libvirtd reads from /etc/default/libvirtd. The one place their text and
// paths are made; scripts/install and `virt-aa-hook sync` write them through
// lib/cli/setup.ts. Pure.

import { daemonSearchPath } from './wrapper.ts';

/** The daemons whose PATH decides which emulator libvirt finds (monolithic and modular). */
export const daemonUnits: readonly string[] = ['libvirtd.service', 'virtqemud.service'];

const dropInName = 'virt-aa-hook-path.conf';

/** The whole PATH value: the wrappers, then systemd's default PATH for services. */
export function daemonPath(emulatorDir: string): string {
  return [emulatorDir, ...daemonSearchPath].join(':');
}

export function dropInFile(systemdDir: string, unit: string): string {
  return `${systemdDir}/${unit}.d/${dropInName}`;
}

const why = [
  '# libvirt finds the emulator it names in its capabilities, and writes into',
  '# every domain defined without <emulator>, by searching its PATH: the',
  "# virt-aa-hook wrappers, named like the emulators, come first, so new domains",
  '# are confined from their first start. Only where libvirt\'s own AppArmor',
  '# driver is not active. A PATH change needs a restart of the daemon (SIGHUP',
  '# does not change its environment); running guests survive it.',
];

export function dropInText(emulatorDir: string): string {
  return ['# Written by virt-aa-hook (scripts/install, virt-aa-hook sync); removed by its uninstaller.', ...why, '[Service]', `Environment=PATH=${daemonPath(emulatorDir)}`, ''].join('\n');
}

const begin = '# BEGIN virt-aa-hook PATH';
// The file had no final newline: one was added before the block, and goes with it.
const beginAfterNewline = `${begin} (a newline was added before this line)`;
const end = '# END virt-aa-hook PATH';

function sysvBlock(emulatorDir: string, marker: string): string {
  // A literal PATH, no $PATH: systemd's EnvironmentFile= reads this file too,
  // without shell expansion, and then sets the same value as our drop-in.
  return [marker, '# Added by virt-aa-hook, removed by its uninstaller.', ...why, `PATH=${daemonPath(emulatorDir)}`, end, ''].join('\n');
}

/** The file's text without our block, byte for byte as it was before the block went in. */
export function withoutSysvBlock(text: string): string {
  const escaped = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const block = new RegExp(`(\\n)?(${escaped(beginAfterNewline)}|${escaped(begin)})\\n[\\s\\S]*?^${escaped(end)}(?:\\n|$)`, 'm');
  return text.replace(block, (whole: string, newline: string | undefined, marker: string, offset: number) => {
    const atEnd = offset + whole.length === text.length;
    // The newline added before the block goes with it, unless lines were added after it since.
    return newline === undefined || (marker === beginAfterNewline && atEnd) ? '' : '\n';
  });
}

/** The file's text with our block, replaced in place or appended; the rest is kept byte for byte. */
export function withSysvBlock(text: string, emulatorDir: string): string {
  const rest = withoutSysvBlock(text);
  if (rest === '' || rest.endsWith('\n')) return `${rest}${sysvBlock(emulatorDir, begin)}`;
  return `${rest}\n${sysvBlock(emulatorDir, beginAfterNewline)}`;
}

/** The PATH a drop-in or defaults file of ours declares, as the daemon would get it. */
export function declaredPath(text: string): string | undefined {
  return /^(?:Environment=)?PATH=(.*)$/m.exec(text)?.[1];
}
