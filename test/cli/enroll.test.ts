// `enroll --all --dry-run` and `unenroll --all --dry-run` against libvirt's
// own test driver (virsh --connect test:///<file>): a real virsh with the
// domains of a file, nothing of this host's libvirt touched.

import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hostEmulators } from '../../lib/cli/setup.ts';
import { wrapperPathFor } from '../../lib/wrapper.ts';
import { runCapture } from '../helpers/cli.ts';
import { hookEnv } from '../helpers/hook-env.ts';

const virshPresent = ['/usr/bin/virsh', '/bin/virsh'].some((p) => fs.existsSync(p));
const virshTest = virshPresent ? test : test.skip;

const record = (emulator: string, mode = 'wrapper'): string => `<metadata><vah:enrollment xmlns:vah='https://github.com/virt-aa-hook/virt-aa-hook/enrollment/1' mode='${mode}' emulator='${emulator}'/></metadata>`;
const domain = (name: string, n: number, emulator: string, extra = ''): string =>
  `<domain type='test'><name>${name}</name><uuid>11111111-0000-4000-8000-00000000000${n}</uuid>${extra}<memory>65536</memory><os><type>hvm</type></os><devices><emulator>${emulator}</emulator></devices></domain>`;

function setup() {
  const env = hookEnv({ libvirtDriver: 'inactive', domains: { optout: { confine: false } } });
  const { emulatorDir, wrapperDir } = env.config.paths;
  const node = path.join(env.root, 'node.xml');
  fs.writeFileSync(
    node,
    `<node>\n${[
      domain('plain', 1, '/usr/bin/qemu-system-x86_64'),
      domain('legacy', 2, `${wrapperDir}/virt-aa-hook.qemu-system-x86_64`, record('/usr/bin/qemu-system-x86_64')),
      domain('fresh', 3, `${emulatorDir}/qemu-system-x86_64`),
      domain('optout', 4, '/usr/bin/qemu-system-x86_64'),
      domain('opt', 5, '/opt/qemu/bin/qemu-system-x86_64'),
    ].join('\n')}\n</node>\n`,
  );
  return { env, connect: `test://${node}` };
}

virshTest('enroll --all --dry-run says what would change, domain by domain, and changes nothing', async (t) => {
  const { env, connect } = setup();
  const { emulatorDir, wrapperDir } = env.config.paths;
  const usual = wrapperPathFor(emulatorDir, '/usr/bin/qemu-system-x86_64', hostEmulators());
  const run = await runCapture(['enroll', '--all', '--dry-run', '--connect', connect, '--config-file', env.configFile]);
  t.is(run.code, 0, run.stderr);
  t.is(
    run.stdout,
    [
      `domain 'plain': would enroll: <emulator> /usr/bin/qemu-system-x86_64 -> ${usual}`,
      `domain 'legacy': would enroll: <emulator> ${wrapperDir}/virt-aa-hook.qemu-system-x86_64 -> ${usual}`,
      `domain 'fresh': already runs through the wrapper ${emulatorDir}/qemu-system-x86_64`,
      `domain 'optout': the configuration says "confine": false`,
      `domain 'opt': would enroll: <emulator> /opt/qemu/bin/qemu-system-x86_64 -> ${emulatorDir}/by-path/opt/qemu/bin/qemu-system-x86_64`,
      '',
    ].join('\n'),
  );
  t.false(fs.existsSync(emulatorDir), 'no wrapper written');
});

virshTest('unenroll --all --dry-run takes every wrapper out: recorded or named by the daemon\'s PATH', async (t) => {
  const { env, connect } = setup();
  const { emulatorDir, wrapperDir } = env.config.paths;
  // The wrapper a domain got from the daemon's PATH says what it wraps.
  fs.mkdirSync(emulatorDir, { recursive: true });
  fs.writeFileSync(`${emulatorDir}/qemu-system-x86_64`, "#!/bin/sh\n# virt-aa-hook emulator wrapper\nreal='/usr/bin/qemu-system-x86_64'\n");
  const run = await runCapture(['unenroll', '--all', '--dry-run', '--connect', connect, '--config-file', env.configFile]);
  t.is(run.code, 0, run.stderr);
  t.deepEqual(run.stdout.split('\n').filter((l) => l !== ''), [
    "domain 'plain' is not enrolled",
    `domain 'legacy': would unenroll: <emulator> ${wrapperDir}/virt-aa-hook.qemu-system-x86_64 -> /usr/bin/qemu-system-x86_64`,
    `domain 'fresh': would unenroll: <emulator> ${emulatorDir}/qemu-system-x86_64 -> /usr/bin/qemu-system-x86_64`,
    "domain 'optout' is not enrolled",
    "domain 'opt' is not enrolled",
  ]);
});

test('enroll needs a domain or --all, not both', async (t) => {
  const env = hookEnv();
  for (const argv of [['enroll'], ['enroll', 'web', '--all'], ['unenroll']]) {
    const run = await runCapture([...argv, '--config-file', env.configFile]);
    t.is(run.code, 64, argv.join(' '));
    t.regex(run.stderr, /name one domain, or --all/);
  }
});

virshTest("enroll refuses where libvirt's AppArmor driver is active: the wrapper cannot run there", async (t) => {
  const env = hookEnv({ libvirtDriver: 'active' });
  const { connect } = setup();
  const run = await runCapture(['enroll', 'plain', '--connect', connect, '--config-file', env.configFile]);
  t.is(run.code, 64);
  t.regex(run.stderr, /libvirt's AppArmor driver is active on this host/);
});
