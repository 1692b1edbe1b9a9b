import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import tmp from 'tmp';
import { appArmorEnabled, loadedProfiles, moduleEnabledFile, processLabel } from '../../lib/apparmor/status.ts';

/** Stand-ins for /sys/module/apparmor/parameters/enabled and the AppArmor securityfs directory. */
function host(files: { readonly enabled?: string; readonly profiles?: string; readonly securityfs?: boolean }): { enabledFile: string; securityfs: string } {
  const dir = tmp.dirSync({ unsafeCleanup: true }).name;
  const enabledFile = path.join(dir, 'enabled');
  const securityfs = path.join(dir, 'apparmor');
  if (files.enabled !== undefined) fs.writeFileSync(enabledFile, files.enabled);
  if (files.securityfs !== false) fs.mkdirSync(securityfs);
  if (files.profiles !== undefined) fs.writeFileSync(path.join(securityfs, 'profiles'), files.profiles);
  return { enabledFile, securityfs };
}

test('enabled when the module says Y and securityfs has its directory', (t) => {
  const { enabledFile, securityfs } = host({ enabled: 'Y\n' });
  t.deepEqual(appArmorEnabled({ securityfs }, enabledFile), { enabled: true });
});

test('each failed check is named in the reason', (t) => {
  let h = host({});
  t.deepEqual(appArmorEnabled({ securityfs: h.securityfs }, h.enabledFile), { enabled: false, reason: `${h.enabledFile} cannot be read (ENOENT): the kernel has no AppArmor` });
  h = host({ enabled: 'N\n' });
  t.deepEqual(appArmorEnabled({ securityfs: h.securityfs }, h.enabledFile), { enabled: false, reason: `${h.enabledFile} reads "N": AppArmor is disabled in the kernel` });
  h = host({ enabled: 'Y\n', securityfs: false });
  t.deepEqual(appArmorEnabled({ securityfs: h.securityfs }, h.enabledFile), { enabled: false, reason: `${h.securityfs} is not a directory: securityfs is not mounted` });
});

test('this host, through the real /sys: enabled exactly when the kernel has AppArmor', (t) => {
  const status = appArmorEnabled({ securityfs: '/sys/kernel/security/apparmor' });
  const kernelSaysY = fs.existsSync(moduleEnabledFile) && fs.readFileSync(moduleEnabledFile, 'utf8').trim() === 'Y';
  t.is(status.enabled, kernelSaysY && fs.existsSync('/sys/kernel/security/apparmor'));
  if (!kernelSaysY) t.regex(status.enabled ? '' : status.reason, /^\/sys\/module\/apparmor\/parameters\/enabled /);
});

test('loaded profiles: names with spaces and parentheses, each with its mode', (t) => {
  const { securityfs } = host({
    profiles: [
      'libvirt-6f1d2c3b-0000-4000-8000-000000000001 (enforce)',
      '/usr/sbin/libvirtd (complain)',
      'name with spaces (enforce)',
      'odd (name) here (kill)',
      'libvirt-6f1d2c3b-0000-4000-8000-000000000001//null-/usr/bin/true (unconfined)',
      '',
    ].join('\n'),
  });
  t.deepEqual(
    [...loadedProfiles({ securityfs })],
    [
      ['libvirt-6f1d2c3b-0000-4000-8000-000000000001', 'enforce'],
      ['/usr/sbin/libvirtd', 'complain'],
      ['name with spaces', 'enforce'],
      ['odd (name) here', 'kill'],
      ['libvirt-6f1d2c3b-0000-4000-8000-000000000001//null-/usr/bin/true', 'unconfined'],
    ],
  );
});

test('no profile list (no AppArmor, not root) is no profile', (t) => {
  t.is(loadedProfiles({ securityfs: host({ securityfs: false }).securityfs }).size, 0);
});

function procRoot(files: Record<string, string>): string {
  const root = tmp.dirSync({ unsafeCleanup: true }).name;
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), text);
  }
  return root;
}

test('a process label: AppArmor\'s own attr first, then attr/current; trimmed, trailing NUL removed', (t) => {
  t.is(processLabel(42, procRoot({ '42/attr/apparmor/current': 'libvirt-x (enforce)\n', '42/attr/current': 'system_u:system_r:svirt_t:s0\n' })), 'libvirt-x (enforce)');
  t.is(processLabel(42, procRoot({ '42/attr/current': 'unconfined\n\0' })), 'unconfined');
  t.is(processLabel(42, procRoot({ '42/attr/current': ':ns:libvirt-x (complain)\0' })), ':ns:libvirt-x (complain)');
  t.is(processLabel(42, procRoot({})), undefined);
});

test('the real /proc/self: AppArmor\'s label where the kernel has it, none on this host', (t) => {
  const read = (file: string): string | undefined => {
    try {
      return fs.readFileSync(file, 'utf8').replace(/\0/g, '').trim();
    } catch {
      return undefined;
    }
  };
  const label = processLabel(process.pid);
  t.is(label, read('/proc/self/attr/apparmor/current') ?? read('/proc/self/attr/current'));
  // Here: no AppArmor in the kernel, and attr/current refuses to be read (EINVAL).
  if (!fs.existsSync('/sys/module/apparmor')) t.is(label, undefined);
  else t.regex(label ?? '', /^unconfined$| \(\w+\)$/);
  t.is(processLabel(2 ** 22 + 1), undefined, 'beyond pid_max: no such process');
});
