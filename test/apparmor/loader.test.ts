import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import tmp from 'tmp';
import { ProfileLoader, type LoaderOptions } from '../../lib/apparmor/loader.ts';
import { runCommand, type CommandResult, type CommandRunner } from '../../lib/apparmor/runner.ts';
import { HostError } from '../../lib/errors.ts';
import { apparmorParser, featuresFile } from '../helpers/apparmor-parser.ts';

const profile = '/etc/apparmor.d/libvirt/libvirt-6f1d2c3b-0000-4000-8000-000000000001';
const options: LoaderOptions = {
  parser: '/sbin/apparmor_parser',
  baseDir: '/etc/apparmor.d',
  includeDirs: [],
  cacheDir: '/var/cache/apparmor/virt-aa-hook',
  featuresFile: null,
  compileOnly: false,
};

/** A runner that records each call and answers with `result`. */
function recorder(result: Partial<CommandResult> = {}): { readonly run: CommandRunner; readonly calls: (readonly [string, readonly string[]])[] } {
  const calls: (readonly [string, readonly string[]])[] = [];
  return { calls, run: (file, args) => (calls.push([file, args]), { code: 0, stdout: '', stderr: '', ...result }) };
}

test('replace: -r with our cache, the base and include dirs, features, then the file after --', (t) => {
  const { run, calls } = recorder();
  new ProfileLoader(options, run).replace(profile);
  t.deepEqual(calls, [['/sbin/apparmor_parser', ['-r', '-W', '-L', '/var/cache/apparmor/virt-aa-hook', '-b', '/etc/apparmor.d', '--', profile]]]);
  const loader = new ProfileLoader({ ...options, includeDirs: ['/usr/share/virt-aa-hook/apparmor.d', '/srv/inc'], featuresFile: '/usr/share/apparmor-features/features', compileOnly: true });
  t.deepEqual(loader.argv('replace', profile, { complain: true }), [
    '-r', '-W', '-L', '/var/cache/apparmor/virt-aa-hook',
    '-b', '/etc/apparmor.d', '-I', '/usr/share/virt-aa-hook/apparmor.d', '-I', '/srv/inc', '-M', '/usr/share/apparmor-features/features',
    '-Q', '-C', '--', profile,
  ]);
  t.deepEqual(loader.argv('replace', profile, { complain: false }).slice(-3), ['-Q', '--', profile]);
});

test('remove: -R with what the file needs to parse; validate: compile only, no cache', (t) => {
  const loader = new ProfileLoader({ ...options, includeDirs: ['/srv/inc'], featuresFile: '/f' });
  t.deepEqual(loader.argv('remove', profile), ['-R', '-b', '/etc/apparmor.d', '-I', '/srv/inc', '-M', '/f', '--', profile]);
  t.deepEqual(loader.argv('validate', profile), ['-Q', '-K', '-T', '-b', '/etc/apparmor.d', '-I', '/srv/inc', '-M', '/f', '--', profile]);
  const { run, calls } = recorder();
  new ProfileLoader(options, run).validate(profile);
  t.deepEqual(calls, [['/sbin/apparmor_parser', ['-Q', '-K', '-T', '-b', '/etc/apparmor.d', '--', profile]]]);
});

test('a profile file must be an absolute path', (t) => {
  const { run, calls } = recorder();
  t.throws(() => new ProfileLoader(options, run).replace('libvirt-x'), { message: 'profile file must be an absolute path: libvirt-x' });
  t.throws(() => new ProfileLoader(options, run).remove('-R'));
  t.deepEqual(calls, []);
});

test('remove: exit 0 is removed; "not loaded" is not an error', (t) => {
  t.is(new ProfileLoader(options, recorder().run).remove(profile), 'removed');
  // What 3.0.8 prints and exits with when the kernel has no such profile (-ENOENT & 0xff).
  const notLoaded = { code: 254, stderr: `/sbin/apparmor_parser: Unable to remove "libvirt-6f1d2c3b-0000-4000-8000-000000000001".  Profile doesn't exist\n` };
  t.is(new ProfileLoader(options, recorder(notLoaded).run).remove(profile), 'not-loaded');
  t.is(new ProfileLoader(options, recorder({ code: 254 }).run).remove(profile), 'not-loaded');
  t.is(new ProfileLoader(options, recorder({ ...notLoaded, code: 1 }).run).remove(profile), 'not-loaded');
  // libvirt's virt-aa-helper takes 234 as "already unloaded".
  t.is(new ProfileLoader(options, recorder({ code: 234 }).run).remove(profile), 'not-loaded');
});

test('remove in compile-only mode runs nothing: nothing was ever loaded', (t) => {
  const { run, calls } = recorder();
  t.is(new ProfileLoader({ ...options, compileOnly: true }, run).remove(profile), 'not-loaded');
  t.deepEqual(calls, []);
});

test('a failure carries the exit code and the first three non-empty lines of the output, verbatim', (t) => {
  const stderr = '\nAppArmor parser error for /p in profile /p at line 3: syntax error\n\n  second line\nthird\nfourth\n';
  for (const verb of ['replace', 'remove', 'validate'] as const) {
    const loader = new ProfileLoader(options, recorder({ code: 1, stderr, stdout: 'stdout line\n' }).run);
    const error = t.throws(() => loader[verb](profile), { instanceOf: HostError });
    t.is(error?.message, 'apparmor_parser failed (exit 1): AppArmor parser error for /p in profile /p at line 3: syntax error;   second line; third');
    t.deepEqual(error?.context, { path: profile });
  }
});

test('exit 0 with "AppArmor parser error" in the output is a failure too', (t) => {
  const loader = new ProfileLoader(options, recorder({ code: 0, stdout: 'AppArmor parser error: in /p at line 1: Invalid profile name\n' }).run);
  t.throws(() => loader.replace(profile), { instanceOf: HostError, message: 'apparmor_parser failed (exit 0): AppArmor parser error: in /p at line 1: Invalid profile name' });
  t.notThrows(() => new ProfileLoader(options, recorder({ code: 0, stderr: 'Warning from /p (/p line 3): Caching disabled\n' }).run).replace(profile));
});

test('a parser that is not there: exit 127 with the spawn error', (t) => {
  const loader = new ProfileLoader({ ...options, parser: '/nonexistent/apparmor_parser' });
  t.throws(() => loader.validate(profile), { instanceOf: HostError, message: 'apparmor_parser failed (exit 127): spawnSync /nonexistent/apparmor_parser ENOENT' });
});

// The real apparmor_parser, compile-only, on a real profile.


interface RealSetup {
  readonly dir: string;
  readonly file: string;
  readonly cacheDir: string;
  readonly outputs: CommandResult[];
  readonly loader: ProfileLoader;
}

/** A profile that needs both the base dir (tunables, abi) and our -I dir, and a runner that asks the parser to report cache hits (-k). */
function realSetup(): RealSetup {
  if (apparmorParser === undefined) throw new Error('apparmor_parser is not installed (apt-get install apparmor)');
  const dir = tmp.dirSync({ unsafeCleanup: true }).name;
  const includes = path.join(dir, 'include');
  fs.mkdirSync(path.join(includes, 'abstractions'), { recursive: true });
  fs.writeFileSync(path.join(includes, 'abstractions/test-vm'), '"/srv/vm/disk.qcow2" rwk,\n');
  const file = path.join(dir, 'libvirt', 'libvirt-6f1d2c3b-0000-4000-8000-000000000001');
  fs.mkdirSync(path.dirname(file));
  fs.writeFileSync(
    file,
    [
      'abi <abi/3.0>,',
      '#include <tunables/global>',
      'profile libvirt-6f1d2c3b-0000-4000-8000-000000000001 flags=(attach_disconnected) {',
      '  #include <abstractions/base>',
      '  #include <abstractions/test-vm>',
      '  @{PROC}/@{pid}/stat r,',
      '}',
      '',
    ].join('\n'),
  );
  const outputs: CommandResult[] = [];
  const run: CommandRunner = (parser, args) => {
    const result = runCommand(parser, ['-k', ...args]);
    outputs.push(result);
    return result;
  };
  const cacheDir = path.join(dir, 'cache');
  const loader = new ProfileLoader({ parser: apparmorParser, baseDir: '/etc/apparmor.d', includeDirs: [includes], cacheDir, featuresFile, compileOnly: true }, run);
  return { dir, file, cacheDir, outputs, loader };
}

/** The cache files the parser wrote: `<cacheDir>/<features hash>.0/<profile file name>`. */
function cacheFiles(cacheDir: string): string[] {
  if (!fs.existsSync(cacheDir)) return [];
  return fs.readdirSync(cacheDir, { recursive: true, encoding: 'utf8' }).filter((name) => path.basename(name).startsWith('libvirt-'));
}

test('real parser, compile-only: replace writes the cache, the next replace is a cache hit', (t) => {
  const { file, cacheDir, outputs, loader } = realSetup();
  let started = process.hrtime.bigint();
  loader.replace(file);
  const missMs = Number(process.hrtime.bigint() - started) / 1e6;
  t.regex(outputs[0]?.stderr ?? '', /^Cache miss: /m);
  t.regex(outputs[0]?.stderr ?? '', /^Wrote cache: /m);
  const [cached] = cacheFiles(cacheDir);
  t.regex(cached ?? '', /^[0-9a-f]+\.0\/libvirt-6f1d2c3b-0000-4000-8000-000000000001$/);
  const before = fs.statSync(path.join(cacheDir, cached ?? ''));

  started = process.hrtime.bigint();
  loader.replace(file);
  const hitMs = Number(process.hrtime.bigint() - started) / 1e6;
  t.regex(outputs[1]?.stderr ?? '', /^Cache hit: /m);
  t.notRegex(outputs[1]?.stderr ?? '', /Cache miss/);
  const after = fs.statSync(path.join(cacheDir, cached ?? ''));
  t.deepEqual([after.ino, after.mtimeMs], [before.ino, before.mtimeMs], 'a hit does not rewrite the cache');
  t.log(`miss ${missMs.toFixed(0)} ms, hit ${hitMs.toFixed(0)} ms`);

  // A profile (or include) newer than the cache is a miss: why unchanged files must keep their mtime.
  const later = new Date(Date.now() + 5000);
  fs.utimesSync(file, later, later);
  loader.replace(file);
  t.regex(outputs[2]?.stderr ?? '', /^Cache miss: /m);
});

test('real parser: complain mode compiles every time, the parser never caches it', (t) => {
  const { file, cacheDir, outputs, loader } = realSetup();
  loader.replace(file, { complain: true });
  loader.replace(file, { complain: true });
  t.regex(outputs[1]?.stderr ?? '', /Caching disabled for: 'libvirt-6f1d2c3b-0000-4000-8000-000000000001' due to force complain/);
  t.deepEqual(cacheFiles(cacheDir), []);
});

test('real parser: validate passes a good profile without caching, and fails a broken one with the parser\'s own message', (t) => {
  const { dir, file, cacheDir, loader } = realSetup();
  loader.validate(file);
  t.deepEqual(cacheFiles(cacheDir), []);
  const broken = path.join(dir, 'libvirt', 'broken');
  fs.writeFileSync(broken, 'profile broken {\n  /srv/x rw\n}\n');
  const error = t.throws(() => loader.validate(broken), { instanceOf: HostError });
  t.is(error?.message, `apparmor_parser failed (exit 1): AppArmor parser error for ${broken} in profile ${broken} at line 3: syntax error, unexpected TOK_CLOSE, expecting TOK_END_OF_RULE`);
  t.deepEqual(error?.context, { path: broken });
});

test('real parser: remove without an AppArmor kernel fails with the parser\'s reason', (t) => {
  const { file } = realSetup();
  const loader = new ProfileLoader({ parser: apparmorParser ?? '', baseDir: '/etc/apparmor.d', includeDirs: [path.join(path.dirname(path.dirname(file)), 'include')], cacheDir: '/nonexistent', featuresFile, compileOnly: false });
  if (fs.existsSync('/sys/kernel/security/apparmor')) {
    // A profile never loaded on a host with AppArmor.
    t.is(loader.remove(file), 'not-loaded');
    return;
  }
  const error = t.throws(() => loader.remove(file), { instanceOf: HostError });
  t.regex(error?.message ?? '', /^apparmor_parser failed \(exit 1\): Warning: unable to find a suitable fs in \/proc\/mounts, is it mounted\?; Use --subdomainfs to override\.$/);
});
