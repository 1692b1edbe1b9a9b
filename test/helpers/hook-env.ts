// A complete hook environment in a temp directory: configuration, AppArmor
// directory with our template, state, cache, locks. The real apparmor_parser
// compiles every profile (compile-only: this kernel has no AppArmor); only
// the kernel's answers (is it enabled, what is loaded, which label a process
// has) are stand-ins, because this kernel cannot give them.

import * as fs from 'node:fs';
import * as path from 'node:path';
import tmp from 'tmp';
import { parseConfig, type Config } from '../../lib/config.ts';
import type { HookDeps } from '../../lib/hook/dispatch.ts';
import { hookDeps } from '../../lib/hook/deps.ts';
import { apparmorParser, checkoutRoot, featuresFile } from './apparmor-parser.ts';

export interface HookEnv {
  readonly root: string;
  readonly config: Config;
  readonly configFile: string;
  readonly deps: (overrides?: Partial<HookDeps>) => HookDeps;
  readonly profileFile: (uuid: string) => string;
  readonly filesFile: (uuid: string) => string;
}

export interface DomainXmlOptions {
  readonly name?: string;
  readonly uuid?: string;
  /** libvirt's live id; undefined for the XML of migrate and restore. */
  readonly id?: number | undefined;
  /** The one disk's file; null: no disk. */
  readonly disk?: string | null;
  /** wrapper: the emulator is this environment's wrapper; libvirt: our static seclabel; none: neither. */
  readonly enrolled?: 'wrapper' | 'libvirt' | 'none';
  /** Another seclabel, for a domain that is not enrolled in libvirt mode. */
  readonly seclabel?: string;
}

/** A domain as libvirt hands it to the hook: enrolled through this environment's emulator wrapper unless told otherwise. */
export function domainXml(env: HookEnv, options: DomainXmlOptions = {}): string {
  const { name = 'web-01', uuid = '3a1f2b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b', disk = '/srv/vms/web-01.img', enrolled = 'wrapper', seclabel = '' } = options;
  const id = 'id' in options ? options.id : 4;
  const emulator = enrolled === 'wrapper' ? `${env.config.paths.wrapperDir}/virt-aa-hook.qemu-system-x86_64` : '/usr/bin/qemu-system-x86_64';
  const label = enrolled === 'libvirt' ? `<seclabel type='static' model='apparmor' relabel='no'><label>libvirt-${uuid}</label></seclabel>` : seclabel;
  const diskXml = disk === null ? '' : `\n    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${disk}'/><target dev='vda'/></disk>`;
  return `<domain type='kvm'${id === undefined ? '' : ` id='${id}'`}><name>${name}</name><uuid>${uuid}</uuid>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>${emulator}</emulator>${diskXml}
  </devices>${label}</domain>`;
}

export function hookEnv(settings: Record<string, unknown> = {}): HookEnv {
  const root = fs.realpathSync(tmp.dirSync({ unsafeCleanup: true }).name);
  const apparmorDir = path.join(root, 'etc/apparmor.d');
  fs.mkdirSync(path.join(apparmorDir, 'virt-aa-hook'), { recursive: true });
  fs.copyFileSync(path.join(checkoutRoot, 'apparmor.d/virt-aa-hook/TEMPLATE.qemu'), path.join(apparmorDir, 'virt-aa-hook/TEMPLATE.qemu'));
  const { paths: extraPaths, ...rest } = settings as { paths?: Record<string, unknown> };
  const json = {
    loader: 'compile-only',
    ...rest,
    paths: {
      apparmorDir,
      cacheDir: path.join(root, 'var/cache/apparmor/virt-aa-hook'),
      stateDir: path.join(root, 'var/lib/virt-aa-hook'),
      runDir: path.join(root, 'run/virt-aa-hook'),
      wrapperDir: path.join(root, 'usr/lib/libvirt'),
      emulatorDir: path.join(root, 'usr/lib/virt-aa-hook/emulators'),
      systemdDir: path.join(root, 'etc/systemd/system'),
      sysvDefaults: path.join(root, 'etc/default/libvirtd'),
      libvirtConfigDir: path.join(root, 'etc/libvirt'),
      includeDirs: [path.join(checkoutRoot, 'apparmor.d'), '/etc/apparmor.d'],
      featuresFile,
      logFile: path.join(root, 'hook.log'),
      apparmorParser: apparmorParser ?? '/sbin/apparmor_parser',
      ...extraPaths,
    },
  };
  const configFile = path.join(root, 'etc/virt-aa-hook/config.json');
  fs.mkdirSync(path.dirname(configFile), { recursive: true });
  fs.writeFileSync(configFile, JSON.stringify(json, null, 2));
  const config = parseConfig(fs.readFileSync(configFile, 'utf8'), configFile);
  return {
    root,
    config,
    configFile,
    deps: (overrides = {}) => ({ ...hookDeps(config), ...overrides }),
    profileFile: (uuid) => path.join(apparmorDir, 'libvirt', `libvirt-${uuid}`),
    filesFile: (uuid) => path.join(apparmorDir, 'libvirt', `libvirt-${uuid}.files`),
  };
}
