// What the admin commands share: the configuration, virsh, and the same
// profile store and lock the hook uses.

import { loadConfig, type Config } from '../config.ts';
import { hookDeps } from '../hook/deps.ts';
import type { HookDeps } from '../hook/dispatch.ts';
import { Virsh } from '../virsh.ts';
import type { CliIo } from './io.ts';

export interface GlobalArgs {
  readonly 'config-file': string | undefined;
  readonly connect: string | undefined;
}

export interface CommandContext {
  readonly config: Config;
  readonly deps: HookDeps;
  readonly virsh: Virsh;
  readonly io: CliIo;
}

export function commandContext(args: GlobalArgs, io: CliIo): CommandContext {
  const config = loadConfig(args['config-file']);
  const deps = hookDeps(config);
  return { config, deps, virsh: new Virsh(args.connect), io };
}
