// Every domain definition of the shared corpus through `generate --profile`:
// no crash and no exit code but 0 or 2; every QEMU/KVM domain libvirt accepts
// gives a profile that apparmor_parser compiles, or a clear refusal; other
// domain types are refused as unsupported.

import test from 'ava';
import { compileProfiles } from './helpers/apparmor-parser.ts';
import { emptyConfig, runCapture, type CliRun } from './helpers/cli.ts';
import { corpusDir, corpusFiles, corpusPresent, qemuTypes, type CorpusFile } from './helpers/corpus.ts';

if (!corpusPresent) {
  test.skip(`corpus: no corpus at ${corpusDir} (set VIRT_AA_HOOK_CORPUS)`, () => {});
} else {
  const files = corpusFiles();
  const runs = new Map<CorpusFile, CliRun>();
  test.before(async () => {
    for (const file of files) runs.set(file, await runCapture(['generate', '--config-file', emptyConfig, '--profile', file.file]));
  });

  test('no crash, no stack trace, only exit codes 0 and 2, one line per message', (t) => {
    for (const [file, run] of runs) {
      t.true(run.code === 0 || run.code === 2, `${file.name}: exit ${run.code}: ${run.stderr}`);
      for (const line of run.stderr.split('\n').filter((l) => l !== '')) {
        t.regex(line, /^virt-aa-hook: (error|warning): /, `${file.name}: ${line}`);
      }
    }
  });

  test('domains of other hypervisors are refused as unsupported', (t) => {
    const others = [...runs].filter(([f]) => f.libvirtAccepts && f.domainType !== undefined && !qemuTypes.has(f.domainType));
    t.true(others.length > 0);
    for (const [file, run] of others) {
      t.is(run.code, 2, file.name);
      t.regex(run.stderr, /unsupported domain type/, file.name);
    }
  });

  test('at least 99% of the QEMU/KVM domains libvirt accepts give a profile that compiles', (t) => {
    const accepted = [...runs].filter(([f]) => f.libvirtAccepts && f.domainType !== undefined && qemuTypes.has(f.domainType));
    const produced = accepted.filter(([, run]) => run.code === 0);
    const failures: string[] = [];
    for (let i = 0; i < produced.length; i += 100) {
      const batch = produced.slice(i, i + 100);
      if (compileProfiles(batch.map(([, run]) => run.stdout)).ok) continue;
      for (const [file, run] of batch) {
        const result = compileProfiles([run.stdout]);
        if (!result.ok) failures.push(`${file.name}: ${result.output}`);
      }
    }
    t.deepEqual(failures, [], 'every profile produced compiles');
    const refused = accepted.filter(([, run]) => run.code !== 0);
    t.log(`${accepted.length} accepted QEMU/KVM domains: ${produced.length} profiles compiled, ${refused.length} refused`);
    for (const [file, run] of refused) t.log(`  refused ${file.name}: ${run.stderr.trim()}`);
    t.true(produced.length >= Math.ceil(accepted.length * 0.99), `${produced.length} of ${accepted.length}`);
  });
}
