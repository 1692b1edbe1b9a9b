// The admin commands' way to libvirt: virsh, as argv, never a shell. The hook
// itself never calls libvirt (libvirt is waiting for it: that deadlocks).

import { runCommand, type CommandRunner } from './apparmor/runner.ts';
import { HostError } from './errors.ts';

export class Virsh {
  readonly #uri: string | undefined;
  readonly #run: CommandRunner;

  constructor(uri: string | undefined, run: CommandRunner = runCommand) {
    this.#uri = uri;
    this.#run = run;
  }

  /** Runs `virsh <args>`; a failure carries virsh's own message. */
  run(args: readonly string[]): string {
    const argv = [...(this.#uri === undefined ? [] : ['--connect', this.#uri]), '--quiet', ...args];
    const result = this.#run('virsh', argv);
    if (result.code !== 0) {
      const message = result.stderr.trim().split('\n').filter((l) => l.trim() !== '').join(' ') || `exit ${result.code}`;
      throw new HostError(`virsh ${args[0] ?? ''} failed: ${message}`);
    }
    return result.stdout;
  }

  dumpxml(domain: string, options: { readonly inactive: boolean }): string {
    return this.run(['dumpxml', ...(options.inactive ? ['--inactive'] : []), '--security-info', '--', domain]);
  }

  /** Whether QEMU runs for the domain (running or paused): `virsh domid` prints "-" otherwise. */
  isActive(domain: string): boolean {
    return /^\d+$/.test(this.run(['domid', '--', domain]).trim());
  }

  define(xmlFile: string): void {
    this.run(['define', '--file', xmlFile]);
  }

  /** UUIDs of every domain with a persistent definition (a transient one has nothing to enroll). */
  persistentDomains(): readonly string[] {
    return this.run(['list', '--all', '--persistent', '--uuid'])
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
  }

  hasAppArmorDriver(): boolean {
    return /<model>apparmor<\/model>/.test(this.run(['capabilities']));
  }
}
