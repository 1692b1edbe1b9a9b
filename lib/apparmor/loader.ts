// The one place that runs apparmor_parser. Each verb is an argv array; the
// runner is a parameter, so tests see exactly what would run.

import * as path from 'node:path';
import { HostError } from '../errors.ts';
import { timed } from '../timing.ts';
import { runCommand, type CommandResult, type CommandRunner } from './runner.ts';

export interface LoaderOptions {
  /** apparmor_parser path. */
  readonly parser: string;
  /** -b: where the profile's includes resolve (the AppArmor directory). */
  readonly baseDir: string;
  /** Extra -I directories. */
  readonly includeDirs: readonly string[];
  /** -L with -W: our own cache, so the boot-time cache of the distro's profiles is never touched. */
  readonly cacheDir: string;
  /** -M when set: compile (and key the cache) for these features instead of the running kernel's. */
  readonly featuresFile: string | null;
  /** -Q: compile (and write the cache) but never load. */
  readonly compileOnly: boolean;
}

export type LoaderVerb = 'replace' | 'remove' | 'validate';

export interface ReplaceOptions {
  readonly complain?: boolean;
}

/**
 * Removing a profile the kernel does not have: parser 3.0.8 prints `Unable to
 * remove "<name>".  Profile doesn't exist` and exits with -ENOENT & 0xff = 254
 * (measured with a stand-in securityfs whose .remove fails with ENOENT).
 * libvirt's virt-aa-helper takes exit 234 as "already unloaded" too.
 */
const notLoadedCodes: readonly number[] = [254, 234];
const notLoadedMessage = "Profile doesn't exist";

export class ProfileLoader {
  readonly #options: LoaderOptions;
  readonly #run: CommandRunner;

  constructor(options: LoaderOptions, run: CommandRunner = runCommand) {
    this.#options = options;
    this.#run = run;
  }

  /** Loads or replaces the profile(s) in a file, using and refreshing the cache. */
  replace(profileFile: string, options: ReplaceOptions = {}): void {
    this.#check(profileFile, this.#exec('replace', profileFile, options));
  }

  /** Unloads; "not loaded" is not an error. Compile-only mode never loaded anything. */
  remove(profileFile: string): 'removed' | 'not-loaded' {
    if (this.#options.compileOnly) return 'not-loaded';
    const result = this.#exec('remove', profileFile);
    if (notLoadedCodes.includes(result.code) || output(result).includes(notLoadedMessage)) return 'not-loaded';
    this.#check(profileFile, result);
    return 'removed';
  }

  /** Compiles without loading or caching: a syntax check. */
  validate(profileFile: string): void {
    this.#check(profileFile, this.#exec('validate', profileFile));
  }

  /** The argv each verb uses, for logs and tests. */
  argv(verb: LoaderVerb, profileFile: string, options: ReplaceOptions = {}): readonly string[] {
    // The parser's cache and force-complain/disable lookups go by base name; a relative name would also depend on the cwd.
    if (!path.isAbsolute(profileFile)) throw new Error(`profile file must be an absolute path: ${profileFile}`);
    const { baseDir, includeDirs, cacheDir, featuresFile, compileOnly } = this.#options;
    const sources = ['-b', baseDir, ...includeDirs.flatMap((dir) => ['-I', dir]), ...(featuresFile === null ? [] : ['-M', featuresFile])];
    const head =
      verb === 'replace'
        ? ['-r', '-W', '-L', cacheDir, ...sources, ...(compileOnly ? ['-Q'] : []), ...(options.complain === true ? ['-C'] : [])]
        : verb === 'remove'
          ? ['-R', ...sources]
          : ['-Q', '-K', '-T', ...sources];
    return [...head, '--', profileFile];
  }

  #exec(verb: LoaderVerb, profileFile: string, options: ReplaceOptions = {}): CommandResult {
    return timed('parser', () => this.#run(this.#options.parser, this.argv(verb, profileFile, options)));
  }

  #check(profileFile: string, result: CommandResult): void {
    const text = output(result);
    // Older parsers report some errors on stdout and still exit 0 (snapd checks the text too).
    if (result.code === 0 && !text.includes('AppArmor parser error')) return;
    const lines = text.split('\n').filter((line) => line.trim() !== '').slice(0, 3);
    throw new HostError(`apparmor_parser failed (exit ${result.code}): ${lines.join('; ')}`, { path: profileFile });
  }
}

/** Errors go to stderr: it comes first, so the message starts with them. */
function output(result: CommandResult): string {
  return `${result.stderr}\n${result.stdout}`;
}
