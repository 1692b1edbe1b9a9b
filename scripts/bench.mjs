#!/usr/bin/env node
// npm run bench: what virt-aa-hook costs, each figure next to a reference
// measured in the same run on this machine: every hook event against `node
// -e 0`, the prepare hook and our virt-aa-helper against libvirt's own
// helper and apparmor_parser, synthesis as disks are added, a hundred
// domains prepared at once, peak memory, and where a hook call's time goes.
// A row and its reference are sampled in turn (ours, reference, ours, ...),
// so a load that comes and goes hits both alike. Prints medians and ratios;
// claims belong here, not in timed unit tests.
//
//   BENCH_RUNS=N (default 21)   samples per row
//   BENCH_ONLY=word             only the sections whose name contains it
//   BENCH_COMPARE=DIR           another checkout (built), e.g. of an earlier commit: its
//                               hook and helper are sampled in turn with ours, as "before"

import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.env.BENCH_RUNS ?? 21);
const only = process.env.BENCH_ONLY;
const node = process.execPath;
const hook = path.join(root, 'dist/hooks/qemu');
const ourHelper = path.join(root, 'dist/virt-aa-helper');
const example = fs.readFileSync(path.join(root, 'test/fixtures/example-vm.xml'), 'utf8');
const parser = ['/usr/sbin/apparmor_parser', '/sbin/apparmor_parser'].find((f) => fs.existsSync(f));
const features = ['/usr/share/apparmor-features/features'].find((f) => fs.existsSync(f));
const libvirtTemplate = '/etc/apparmor.d/libvirt/TEMPLATE.qemu';
const gnuTime = ['/usr/bin/time'].find((f) => fs.existsSync(f));
/** libvirt's own helper: the ELF binary, wherever an install of ours moved it. */
const libvirtHelper = ['/usr/lib/libvirt/virt-aa-helper.distrib', '/usr/lib/libvirt/virt-aa-helper'].find((file) => {
  try {
    return fs.readFileSync(file).subarray(0, 4).toString('latin1') === '\x7fELF';
  } catch {
    return false;
  }
});

spawnSync(node, [path.join(root, 'scripts/build.mjs')], { stdio: 'inherit' });
const compareRoot = process.env.BENCH_COMPARE === undefined ? undefined : path.resolve(process.env.BENCH_COMPARE);
if (compareRoot !== undefined) spawnSync(node, [path.join(compareRoot, 'scripts/build.mjs')], { stdio: 'inherit', cwd: compareRoot });
/** The same command run with the other checkout's bundle (BENCH_COMPARE), or undefined. */
function before(command) {
  if (compareRoot === undefined) return undefined;
  const bundle = path.relative(root, command.args[0]);
  return { ...command, args: [path.join(compareRoot, bundle), ...command.args.slice(1)], after: undefined };
}
/** The extra columns of a row measured against BENCH_COMPARE's checkout too. */
const beforeColumns = (ms, reference) => (compareRoot === undefined ? {} : { before: fmt(ms), 'before ratio': ratio(ms, reference) });

const skipped = [];
const sections = [];
const load = [loadavg()[0]];

// ---------------------------------------------------------------------------
// Measuring

const median = (samples) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)];

/** Runs a command once; returns its wall time in ms. `before` runs untimed ahead of it. */
function once(command) {
  command.before?.();
  const start = process.hrtime.bigint();
  const result = spawnSync(command.file, command.args, { input: command.input ?? '', encoding: 'utf8', env: command.env ?? process.env, maxBuffer: 64 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0 && command.mayFail !== true) throw new Error(`${command.file} ${command.args.join(' ')} exited ${result.status}: ${result.stderr}`);
  command.after?.(result);
  return ms;
}

/** Median wall time of each command, sampled in turn after one warm-up each. */
function measure(...commands) {
  for (const command of commands) once(command);
  const samples = commands.map(() => []);
  for (let i = 0; i < runs; i++) commands.forEach((command, j) => samples[j].push(once(command)));
  load.push(loadavg()[0]);
  return samples.map(median);
}

const fmt = (ms) => (ms === undefined ? 'n/a' : ms.toFixed(1));
const ratio = (ours, reference) => (reference === undefined || ours === undefined ? 'n/a' : `${(ours / reference).toFixed(2)}x`);

/** Each section says the load average it started under (the one-minute figure lags). */
let sectionLoad = loadavg()[0];
function section(name, rows, note) {
  sections.push({ name: `${name} [load ${sectionLoad.toFixed(2)} at its start]`, rows, note });
  sectionLoad = loadavg()[0];
}

const wanted = (name) => only === undefined || name.includes(only);

// ---------------------------------------------------------------------------
// A throwaway host: AppArmor directory, state, caches, a compile-only loader.

const dir = fs.realpathSync(fs.mkdtempSync(path.join(tmpdir(), 'virt-aa-hook-bench-')));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
const aaDir = path.join(dir, 'apparmor.d');
fs.mkdirSync(path.join(aaDir, 'virt-aa-hook'), { recursive: true });
fs.copyFileSync(path.join(root, 'apparmor.d/virt-aa-hook/TEMPLATE.qemu'), path.join(aaDir, 'virt-aa-hook/TEMPLATE.qemu'));
const wrapperDir = path.join(dir, 'wrappers');
const logFile = path.join(dir, 'log');
const paths = {
  apparmorDir: aaDir,
  cacheDir: path.join(dir, 'cache'),
  stateDir: path.join(dir, 'state'),
  runDir: path.join(dir, 'run'),
  wrapperDir,
  logFile,
  apparmorParser: parser ?? '/usr/sbin/apparmor_parser',
  includeDirs: [path.join(root, 'apparmor.d'), '/etc/apparmor.d'],
  ...(features === undefined ? {} : { featuresFile: features }),
  ...(libvirtHelper === undefined ? {} : { originalHelper: libvirtHelper }),
};
function writeConfig(name, extra = {}) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify({ loader: 'compile-only', ...extra, paths: { ...paths, ...(extra.paths ?? {}) } }));
  return file;
}
const config = writeConfig('config.json');
// The V8 code cache of the bundles goes to a directory of this run (issue 14): warm from the first warm-up on.
const codeCache = path.join(dir, 'code-cache');
fs.mkdirSync(codeCache);
const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', VIRT_AA_HOOK_CONFIG: config, VIRT_AA_HOOK_CODE_CACHE: codeCache, VIRT_AA_HOOK_TIMING: '1' };

const uuid = /<uuid>([^<]+)<\/uuid>/.exec(example)[1];
const label = `libvirt-${uuid}`;
const enrol = (xml) => xml.replace(/<emulator>[^<]*<\/emulator>/, `<emulator>${wrapperDir}/virt-aa-hook.qemu-system-x86_64</emulator>`);
const enrolled = enrol(example);
const profileFiles = (u = uuid) => [path.join(aaDir, 'libvirt', `libvirt-${u}`), path.join(aaDir, 'libvirt', `libvirt-${u}.files`), path.join(paths.stateDir, 'domains', `${u}.json`)];

const hookCommand = (op, subop, extra = {}) => ({ file: node, args: [hook, 'web-01', op, subop, '-'], input: enrolled, env, ...extra });
const runHook = (op, subop, xml = enrolled, name = 'web-01') => once({ file: node, args: [hook, name, op, subop, '-'], input: xml, env });
// In the hook's environment: this one's may hold NODE_EXTRA_CA_CERTS or NODE_OPTIONS, which make
// every Node start slower (a CA bundle in the environment here took 80 ms), and libvirt passes none.
const nodeE0 = { file: node, args: ['-e', '0'], env };
const emptyScript = path.join(dir, 'empty.js');
fs.writeFileSync(emptyScript, '');
const clearParserCache = () => fs.rmSync(paths.cacheDir, { recursive: true, force: true });
const reset = () => {
  runHook('release', 'end');
  for (const file of profileFiles()) fs.rmSync(file, { force: true });
};

/** The phases the last line of the log has (VIRT_AA_HOOK_TIMING=1 makes the hook and helper log `timing=phase:ms,...`). */
function lastTiming() {
  const lines = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').trimEnd().split('\n') : [];
  const field = / timing=(\S+)/.exec(lines.at(-1) ?? '')?.[1];
  return field === undefined ? undefined : Object.fromEntries(field.split(',').map((kv) => kv.split(':')).map(([k, v]) => [k, Number(v)]));
}

// ---------------------------------------------------------------------------
// libvirt's path: its helper and apparmor_parser compiling its profile.

const libvirtUsable = libvirtHelper !== undefined && process.getuid?.() === 0 && parser !== undefined && fs.existsSync(libvirtTemplate);
if (!libvirtUsable) skipped.push(`libvirt's path: needs libvirt's virt-aa-helper (ELF), root, apparmor_parser and ${libvirtTemplate}`);
const parserFlags = ['-Q', '-K', ...(features === undefined ? [] : ['-M', features])];

/** libvirt's complete profile for a domain: its template with the rules its helper prints (dry run) inline. */
function libvirtProfile(xml, name, extraRules = []) {
  const run = spawnSync(libvirtHelper, ['-d', '-r', '-u', `libvirt-${/<uuid>([^<]+)<\/uuid>/.exec(xml)[1]}`], { input: xml, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`libvirt's helper failed: ${run.stderr}`);
  const rules = run.stderr.split('\n').filter((l) => /^\s+("|deny )/.test(l));
  const file = path.join(dir, `libvirt-profile-${name}`);
  const text = fs.readFileSync(libvirtTemplate, 'utf8').replace('LIBVIRT_TEMPLATE', `libvirt-${/<uuid>([^<]+)<\/uuid>/.exec(xml)[1]}`);
  fs.writeFileSync(file, text.replace(/\n}\s*$/, `\n${[...rules, ...extraRules].join('\n')}\n}\n`));
  return file;
}
const libvirtHelperCommand = (args, xml = example) => ({ file: libvirtHelper, args: ['-d', ...args], input: xml });
const libvirtCompile = (profile) => ({ file: parser, args: [...parserFlags, profile] });

// ---------------------------------------------------------------------------
// 1. Every hook event against node -e 0; prepare also against libvirt's path.

const events = {};
/** Per hook event row, the phases each measured run logged. */
const breakdown = new Map();
if (wanted('hook')) {
  reset();
  const prepare = (x) => runHook('prepare', 'begin', x);
  const rows = [];
  const event = (what, command) => {
    const phases = [];
    const other = before(command);
    const [ours, reference, earlier] = measure({ ...command, after: () => phases.push(lastTiming()) }, nodeE0, ...(other === undefined ? [] : [other]));
    if (phases[0] !== undefined) breakdown.set(what, phases.slice(1));
    events[what] = ours;
    rows.push({ what, ours: fmt(ours), reference: `${fmt(reference)} (node -e 0)`, ratio: ratio(ours, reference), ...beforeColumns(earlier, reference) });
  };
  event('prepare, cold parser cache', hookCommand('prepare', 'begin', { before: () => { reset(); clearParserCache(); } }));
  event('prepare, domain started before', hookCommand('prepare', 'begin', { before: reset }));
  event('start (XML as at prepare)', hookCommand('start', 'begin', { before: () => { reset(); prepare(); } }));
  event('started', hookCommand('started', 'begin'));
  event('stopped', hookCommand('stopped', 'end', { before: () => { prepare(); runHook('start', 'begin'); } }));
  event('release', hookCommand('release', 'end', { before: () => { prepare(); runHook('start', 'begin'); runHook('stopped', 'end'); } }));
  event('a no-op event (an unknown operation)', hookCommand('some-future-op', 'begin', { input: '' }));
  event('a no-op event, no code cache', hookCommand('some-future-op', 'begin', { input: '', env: { ...env, VIRT_AA_HOOK_CODE_CACHE: 'off' } }));
  const [empty, e0] = measure({ file: node, args: [emptyScript], env }, nodeE0);
  rows.push({ what: 'node running an empty file, for scale', ours: fmt(empty), reference: `${fmt(e0)} (node -e 0)`, ratio: ratio(empty, e0) });
  section('hook events against node -e 0 (compile-only loader: apparmor_parser compiles and caches, loads nothing)', rows);
}

let libvirtPath;
if (wanted('hook') && libvirtUsable) {
  const profile = libvirtProfile(example, 'example');
  const [helperMs, compileMs] = measure(libvirtHelperCommand(['-c', '-u', label]), libvirtCompile(profile));
  libvirtPath = helperMs + compileMs;
  const reference = `${fmt(libvirtPath)} (virt-aa-helper -d -c ${fmt(helperMs)} + apparmor_parser ${fmt(compileMs)})`;
  const sum = (prepare) => prepare + events['start (XML as at prepare)'] + events.started;
  section("prepare against libvirt's path", [
    { what: 'prepare, cold parser cache', ours: fmt(events['prepare, cold parser cache']), reference, ratio: ratio(events['prepare, cold parser cache'], libvirtPath) },
    { what: 'prepare, domain started before', ours: fmt(events['prepare, domain started before']), reference, ratio: ratio(events['prepare, domain started before'], libvirtPath) },
    { what: "one VM's start: prepare (cold) + start + started", ours: fmt(sum(events['prepare, cold parser cache'])), reference, ratio: ratio(sum(events['prepare, cold parser cache']), libvirtPath) },
    { what: "one VM's start: prepare (started before) + start + started", ours: fmt(sum(events['prepare, domain started before'])), reference, ratio: ratio(sum(events['prepare, domain started before']), libvirtPath) },
  ], `libvirt's path: what libvirt's AppArmor driver runs at a start, its virt-aa-helper -c (here in dry run, -d: it cannot write /etc/apparmor.d/libvirt or load a profile on this kernel) plus apparmor_parser ${parserFlags.join(' ')} compiling libvirt's profile for this domain (${libvirtTemplate} with the helper's rules inline); libvirt runs the parser without a cache, so a second start costs the same. Sums are of medians.`);
}

// ---------------------------------------------------------------------------
// 2. Our virt-aa-helper against libvirt's, command by command.

if (wanted('helper') && libvirtUsable) {
  const helperEnv = env;
  const ours = (args, extra = {}) => ({ file: node, args: [ourHelper, ...args], input: example, env: helperEnv, ...extra });
  const fresh = () => {
    for (const file of profileFiles()) fs.rmSync(file, { force: true });
  };
  const created = () => {
    fresh();
    once(ours(['-c', '-u', label]));
  };
  const hotplug = path.join(dir, 'hotplug.qcow2');
  fs.writeFileSync(hotplug, '');
  const profile = libvirtProfile(example, 'example');
  const hotplugProfile = libvirtProfile(example, 'hotplug', [`  "${hotplug}" rwk,`]);
  const rows = [];
  const row = (what, command, libvirtArgs, libvirtProfileFile) => {
    const other = before(command);
    const [o, h, c, earlier] = measure(command, libvirtHelperCommand(libvirtArgs), libvirtCompile(libvirtProfileFile), ...(other === undefined ? [] : [other]));
    rows.push({ what, ours: fmt(o), reference: `${fmt(h + c)} (virt-aa-helper -d ${libvirtArgs.join(' ').replace(label, '…')} ${fmt(h)} + apparmor_parser ${fmt(c)})`, ratio: ratio(o, h + c), ...beforeColumns(earlier, h + c) });
  };
  row('-c, no parser cache (a first start)', ours(['-c', '-u', label], { before: () => { fresh(); clearParserCache(); } }), ['-c', '-u', label], profile);
  row('-c, domain started before', ours(['-c', '-u', label], { before: fresh }), ['-c', '-u', label], profile);
  const filesFile = profileFiles()[1];
  row('-r, rules changed, no parser cache', ours(['-r', '-u', label], { before: () => { created(); fs.appendFileSync(filesFile, '# stale\n'); clearParserCache(); } }), ['-r', '-u', label], profile);
  row('-r, nothing changed', ours(['-r', '-u', label], { before: created }), ['-r', '-u', label], profile);
  row('-r -F (hotplug of a new path), no parser cache', ours(['-r', '-u', label, '-F', hotplug], { before: () => { created(); clearParserCache(); } }), ['-r', '-u', label, '-F', hotplug], hotplugProfile);
  section("our virt-aa-helper against libvirt's (ours for real, compile-only loader)", rows, "reference: libvirt's virt-aa-helper with the same arguments in dry run (-d) plus apparmor_parser compiling libvirt's complete profile, which libvirt's helper runs after every -c and -r (it never uses a parser cache).");
}

// ---------------------------------------------------------------------------
// 3. Synthesis as a domain grows: 1, 10, 100 and 1,000 disks.

function domainWithDisks(count, name = `disks-${count}`, uuidTail = count.toString(16).padStart(12, '0')) {
  const images = path.join(dir, 'images');
  fs.mkdirSync(images, { recursive: true });
  const target = (i) => `vd${i.toString(26).split('').map((d) => String.fromCharCode(97 + parseInt(d, 26))).join('').padStart(2, 'a')}`;
  const disks = Array.from({ length: count }, (_, i) => {
    const image = path.join(images, `disk-${i}.raw`);
    if (!fs.existsSync(image)) fs.writeFileSync(image, '');
    return `    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${image}'/><target dev='${target(i)}' bus='virtio'/></disk>`;
  });
  return example
    .replace('<name>web-01</name>', `<name>${name}</name>`)
    .replace(/<uuid>[^<]+<\/uuid>/, `<uuid>00000000-0000-4000-8000-${uuidTail}</uuid>`)
    .replace(/ {4}<disk type='file' device='disk'>[\s\S]*?<\/disk>\n/, `${disks.join('\n')}\n`);
}

if (wanted('disks')) {
  const rows = [];
  let one;
  let oneOwn;
  for (const count of [1, 10, 100, 1000]) {
    const xml = domainWithDisks(count);
    const u = /<uuid>([^<]+)<\/uuid>/.exec(xml)[1];
    const phases = [];
    const mine = { file: node, args: [ourHelper, '-d', '-r', '-u', `libvirt-${u}`], input: xml, env, after: () => phases.push(lastTiming()) };
    const theirs = libvirtUsable ? { file: libvirtHelper, args: ['-d', '-r', '-u', `libvirt-${u}`], input: xml } : undefined;
    const other = before(mine);
    const medians = measure(...[mine, theirs, other].filter((c) => c !== undefined));
    const [ours, reference, earlier] = [medians[0], theirs === undefined ? undefined : medians[1], other === undefined ? undefined : medians.at(-1)];
    const own = phases[0] === undefined ? undefined : median(phases.map((p) => p.work));
    one ??= ours;
    oneOwn ??= own;
    rows.push({
      what: `${count} disk${count === 1 ? '' : 's'}: our virt-aa-helper -d -r`,
      ours: fmt(ours),
      reference: `${fmt(reference)} (libvirt's virt-aa-helper -d -r)`,
      ratio: ratio(ours, reference),
      'vs 1 disk': ratio(ours, one),
      'own work ms (vs 1 disk)': `${fmt(own)} (${ratio(own, oneOwn)})`,
      ...(compareRoot === undefined ? {} : { before: fmt(earlier) }),
    });
  }
  section('synthesis as a domain grows (dry run: rules printed, nothing written or compiled)', rows, 'raw disk images (never probed); own work: the helper from reading its configuration to printing the rules, without Node and the bundle.');
}

// ---------------------------------------------------------------------------
// 4. Peak memory (GNU time's maximum resident set size: of the process, or of
//    the apparmor_parser it ran when that was larger).

if (wanted('memory') && gnuTime !== undefined) {
  const rss = (command) => {
    command.before?.();
    const run = spawnSync(gnuTime, ['-f', 'rss=%M', command.file, ...command.args], { input: command.input ?? '', encoding: 'utf8', env: command.env ?? process.env });
    return Number(/rss=(\d+)/.exec(run.stderr)?.[1]) / 1024;
  };
  const peak = (command) => median(Array.from({ length: 5 }, () => rss(command)));
  const base = peak(nodeE0);
  const rows = [
    { what: 'hook, no-op event', command: hookCommand('some-future-op', 'begin', { input: '' }) },
    { what: 'hook, prepare (cold parser cache)', command: hookCommand('prepare', 'begin', { before: () => { reset(); clearParserCache(); } }) },
    { what: 'hook, start', command: hookCommand('start', 'begin') },
    { what: 'our helper, -c (cold parser cache)', command: { file: node, args: [ourHelper, '-c', '-u', label], input: example, env, before: () => { for (const f of profileFiles()) fs.rmSync(f, { force: true }); clearParserCache(); } } },
    { what: 'our helper, -d -r with 1,000 disks', command: { file: node, args: [ourHelper, '-d', '-r', '-u', 'libvirt-00000000-0000-4000-8000-0000000003e8'], input: domainWithDisks(1000), env } },
  ].map(({ what, command }) => {
    const mb = peak(command);
    return { what: `${what} (MiB)`, ours: fmt(mb), reference: `${fmt(base)} (node -e 0)`, ratio: ratio(mb, base) };
  });
  if (libvirtUsable) rows.push({ what: "libvirt's helper, -d -c (MiB)", ours: fmt(peak(libvirtHelperCommand(['-c', '-u', label]))), reference: 'n/a', ratio: 'n/a' });
  section('peak resident memory', rows);
} else if (wanted('memory')) {
  skipped.push('peak memory: needs GNU time (/usr/bin/time)');
}

// ---------------------------------------------------------------------------
// 5. The log line: to a file, or to the system log.

if (wanted('log')) {
  const noop = (configFile) => hookCommand('some-future-op', 'begin', { input: '', env: { ...env, VIRT_AA_HOOK_CONFIG: configFile } });
  // A stand-in for journald's stream socket, in a process of its own: it reads and drops every line.
  const journalSocket = path.join(dir, 'journal-stdout');
  const journal = spawn(node, ['-e', `require('node:net').createServer((c) => c.resume()).listen(${JSON.stringify(journalSocket)})`], { stdio: 'ignore' });
  while (!fs.existsSync(journalSocket)) spawnSync('sleep', ['0.05']);
  const toFile = noop(config);
  // A checkout from before the journald log line has no such setting (the bench measures old code too).
  const hasJournal = fs.readFileSync(path.join(root, 'lib/config.ts'), 'utf8').includes('journalSocket');
  const toJournal = hasJournal ? noop(writeConfig('config-journal.json', { paths: { logFile: null, journalSocket } })) : undefined;
  const toLogger = noop(writeConfig('config-logger.json', { paths: { logFile: null, ...(hasJournal ? { journalSocket: path.join(dir, 'no-journal') } : {}) } }));
  const [file, logger, reference, journald] = measure(toFile, toLogger, nodeE0, ...(toJournal === undefined ? [] : [toJournal]));
  journal.kill();
  const hasDevLog = fs.existsSync('/dev/log');
  const row = (what, ms) => ({ what, ours: fmt(ms), reference: `${fmt(reference)} (node -e 0)`, ratio: ratio(ms, reference), 'cost of the line': ms === undefined ? 'n/a' : fmt(ms - file) });
  section('the log line of a no-op event', [
    row('to paths.logFile', file),
    row("to the system log through journald's stream socket (a stand-in here)", journald),
    row(`to the system log through logger(1), where journald is not running${hasDevLog ? '' : ' (no /dev/log on this machine: logger drops it)'}`, logger),
  ], 'cost of the line: the difference to the run that appends it to a file.');
}

// ---------------------------------------------------------------------------
// 6. Where a hook call's time goes: medians of the phases the hook logs with
//    VIRT_AA_HOOK_TIMING=1 during section 1.

if (breakdown.size > 0) {
  const phase = (lines, name) => median(lines.map((p) => p[name] ?? 0));
  section(
    'where a hook call goes (ms, medians of the runs above)',
    [...breakdown].map(([event, lines]) => ({
      event,
      ...Object.fromEntries(['node', 'load', 'read', 'compile', 'init', 'config', 'input', 'xml', 'synthesis', 'parser'].map((name) => [name, lines.some((p) => name in p) || !['read', 'compile', 'init'].includes(name) ? fmt(phase(lines, name)) : 'n/a'])),
      'rest of work': fmt(median(lines.map((p) => (p.work ?? 0) - (p.xml ?? 0) - (p.synthesis ?? 0) - (p.parser ?? 0)))),
    })),
    "node: Node.js's own start, to the end of its bootstrap; load: reading, compiling and initializing the bundle, of which read (the bundle and its code cache), compile (or deserialize) and init (running the modules' top level) through the code-cache loader; config: reading the configuration; input: reading the domain XML; xml: parsing it; synthesis: the rules from the XML and the host (paths, image headers); parser: waiting for apparmor_parser; rest of work: state, lock, files, deciding. Writing the log line comes after and is in the log section.",
  );
}

// ---------------------------------------------------------------------------
// 7. A hundred domains prepared at once on this machine's cores: last, as it
//    leaves the load average high for a minute.

if (wanted('concurrent')) {
  const count = 100;
  const xmls = Array.from({ length: count }, (_, i) => enrol(domainWithDisks(1, `many-${i}`, (0x100000 + i).toString(16).padStart(12, '0'))));
  const started = process.hrtime.bigint();
  const results = await Promise.all(
    xmls.map(
      (xml, i) =>
        new Promise((resolve) => {
          const child = spawn(node, [hook, `many-${i}`, 'prepare', 'begin', '-'], { env, stdio: ['pipe', 'ignore', 'pipe'] });
          let stderr = '';
          child.stderr.on('data', (d) => (stderr += d));
          child.on('close', (code) => resolve({ code, stderr }));
          child.stdin.end(xml);
        }),
    ),
  );
  const wall = Number(process.hrtime.bigint() - started) / 1e6;
  load.push(loadavg()[0]);
  const failed = results.filter((r) => r.code !== 0);
  for (const [i, xml] of xmls.entries()) runHook('release', 'end', xml, `many-${i}`);
  section(`${count} domains prepared at once on ${cpus().length} cores (cold parser cache, each its own profile)`, [
    { what: 'wall time until the last prepare exits', ours: fmt(wall), reference: `${fmt(wall / count)} per domain`, ratio: 'n/a' },
    { what: 'errors', ours: String(failed.length), reference: failed.length === 0 ? 'none' : failed[0].stderr.trim(), ratio: 'n/a' },
  ]);
}

// ---------------------------------------------------------------------------

console.log(`virt-aa-hook benchmark, median of ${runs} runs each (BENCH_RUNS to change), ${new Date().toISOString()}, node ${process.version}, ${cpus().length} cores, load average ${Math.min(...load).toFixed(2)}-${Math.max(...load).toFixed(2)} during the run`);
for (const { name, rows, note } of sections) {
  console.log(`\n${name}`);
  console.table(rows);
  if (note !== undefined) console.log(note);
}
for (const reason of skipped) console.log(`skipped: ${reason}`);
