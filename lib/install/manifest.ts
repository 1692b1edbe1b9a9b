// What an installation of virt-aa-hook consists of: every file it puts on a
// host (where it comes from in the build, where it goes, its mode, whether it
// gets the `#!<node>` shebang, whether it is a conffile) and every change it
// makes to files that are not its own (activations). The one list: the .deb
// (debian/rules stages it), the RPM (its %files are printed from it) and
// scripts/install (copies what `virt-aa-hook stage` wrote) all derive from
// it; `virt-aa-hook manifest` prints it for them. Pure: the checkout's file
// list and the target's facts come in, entries go out.

import * as path from 'node:path';
import { defaultConfigPath, defaultPaths } from '../config.ts';

/** How the files get onto the host: a Debian package, an RPM, or scripts/install (a tarball or a checkout). */
export type Flavour = 'deb' | 'rpm' | 'local';
export const flavours: readonly Flavour[] = ['deb', 'rpm', 'local'];

/** Where the program, its shipped policy and its scripts live (wholly ours). */
export const libDir = '/usr/lib/virt-aa-hook';
/** The admin command: a relative symlink to the bundle in libDir. */
export const cliLink = '/usr/sbin/virt-aa-hook';
/** The one hook path a confined libvirtd may Px into our hook profile (design.md: a glob over qemu.d/* fails to compile). */
export const hookPath = '/etc/libvirt/hooks/qemu';
/** Where an admin's own hook goes: libvirt >= 6.5 runs qemu.d/ entries after the main script. */
export const movedHookPath = `${hookPath}.d/00-qemu.moved-by-virt-aa-hook`;
/** The hook as shipped; activation copies it to hookPath (AppArmor resolves symlinks, so a link would miss the Px rule). */
export const shippedHookPath = `${libDir}/hooks/qemu`;
/** Our helper as shipped where no dpkg diversion puts it at libvirt's path directly. */
export const shippedHelperPath = `${libDir}/virt-aa-helper`;
export const hookProfilePath = `${defaultPaths.apparmorDir}/etc.libvirt.hooks.qemu`;
export const configDir = path.posix.dirname(defaultConfigPath);
/** What scripts/install records of what it did; scripts/uninstall undoes exactly that. */
export const installRecordPath = `${defaultPaths.stateDir}/install-manifest`;
export const syncUnit = 'virt-aa-hook-sync.service';
export const packageName = 'virt-aa-hook';

/** The daemons whose distribution profile gets our block, or that get our permissive profile where they have none. */
export const daemonProfiles: readonly string[] = ['usr.sbin.libvirtd', 'usr.sbin.virtqemud'];
/** libvirt's helper's profile: our block adds node and our files. */
export const helperProfile = 'usr.lib.libvirt.virt-aa-helper';

/**
 * QEMU's system emulators as Debian and SUSE install them. The .deb's dpkg
 * trigger watches these paths (a trigger names fixed paths, not a glob): an
 * upgrade, addition or removal of one runs `virt-aa-hook setup`, which
 * touches or writes the wrappers (libvirt keys its capability cache on the
 * wrapper's ctime).
 */
export const emulatorTargets: readonly string[] = [
  'aarch64', 'alpha', 'arm', 'avr', 'cris', 'hppa', 'i386', 'loongarch64', 'm68k', 'microblaze', 'microblazeel',
  'mips', 'mips64', 'mips64el', 'mipsel', 'nios2', 'or1k', 'ppc', 'ppc64', 'riscv32', 'riscv64', 'rx', 's390x',
  'sh4', 'sh4eb', 'sparc', 'sparc64', 'tricore', 'x86_64', 'xtensa', 'xtensaeb',
];
export const triggerPaths: readonly string[] = [...emulatorTargets.map((t) => `/usr/bin/qemu-system-${t}`), '/usr/bin/qemu-kvm'];

/**
 * V8's code cache of the installed bundles (lib/code-cache.ts): each keeps
 * the bytecode of its first call of each kind there and loads it at the next.
 * Inside our parser cache directory, which the hook's and the helper's
 * profiles already let them write and our policy never grants a guest.
 */
export const codeCacheDir = `${defaultPaths.cacheDir}/code`;

/** Directories removed with everything in them on purge (`dpkg -P`, `scripts/uninstall --purge`). */
export const purgeDirs: readonly string[] = [defaultPaths.stateDir, defaultPaths.cacheDir, configDir];

/** Where a file's bytes come from. */
export type Source =
  /** A file of the build (a checkout after `npm ci`), relative to it. */
  | { readonly kind: 'build'; readonly path: string }
  /** The hook's AppArmor profile with `@{node}` naming the node of the shebang. */
  | { readonly kind: 'hook-profile'; readonly path: string }
  /** A man page made from the program's own help text. */
  | { readonly kind: 'man'; readonly page: ManPage }
  | { readonly kind: 'completion' }
  /** The configuration of a fresh install (policy "require"). */
  | { readonly kind: 'fresh-config' };

export type ManPage = 'virt-aa-hook' | 'virt-aa-hook-qemu' | 'virt-aa-hook-helper';
export const manPages: readonly ManPage[] = ['virt-aa-hook', 'virt-aa-hook-qemu', 'virt-aa-hook-helper'];

export type Entry =
  | {
      readonly kind: 'file';
      readonly source: Source;
      readonly target: string;
      readonly mode: 0o644 | 0o755;
      /** Its first line becomes `#!<node>`: `#!/usr/bin/env node` would run node through libvirtd's `/usr/bin/* PUx`, unconfined. */
      readonly shebang: boolean;
      /** The admin may edit it: an edited one is kept on upgrade (dpkg's conffiles, RPM's %config(noreplace), scripts/install's `.new`). */
      readonly conffile: boolean;
    }
  | { readonly kind: 'link'; readonly target: string; readonly to: string }
  /** A directory the program writes into, created empty. */
  | { readonly kind: 'dir'; readonly target: string; readonly mode: 0o755 };

/** What the target has, where an entry depends on it (scripts/install only: a package knows its distribution). */
export interface TargetFacts {
  /** systemd runs (or, in a staging root, is installed): the boot unit goes in. */
  readonly systemd: boolean;
  /** APT is there: its post-dpkg hook goes in. */
  readonly apt: boolean;
}

const unitDir: Readonly<Record<Flavour, string>> = {
  // Debian 12 and its debhelper still install units below /lib; usrmerge makes both the same directory.
  deb: '/lib/systemd/system',
  rpm: '/usr/lib/systemd/system',
  // An admin's unit, not a distribution's.
  local: '/etc/systemd/system',
};

const file = (source: Source, target: string, mode: 0o644 | 0o755, shebang = false): Entry => ({
  kind: 'file',
  source,
  target,
  mode,
  shebang,
  // Everything below /etc is a conffile to dpkg (debhelper marks them all); the others follow the same rule.
  conffile: target.startsWith('/etc/'),
});
const build = (p: string): Source => ({ kind: 'build', path: p });

/**
 * Every entry of an installation of this flavour. `checkoutFiles`: the
 * build's files below apparmor.d/ (relative, e.g. `apparmor.d/abstractions/virt-aa-hook/qemu`).
 */
export function manifest(flavour: Flavour, checkoutFiles: readonly string[], facts: TargetFacts = { systemd: true, apt: false }): readonly Entry[] {
  const policy = checkoutFiles.filter((f) => f.startsWith('apparmor.d/')).sort();
  const abstractions = policy.filter((f) => f.startsWith('apparmor.d/abstractions/virt-aa-hook/'));
  const aa = defaultPaths.apparmorDir;
  const entries: Entry[] = [
    file(build('dist/virt-aa-hook'), `${libDir}/virt-aa-hook`, 0o755, true),
    file(build('dist/hooks/qemu'), shippedHookPath, 0o755, true),
    // With dpkg, ours is shipped at libvirt's path and libvirt's diverted (preinst); elsewhere activation puts it there.
    file(build('dist/virt-aa-helper'), flavour === 'deb' ? defaultPaths.libvirtHelper : shippedHelperPath, 0o755, true),
    // The bundles are CommonJS: keeps a "type": "module" package.json above them from changing how node reads them.
    file(build('dist/package.json'), `${libDir}/package.json`, 0o644),
    // The shipped policy beside the program (lib/package-root.ts finds the template there; activation reads the blocks).
    ...policy.map((f) => file(build(f), `${libDir}/${f}`, 0o644)),
    file(build('scripts/qemu-wrapper'), `${libDir}/scripts/qemu-wrapper`, 0o755),
    // Activation and its undoing, for the package's maintainer scripts and for hosts installed from a tarball.
    file(build('scripts/install'), `${libDir}/scripts/install`, 0o755),
    file(build('scripts/uninstall'), `${libDir}/scripts/uninstall`, 0o755),
    file(build('scripts/lib/common.sh'), `${libDir}/scripts/lib/common.sh`, 0o644),
    { kind: 'link', target: cliLink, to: `../lib/virt-aa-hook/virt-aa-hook` },
    file(build('apparmor.d/virt-aa-hook/TEMPLATE.qemu'), `${aa}/virt-aa-hook/TEMPLATE.qemu`, 0o644),
    ...abstractions.map((f) => file(build(f), `${aa}/${f.slice('apparmor.d/'.length)}`, 0o644)),
    file({ kind: 'hook-profile', path: 'apparmor.d/etc.libvirt.hooks.qemu' }, hookProfilePath, 0o644),
    ...manPages.map((page) => file({ kind: 'man', page }, `/usr/share/man/man8/${page}.8`, 0o644)),
    file({ kind: 'completion' }, '/usr/share/bash-completion/completions/virt-aa-hook', 0o644),
  ];
  if (flavour !== 'local' || facts.systemd) entries.push(file(build(`scripts/${syncUnit}`), `${unitDir[flavour]}/${syncUnit}`, 0o644));
  // A package runs `setup` from its trigger (deb) or scriptlet; a tarball install on an APT host needs APT's hook.
  if (flavour === 'local' && facts.apt) entries.push(file(build('scripts/apt-virt-aa-hook.conf'), '/etc/apt/apt.conf.d/90virt-aa-hook', 0o644));
  // A package ships the fresh configuration as a conffile; scripts/install writes it only on a fresh install (`setup --fresh-install`).
  if (flavour !== 'local') entries.push(file({ kind: 'fresh-config' }, defaultConfigPath, 0o644));
  // Written to by the hook and the CLI, created here so the hook's profile need not allow creating their parents.
  for (const dir of [`${aa}/libvirt`, `${aa}/virt-aa-hook/placeholders`, defaultPaths.stateDir, defaultPaths.cacheDir, codeCacheDir, configDir]) {
    entries.push({ kind: 'dir', target: dir, mode: 0o755 });
  }
  return entries;
}

/**
 * The changes an installation makes to files that are not its own, in the
 * order they are made; undone in reverse on removal. Listed for the manual and
 * the README; scripts/install (shared by the package's postinst) makes them.
 */
export interface Activation {
  readonly name: string;
  readonly what: string;
}

export function activations(flavour: Flavour): readonly Activation[] {
  return [
    {
      name: 'helper',
      what:
        flavour === 'deb'
          ? `libvirt's ${defaultPaths.libvirtHelper} diverted to ${defaultPaths.originalHelper} (dpkg-divert --package ${packageName} --rename, in preinst), ours shipped in its place`
          : `libvirt's ${defaultPaths.libvirtHelper} moved to ${defaultPaths.originalHelper}, ours copied from ${shippedHelperPath} in its place`,
    },
    { name: 'hook-profile', what: `${hookProfilePath} loaded (apparmor_parser -r) before anything may transition to it` },
    { name: 'hook', what: `${shippedHookPath} copied to ${hookPath}; an admin's own hook there moved to ${movedHookPath} and back on removal, byte for byte` },
    { name: 'overrides', what: `our block (between "# BEGIN virt-aa-hook" and "# END virt-aa-hook") in ${aaLocal([...daemonProfiles, helperProfile])} where the profile exists, the rest of each file kept byte for byte; the profiles reloaded` },
    { name: 'permissive', what: `${defaultPaths.apparmorDir}/virt-aa-hook.<daemon profile>: a permissive profile for a libvirt daemon shipped without one, so libvirt's AppArmor driver (and our helper) turn on` },
    { name: 'setup', what: `virt-aa-hook setup: the emulator wrappers in ${defaultPaths.emulatorDir} and the daemons' PATH drop-in (systemd) or /etc/default/libvirtd block, a daemon restart where their PATH changed` },
    { name: 'reload', what: 'libvirtd and virtqemud reloaded where they run, so they see the hook' },
  ];
}

function aaLocal(profiles: readonly string[]): string {
  return profiles.map((p) => `${defaultPaths.apparmorDir}/local/${p}`).join(', ');
}

/** The entries that are files, with their targets. */
export function files(entries: readonly Entry[]): readonly Extract<Entry, { kind: 'file' }>[] {
  return entries.flatMap((e) => (e.kind === 'file' ? [e] : []));
}

/** One line per entry, tab-separated, for shell scripts: `file MODE SHEBANG(0|1) CONFFILE(0|1) TARGET`, `link TARGET TO`, `dir MODE TARGET`. */
export function manifestLines(entries: readonly Entry[]): string {
  return entries
    .map((e) => {
      switch (e.kind) {
        case 'file':
          return ['file', e.mode.toString(8).padStart(4, '0'), e.shebang ? '1' : '0', e.conffile ? '1' : '0', e.target].join('\t');
        case 'link':
          return ['link', e.target, e.to].join('\t');
        case 'dir':
          return ['dir', e.mode.toString(8).padStart(4, '0'), e.target].join('\t');
      }
    })
    .map((line) => `${line}\n`)
    .join('');
}

/**
 * The RPM's %files section: every file, link and directory of the package,
 * conffiles as %config(noreplace), with their modes. Directories the package
 * creates for itself are owned (%dir); shared ones (/etc/apparmor.d/libvirt) too,
 * as RPM allows.
 */
export function rpmFiles(entries: readonly Entry[]): string {
  const lines = entries.map((e) => {
    switch (e.kind) {
      case 'file':
        return `%attr(${e.mode.toString(8)},root,root) ${e.conffile ? '%config(noreplace) ' : ''}${e.target.startsWith('/usr/share/man/') ? `${e.target}*` : e.target}`;
      case 'link':
        return e.target;
      case 'dir':
        return `%dir %attr(${e.mode.toString(8)},root,root) ${e.target}`;
    }
  });
  const ownDirs = [...new Set(files(entries).flatMap((e) => ownedDirs(e.target)))].sort();
  return [...ownDirs.map((d) => `%dir ${d}`), ...lines, ''].join('\n');
}

/** Directories of ours a file lives in (libDir and our subdirectories of shared ones), which the RPM owns. */
function ownedDirs(target: string): string[] {
  const ours = [libDir, `${defaultPaths.apparmorDir}/virt-aa-hook`, `${defaultPaths.apparmorDir}/abstractions/virt-aa-hook`];
  const result: string[] = [];
  for (let dir = path.posix.dirname(target); dir !== '/'; dir = path.posix.dirname(dir)) {
    if (ours.some((o) => dir === o || dir.startsWith(`${o}/`))) result.push(dir);
  }
  return result;
}
