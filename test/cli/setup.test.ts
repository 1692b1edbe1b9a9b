// `virt-aa-hook setup --root DIR`: the wrappers for a host's emulator set and
// the daemons' PATH drop-in, in a temp root laid out like a host; and the
// drop-in text itself.

import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import tmp from 'tmp';
import { daemonPath, declaredPath, dropInText, withSysvBlock, withoutSysvBlock } from '../../lib/daemon-path.ts';
import { renderWrapper } from '../../lib/wrapper.ts';
import { checkoutRoot } from '../helpers/apparmor-parser.ts';
import { runCapture } from '../helpers/cli.ts';

const template = fs.readFileSync(path.join(checkoutRoot, 'scripts/qemu-wrapper'), 'utf8');
const emulatorDir = '/usr/lib/virt-aa-hook/emulators';
const defaults = '# Customizations for libvirtd\n#LIBVIRTD_ARGS="--listen"\n';

function host(options: { readonly systemd?: boolean; readonly config?: string } = {}) {
  const root = fs.realpathSync(tmp.dirSync({ unsafeCleanup: true }).name);
  const at = (p: string): string => path.join(root, p);
  const put = (p: string, content: string, mode = 0o755): void => {
    fs.mkdirSync(path.dirname(at(p)), { recursive: true });
    fs.writeFileSync(at(p), content, { mode });
  };
  put('usr/bin/qemu-system-x86_64', '#!/bin/sh\n');
  put('usr/bin/qemu-system-aarch64', '#!/bin/sh\n');
  put('usr/local/bin/qemu-system-aarch64', '#!/bin/sh\n');
  put('usr/bin/qemu-img', '#!/bin/sh\n');
  put('usr/bin/qemu-system-riscv64', 'not executable\n', 0o644);
  put('etc/default/libvirtd', defaults, 0o640);
  if (options.systemd === true) fs.mkdirSync(at('etc/systemd/system'), { recursive: true });
  if (options.config !== undefined) put('etc/virt-aa-hook/config.json', options.config, 0o644);
  const setup = (...args: string[]) => runCapture(['setup', '--root', root, ...args]);
  return { root, at, put, setup };
}

test("wrappers for the host's emulator set, the PATH line for Debian's init script, and nothing twice", async (t) => {
  const { root, at, setup } = host();
  const first = await setup();
  t.is(first.code, 0, first.stderr);
  t.deepEqual(fs.readdirSync(at(emulatorDir)).sort(), ['qemu-system-aarch64', 'qemu-system-x86_64']);
  t.is(fs.readFileSync(at(`${emulatorDir}/qemu-system-x86_64`), 'utf8'), renderWrapper(template, '/usr/bin/qemu-system-x86_64'));
  t.is(fs.readFileSync(at(`${emulatorDir}/qemu-system-aarch64`), 'utf8'), renderWrapper(template, '/usr/local/bin/qemu-system-aarch64'), 'the one PATH finds first');
  t.is(fs.statSync(at(`${emulatorDir}/qemu-system-x86_64`)).mode & 0o777, 0o755);
  t.is(fs.readFileSync(at('etc/default/libvirtd'), 'utf8'), withSysvBlock(defaults, emulatorDir));
  t.is(fs.statSync(at('etc/default/libvirtd')).mode & 0o777, 0o640, 'the file keeps its mode');
  t.regex(first.stdout, new RegExp(`^wrote ${root}${emulatorDir}/qemu-system-x86_64: wraps /usr/bin/qemu-system-x86_64$`, 'm'));
  t.false(fs.existsSync(at('etc/systemd')));
  const again = await setup();
  t.is(again.stdout, '', 'nothing to change');
});

test('an upgraded emulator gets its wrapper touched; a removed one loses it; a by-path wrapper stays while its emulator does', async (t) => {
  const { root, at, put, setup } = host();
  await setup();
  const wrapper = at(`${emulatorDir}/qemu-system-x86_64`);
  // The emulator before its wrapper, as setup would have made them: unchanged since.
  put('opt/q/qemu-system-x86_64', '#!/bin/sh\n');
  await new Promise((resolve) => setTimeout(resolve, 20));
  put(`${emulatorDir}/by-path/opt/q/qemu-system-x86_64`, renderWrapper(template, '/opt/q/qemu-system-x86_64'));
  const before = fs.statSync(wrapper).ctimeMs;
  await new Promise((resolve) => setTimeout(resolve, 20));
  // A package upgrade puts a new file in place: a new ctime.
  put('usr/bin/qemu-system-x86_64', '#!/bin/sh\n# 2\n');
  fs.rmSync(at('usr/local/bin/qemu-system-aarch64'));
  fs.rmSync(at('usr/bin/qemu-system-aarch64'));
  const run = await setup();
  t.is(run.code, 0, run.stderr);
  t.deepEqual(run.stdout.split('\n').filter((l) => l !== '').sort(), [
    `removed ${root}${emulatorDir}/qemu-system-aarch64: /usr/local/bin/qemu-system-aarch64 is gone`,
    `touched ${root}${emulatorDir}/qemu-system-x86_64: /usr/bin/qemu-system-x86_64 changed since: libvirt probes its capabilities again`,
  ]);
  t.true(fs.statSync(wrapper).ctimeMs > before);
  t.true(fs.existsSync(at(`${emulatorDir}/by-path/opt/q/qemu-system-x86_64`)));
});

test('with systemd: drop-ins for both daemons, the defaults file untouched; --remove takes all of it back', async (t) => {
  const { at, setup } = host({ systemd: true });
  const run = await setup('--dry-run');
  t.regex(run.stdout, /would write .*libvirtd\.service\.d\/virt-aa-hook-path\.conf/);
  t.false(fs.existsSync(at(emulatorDir)));
  await setup();
  for (const unit of ['libvirtd', 'virtqemud']) t.is(fs.readFileSync(at(`etc/systemd/system/${unit}.service.d/virt-aa-hook-path.conf`), 'utf8'), dropInText(emulatorDir));
  t.is(fs.readFileSync(at('etc/default/libvirtd'), 'utf8'), defaults);
  const removed = await setup('--remove');
  t.is(removed.code, 0, removed.stderr);
  t.deepEqual(fs.readdirSync(at('etc/systemd/system')), []);
  t.false(fs.existsSync(at(emulatorDir)));
});

test("no drop-in where the configuration says libvirt's driver is active; `paths --root` reads the staged configuration; --fresh-install writes the configuration once", async (t) => {
  const active = host({ systemd: true, config: '{"libvirtDriver": "active"}' });
  await active.setup();
  t.false(fs.existsSync(active.at('etc/systemd/system/libvirtd.service.d')));
  t.true(fs.existsSync(active.at(`${emulatorDir}/qemu-system-x86_64`)));
  active.put('etc/virt-aa-hook/config.json', '{"paths": {"emulatorDir": "/opt/vah/emulators"}}', 0o644);
  const paths = await runCapture(['paths', '--shell', '--root', active.root]);
  t.regex(paths.stdout, /^emulatorDir='\/opt\/vah\/emulators'$/m);
  t.regex(paths.stdout, /^wrapperDir='\/usr\/lib\/libvirt'$/m);
  const fresh = host();
  await fresh.setup('--fresh-install');
  t.is(fs.readFileSync(fresh.at('etc/virt-aa-hook/config.json'), 'utf8'), '{\n  "policy": "require"\n}\n');
  const kept = host({ config: '{}\n' });
  await kept.setup('--fresh-install');
  t.is(fs.readFileSync(kept.at('etc/virt-aa-hook/config.json'), 'utf8'), '{}\n');
});

test('the drop-in: [Service] with the wrappers first in systemd\'s default PATH', (t) => {
  const text = dropInText(emulatorDir);
  t.true(text.startsWith('# Written by virt-aa-hook'));
  t.true(text.endsWith(`\n[Service]\nEnvironment=PATH=${emulatorDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n`));
  t.is(declaredPath(text), daemonPath(emulatorDir));
  t.is(declaredPath(withSysvBlock(defaults, emulatorDir)), daemonPath(emulatorDir));
});

test('the PATH block goes in and out of the defaults file byte for byte', (t) => {
  for (const text of [defaults, '', '#no final newline', 'a\n\n']) {
    const added = withSysvBlock(text, emulatorDir);
    t.true(added.startsWith(text));
    t.is(withSysvBlock(added, emulatorDir), added, 'idempotent');
    t.is(withoutSysvBlock(added), text);
    t.is(withoutSysvBlock(`${added}# later\n`), `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}# later\n`);
  }
});
