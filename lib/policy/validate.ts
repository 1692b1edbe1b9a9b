// What policy refuses. Paths are checked on both the path as written
// (lexically normalised) and the path the kernel will see, after symlinks, so
// neither a symlink nor a glob-looking name can reach a restricted file.
// Odd characters are not refused: escaping makes every name and path libvirt
// accepts grant only itself.

/**
 * libvirt's QEMU driver refuses only "/" (every driver, at parse time) and a
 * newline (at define) in names; a transient domain may still carry a
 * newline, and escaping writes it as \x0a like any other control character.
 * A "/" would put the name's files in another directory.
 */
export function nameProblem(name: string): string | undefined {
  if (name === '') return 'the name is empty';
  if (name.includes('/')) return 'the name contains "/" (libvirt refuses it too: the name is part of file names)';
  if (name.includes('\u0000')) return 'the name contains a NUL character';
  return undefined;
}

export function pathTextProblem(path: string): string | undefined {
  // The one character no file name can hold; every other one is escaped.
  if (path.includes('\u0000')) return 'the path contains a NUL character';
  if (!path.startsWith('/')) return 'the path is not absolute';
  return undefined;
}

/** A prefix list entry: the path itself and everything below it (whole components only). */
export function under(path: string, prefix: string): boolean {
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
 * it refuses it as well. `readOnlyExceptions: false` is for what an image
 * header names: kernels and firmware are read-only files the admin names in
 * the XML, not backing files (an initrd can hold keys).
 */
export function restrictedPathProblem(path: string, writable: boolean, tree: boolean, readOnlyExceptions = true): string | undefined {
  if (tree && path === '/') return 'a rule for the whole file system';
  const inReadOnly = readOnlyPrefixes.some((p) => under(path, p));
  const readOnlyOk = readOnlyExceptions && !writable && inReadOnly;
  if (!readOnlyOk) {
    const hit = restrictedPrefixes.find((p) => under(path, p));
    if (hit !== undefined) return `${hit} is restricted${readOnlyExceptions && inReadOnly ? ' (read-only access would be allowed)' : ''}`;
  }
  if (tree) {
    const inside = restrictedPrefixes.find((p) => p.startsWith(`${path}/`));
    if (inside !== undefined) return `the directory contains the restricted ${inside}`;
  }
  return undefined;
}
