// Literal facts of two healthy hosts for the pure checks of doctor and the
// status lines: one confining through the emulator wrappers, one through
// libvirt's AppArmor driver and our virt-aa-helper. Tests break one fact at
// a time.

import { parseDenials } from '../../lib/apparmor/denials.ts';
import type { DomainState } from '../../lib/apparmor/state.ts';
import { parseConfig } from '../../lib/config.ts';
import { daemonPath } from '../../lib/daemon-path.ts';
import { parseDomain } from '../../lib/domain/parse.ts';
import type { DomainFacts, FileFact, InspectFacts } from '../../lib/inspect/facts.ts';

export const t0 = Date.parse('2026-12-07T10:00:00Z');
export const uuid = '3a1f2b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b';
export const otherUuid = '9b8c7d6e-5f40-4321-8765-0fedcba98765';
export const emulatorDir = '/usr/lib/virt-aa-hook/emulators';
export const wrapper = `${emulatorDir}/qemu-system-x86_64`;
export const config = parseConfig('{"policy": "require"}', '/etc/virt-aa-hook/config.json');

export interface DomainOptions {
  readonly name?: string;
  readonly uuid?: string;
  readonly emulator?: string;
  /** A seclabel element, as written. */
  readonly seclabel?: string;
  readonly running?: boolean;
  /** QEMU's label while it runs. */
  readonly label?: string | undefined;
}

function xml(name: string, id: string, emulator: string, seclabel: string, live: boolean): string {
  const domain = `<domain type='kvm'${live ? " id='4'" : ''}><name>${name}</name><uuid>${id}</uuid><os><type arch='x86_64' machine='pc'>hvm</type></os><devices><emulator>${emulator}</emulator></devices>${seclabel}</domain>`;
  return live ? `<domstatus state='running' reason='booted' pid='4242'>${domain}</domstatus>` : domain;
}

export function domain(options: DomainOptions = {}): DomainFacts {
  const { name = 'web', uuid: id = uuid, emulator = wrapper, seclabel = '', running = true } = options;
  const label = 'label' in options ? options.label : `libvirt-${id} (enforce)`;
  const state: DomainState = { uuid: id, name, mode: 'wrapper', profileFile: `/etc/apparmor.d/libvirt/libvirt-${id}`, filesFile: `/etc/apparmor.d/libvirt/libvirt-${id}.files`, profileSha256: '', loaded: true, appended: [], domainId: 4 };
  const fromTemplate = `profile libvirt-${id} {\n  #include if exists <libvirt/libvirt-${id}.files>\n}\n`;
  return {
    name,
    uuid: id,
    definition: parseDomain(xml(name, id, emulator, seclabel, false)),
    live: running ? parseDomain(xml(name, id, emulator, seclabel, true)) : undefined,
    pid: running ? 4242 : undefined,
    label: running ? label : undefined,
    profile: {
      text: running ? fromTemplate : undefined,
      files: running ? `# Rules for domain '${name}'\n\n#include <abstractions/virt-aa-hook/tpm>\n\n# disk 'vda': image\n"/srv/${name}.img" rwk,\n"/srv/${name}-base.img" rk,\n\nprofile swtpm {\n  "/var/lib/swtpm/x" rwk,\n}\n` : undefined,
      fromTemplate,
      libvirtTemplate: undefined,
      state: running ? state : undefined,
      placeholder: false,
    },
  };
}

const file = (path: string, changedAtMs: number | undefined, mentionsUs = true, shebang: string | undefined = '#!/usr/bin/node'): FileFact => ({ path, changedAtMs, executable: changedAtMs !== undefined, shebang, mentionsUs });

const denialRecord = (profile: string): string =>
  `[ 12.5] audit: type=1400 audit(1.2:3): apparmor="DENIED" operation="open" profile="${profile}" name="/srv/elsewhere.img" pid=4242 comm="qemu-system-x86" requested_mask="r" denied_mask="r"`;

/** A host whose libvirt's driver is off: wrappers first in the daemon's PATH, and a running domain through them. */
export function wrapperHost(): InspectFacts {
  const loaded = new Map([
    ['virt-aa-hook', 'enforce'],
    [`libvirt-${uuid}`, 'enforce'],
  ]);
  return {
    nowMs: t0 + 3_600_000,
    root: true,
    configFile: '/etc/virt-aa-hook/config.json',
    config,
    configProblem: undefined,
    appArmor: { enabled: true },
    parser: { path: '/sbin/apparmor_parser', version: '3.0.8', problem: undefined },
    abi: { template: 'abi/3.0', file: '/etc/apparmor.d/abi/3.0', kernelFeatures: ['caps', 'domain', 'file', 'network', 'policy'], featuresFile: undefined },
    loadedProfiles: loaded,
    driverFacts: { loadedProfiles: loaded, qemuConf: 'security_driver = "none"\n' },
    daemons: [{ name: 'libvirtd', pid: 700, startedAtMs: t0 + 60_000, label: 'unconfined', path: daemonPath(emulatorDir) }],
    service: { systemd: true, initScripts: new Map() },
    capabilities: { text: `<capabilities><host><secmodel><model>none</model><doi>0</doi></secmodel></host><guest><arch name='x86_64'><wordsize>64</wordsize><emulator>${wrapper}</emulator></arch></guest></capabilities>` },
    hook: file('/etc/libvirt/hooks/qemu', t0),
    node: { path: '/usr/bin/node', version: 'v20.19.2', problem: undefined },
    helper: {
      atLibvirtPath: file('/usr/lib/libvirt/virt-aa-helper', t0),
      original: file('/usr/lib/libvirt/virt-aa-helper.distrib', t0 - 86_400_000, false, undefined),
      diversion: 'local diversion of /usr/lib/libvirt/virt-aa-helper to /usr/lib/libvirt/virt-aa-helper.distrib',
      override: { path: '/etc/apparmor.d/local/usr.lib.libvirt.virt-aa-helper', hasBlock: true },
      profileIsCurrent: true,
    },
    setup: { changes: [] },
    domains: [domain()],
    states: [domain().profile.state].flatMap((s) => (s === undefined ? [] : [s])),
    profileFiles: [uuid],
    nameKeyedEntries: [],
    hookLog: {
      source: '/var/log/virt-aa-hook.log',
      lines: [
        `2026-12-07T10:05:00.000Z domain="web" profile=libvirt-${uuid} event=prepare/begin mode=wrapper rules=4 notices=0 outcome=loaded ms=41 wall=98`,
        `2026-12-07T10:05:01.000Z domain="web" profile=libvirt-${uuid} event=started/begin mode=wrapper pid=4242 label="libvirt-${uuid} (enforce)" outcome=confined ms=3 wall=60`,
      ],
    },
    denials: { source: 'dmesg', denials: parseDenials(`${denialRecord(`libvirt-${uuid}`)}\n${denialRecord(`libvirt-${uuid}`)}\n${denialRecord(`libvirt-${otherUuid}`)}\n`) },
  };
}

/** A host whose libvirtd runs under its profile with libvirt's AppArmor driver, and our helper in place of libvirt's. */
export function driverHost(): InspectFacts {
  const host = wrapperHost();
  const loaded = new Map([
    ['libvirtd', 'enforce'],
    ['virt-aa-helper', 'enforce'],
    ['virt-aa-hook', 'enforce'],
    [`libvirt-${uuid}`, 'enforce'],
  ]);
  const seclabel = `<seclabel type='dynamic' model='apparmor' relabel='yes'><label>libvirt-${uuid}</label><imagelabel>libvirt-${uuid}</imagelabel></seclabel>`;
  const running = domain({ emulator: '/usr/bin/qemu-system-x86_64' });
  return {
    ...host,
    loadedProfiles: loaded,
    driverFacts: { loadedProfiles: loaded, qemuConf: '' },
    daemons: [{ name: 'libvirtd', pid: 700, startedAtMs: t0 + 60_000, label: 'libvirtd (enforce)', path: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' }],
    capabilities: { text: "<capabilities><host><secmodel><model>apparmor</model><doi>0</doi></secmodel></host><guest><arch name='x86_64'><emulator>/usr/bin/qemu-system-x86_64</emulator></arch></guest></capabilities>" },
    domains: [{ ...running, live: parseDomain(`<domstatus state='running' pid='4242'><domain type='kvm' id='4'><name>web</name><uuid>${uuid}</uuid><os><type>hvm</type></os><devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>${seclabel}</domain></domstatus>`) }],
  };
}
