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
import { checkoutRoot } from './apparmor-parser.ts';

export interface HookEnv {
  readonly root: string;
  readonly config: Config;
  readonly configFile: string;
  readonly deps: (overrides?: Partial<HookDeps>) => HookDeps;
  readonly profileFile: (uuid: string) => string;
  readonly filesFile: (uuid: string) => string;
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
      libvirtConfigDir: path.join(root, 'etc/libvirt'),
      includeDirs: [path.join(checkoutRoot, 'apparmor.d'), '/etc/apparmor.d'],
      featuresFile: fs.existsSync('/usr/share/apparmor-features/features') ? '/usr/share/apparmor-features/features' : null,
      logFile: path.join(root, 'hook.log'),
      apparmorParser: fs.existsSync('/usr/sbin/apparmor_parser') ? '/usr/sbin/apparmor_parser' : '/sbin/apparmor_parser',
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
