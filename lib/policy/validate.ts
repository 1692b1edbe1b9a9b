// What policy refuses. Names and UUIDs follow libvirt's virt-aa-helper; paths
// are checked on both the path as written (lexically normalised) and the path
// the kernel will see, after symlinks, so neither a symlink nor a glob-looking
// name can reach a restricted file.

// eslint-disable-next-line no-control-regex
const controlCharacters = /[\u0000-\u001f\u007f]/;

/** Characters virt-aa-helper refuses in names, because names end up in rules. */
const forbiddenNameCharacters = /[/[\]{}?^,"*]/;

export function nameProblem(name: string): string | undefined {
  if (name === '') return 'the name is empty';
  if (controlCharacters.test(name)) return 'the name contains a control character';
  const bad = forbiddenNameCharacters.exec(name);
  if (bad !== null) return `the name contains "${bad[0]}" (refused: / [ ] { } ? ^ , " *)`;
  return undefined;
}

export function pathTextProblem(path: string): string | undefined {
  if (controlCharacters.test(path)) return 'the path contains a control character';
  if (!path.startsWith('/')) return 'the path is not absolute';
  return undefined;
}

/** A prefix list entry: the path itself and everything below it (whole components only). */
function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`);
}

/** Never granted to a VM from what the XML or an image header names. */
export const restrictedPrefixes: readonly string[] = [
  '/bin', '/sbin', '/etc', '/lib', '/lib32', '/lib64', '/libx32', '/lost+found', '/proc', '/selinux', '/sys',
  '/usr/bin', '/usr/sbin', '/usr/include', '/usr/lib', '/usr/lib32', '/usr/lib64', '/usr/libx32', '/usr/libexec', '/usr/share',
  '/usr/local/bin', '/usr/local/sbin', '/usr/local/etc', '/usr/local/lib', '/usr/local/lib32', '/usr/local/lib64', '/usr/local/libexec', '/usr/local/share',
  '/boot',
  // Raw memory, I/O ports, CPU registers and hibernation images.
  '/dev/mem', '/dev/kmem', '/dev/port', '/dev/cpu', '/dev/snapshot', '/dev/mapper/control', '/dev/loop-control',
  // Where AppArmor policy and its caches live: writing there rewrites confinement.
  '/var/lib/apparmor', '/var/cache/apparmor', '/var/lib/virt-aa-hook', '/run/virt-aa-hook',
  '/var/log/audit',
];

/** Allowed read-only although inside a restricted prefix: kernels and firmware. */
export const readOnlyPrefixes: readonly string[] = [
  '/boot', '/vmlinuz', '/vmlinuz.old', '/initrd', '/initrd.img', '/initrd.img.old',
  '/usr/share/AAVMF', '/usr/share/OVMF', '/usr/share/ovmf', '/usr/share/edk2', '/usr/share/edk2-ovmf', '/usr/share/qemu',
  '/usr/share/qemu-efi', '/usr/share/qemu-efi-aarch64', '/usr/share/qemu-efi-loongarch64', '/usr/share/qemu-efi-riscv64',
  '/usr/share/seabios', '/usr/share/sgabios', '/usr/share/misc/sgabios.bin', '/usr/share/vgabios', '/usr/share/ipxe', '/usr/lib/ipxe',
  '/usr/share/openbios', '/usr/share/slof', '/usr/share/qemu-kvm', '/usr/share/kvm', '/usr/share/bochs',
  '/usr/lib/u-boot', '/usr/lib/riscv64-linux-gnu/opensbi', '/usr/share/opensbi', '/usr/lib/xen/boot', '/usr/libexec/xen/boot',
  // The NSS database of host-certificate smartcards.
  '/etc/pki/nssdb',
];

/**
 * Why `path` may not be granted, or undefined if it may. `tree` means the rule
 * covers everything below the path too, so a restricted directory underneath
 * it refuses it as well.
 */
export function restrictedPathProblem(path: string, writable: boolean, tree: boolean): string | undefined {
  if (tree && path === '/') return 'a rule for the whole file system';
  const readOnlyOk = !writable && readOnlyPrefixes.some((p) => under(path, p));
  if (!readOnlyOk) {
    const hit = restrictedPrefixes.find((p) => under(path, p));
    if (hit !== undefined) return `${hit} is restricted${readOnlyPrefixes.some((p) => under(path, p)) ? ' (read-only access would be allowed)' : ''}`;
  }
  if (tree) {
    const inside = restrictedPrefixes.find((p) => p.startsWith(`${path}/`));
    if (inside !== undefined) return `the directory contains the restricted ${inside}`;
  }
  return undefined;
}
