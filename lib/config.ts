// The one configuration file, /etc/virt-aa-hook/config.json: how domains are
// confined, what happens to domains that are not, and every host path the
// program touches (so tests point them all at temp directories). Validated at
// every hook call; an unknown key or a bad value is an error that names it.

import * as fs from 'node:fs';
import { UsageError, errnoCode } from './errors.ts';
import { defaultLayout, type HostLayout } from './host/layout.ts';

export const defaultConfigPath = '/etc/virt-aa-hook/config.json';

export type ConfinementMode = 'wrapper' | 'libvirt';
export const confinementModes: readonly ConfinementMode[] = ['wrapper', 'libvirt'];

export interface DomainSettings {
  /** Extra AppArmor rules for this domain, one rule per string, e.g. `"/srv/extra/** r,"`. */
  readonly rules: readonly string[];
  /** Load this domain's profile in complain mode: denials are logged, not enforced. */
  readonly complain: boolean;
  /**
   * A name-keyed entry applies only to the domain with this UUID, so that a
   * later domain given a freed name does not inherit another's settings.
   */
  readonly uuid: string | undefined;
  /** Allow `<disk rawio='yes'>`: capability sys_rawio, as good as root to a compromised QEMU. */
  readonly rawio: boolean;
  /** Directories (and below) where this domain's image headers may name files, beyond the global `imageDirs`. */
  readonly imageDirs: readonly string[];
  /** false: the domain may run unconfined, by the admin's choice, even under the "require" policy. */
  readonly confine: boolean;
}

export const defaultDomainSettings: DomainSettings = { rules: [], complain: false, uuid: undefined, rawio: false, imageDirs: [], confine: true };

export interface Paths {
  readonly apparmorDir: string;
  readonly cacheDir: string;
  readonly stateDir: string;
  readonly runDir: string;
  readonly apparmorParser: string;
  readonly securityfs: string;
  /** Where the per-domain wrappers of earlier versions (`virt-aa-hook.<emulator>`) are: still recognised, and `enroll --all` moves their domains on. */
  readonly wrapperDir: string;
  /**
   * The emulator wrappers, named exactly like the emulators (`qemu-system-x86_64`),
   * first in the libvirt daemon's PATH; wrappers of emulators elsewhere go below
   * `by-path/`, which no PATH lookup searches.
   */
  readonly emulatorDir: string;
  /** Where systemd reads unit drop-ins: the daemons' PATH drop-ins go in `<unit>.d/` below it. */
  readonly systemdDir: string;
  /** The file Debian's sysv init script of libvirtd sources (hosts without systemd): gets the PATH line. */
  readonly sysvDefaults: string;
  /** Extra include directories for apparmor_parser (-I). */
  readonly includeDirs: readonly string[];
  /** A kernel features file for compiling without an AppArmor kernel (-M); null: the running kernel's. */
  readonly featuresFile: string | null;
  readonly libvirtConfigDir: string;
  /** Where libvirt runs virt-aa-helper from: ours is installed there. */
  readonly libvirtHelper: string;
  /** libvirt's own helper, moved aside by the installer (dpkg-divert): ours hands it what we do not confine. */
  readonly originalHelper: string;
  /** null: the system log (journald's stream socket, else logger(1)). */
  readonly logFile: string | null;
  /** journald's stream socket, where the system-log line goes. */
  readonly journalSocket: string;
}

export interface Config {
  /** Mode `enroll` uses when none is given. */
  readonly mode: ConfinementMode;
  /** What happens to a domain that is not enrolled: start with a warning, or refuse to start. */
  readonly policy: 'warn' | 'require';
  /** `compile-only` compiles and writes profiles but never loads them (hosts without AppArmor, tests). */
  readonly loader: 'kernel' | 'compile-only';
  /** Whether libvirt's own AppArmor driver labels domains that carry no seclabel. */
  readonly libvirtDriver: 'auto' | 'active' | 'inactive';
  /** qemu.conf turns on TLS for VNC or SPICE: graphics domains may read the certificates. */
  readonly graphicsTls: boolean;
  /**
   * Directories (and below) where an image header may name a backing file,
   * data file or extent in a location its domain's chain did not use before:
   * where admins rebase images to.
   */
  readonly imageDirs: readonly string[];
  readonly paths: Paths;
  readonly layout: HostLayout;
  /**
   * Per domain, keyed by name or by lower-case UUID. A Map: a domain may be
   * called `constructor` or `__proto__`, which a plain object would answer
   * from its prototype.
   */
  readonly domains: ReadonlyMap<string, DomainSettings>;
}

export const defaultPaths: Paths = {
  apparmorDir: '/etc/apparmor.d',
  cacheDir: '/var/cache/apparmor/virt-aa-hook',
  stateDir: '/var/lib/virt-aa-hook',
  runDir: '/run/virt-aa-hook',
  apparmorParser: '/sbin/apparmor_parser',
  securityfs: '/sys/kernel/security/apparmor',
  wrapperDir: '/usr/lib/libvirt',
  emulatorDir: '/usr/lib/virt-aa-hook/emulators',
  systemdDir: '/etc/systemd/system',
  sysvDefaults: '/etc/default/libvirtd',
  includeDirs: [],
  featuresFile: null,
  libvirtConfigDir: '/etc/libvirt',
  libvirtHelper: '/usr/lib/libvirt/virt-aa-helper',
  originalHelper: '/usr/lib/libvirt/virt-aa-helper.distrib',
  logFile: null,
  journalSocket: '/run/systemd/journal/stdout',
};

export const defaultConfig: Config = {
  mode: 'wrapper',
  policy: 'warn',
  loader: 'kernel',
  libvirtDriver: 'auto',
  graphicsTls: false,
  imageDirs: [],
  paths: defaultPaths,
  layout: defaultLayout,
  domains: new Map(),
};

type Json = unknown;

class ConfigReader {
  readonly #file: string;

  constructor(file: string) {
    this.#file = file;
  }

  fail(key: string, problem: string): never {
    throw new UsageError(`invalid configuration ${this.#file}: ${key === '' ? '' : `"${key}" `}${problem}`);
  }

  object(value: Json, key: string, known: readonly string[]): Record<string, Json> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(key, 'must be an object');
    for (const name of Object.keys(value)) {
      if (!known.includes(name)) this.fail(key === '' ? name : `${key}.${name}`, `is not a known setting (known: ${known.join(', ')})`);
    }
    return value as Record<string, Json>;
  }

  choice<T extends string>(value: Json, key: string, choices: readonly T[], fallback: T): T {
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) this.fail(key, `must be one of ${choices.join(', ')} (got ${JSON.stringify(value)})`);
    return value as T;
  }

  boolean(value: Json, key: string, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') this.fail(key, `must be true or false (got ${JSON.stringify(value)})`);
    return value;
  }

  absolutePath(value: Json, key: string, fallback: string): string {
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || !value.startsWith('/') || /[\u0000-\u001f]/.test(value)) this.fail(key, `must be an absolute path (got ${JSON.stringify(value)})`);
    return value;
  }

  nullablePath(value: Json, key: string, fallback: string | null): string | null {
    return value === null ? null : value === undefined ? fallback : this.absolutePath(value, key, '');
  }

  list<T>(value: Json, key: string, item: (v: Json, k: string) => T): readonly T[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) this.fail(key, 'must be a list');
    return value.map((v, i) => item(v, `${key}[${i}]`));
  }

  uuid(value: Json, key: string): string {
    const uuid = typeof value === 'string' ? uuidKey(value) : undefined;
    if (uuid === undefined) this.fail(key, `must be a UUID such as "6c1d4f3a-5b7e-4a29-9d0c-2f8e1b3a7c55" (got ${JSON.stringify(value)})`);
    return uuid;
  }

  rule(value: Json, key: string): string {
    // One rule per entry: it goes into the profile as written, so it must not open or close blocks.
    if (typeof value !== 'string' || !/^[^\n\r{}]*,\s*$/.test(value) || value.trim() === ',') this.fail(key, `must be one AppArmor rule ending in "," (got ${JSON.stringify(value)})`);
    return value.trim();
  }
}

const pathKeys = Object.keys(defaultPaths) as (keyof Paths)[];
const layoutKeys = Object.keys(defaultLayout) as (keyof HostLayout)[];

export function parseConfig(text: string, file = defaultConfigPath): Config {
  const reader = new ConfigReader(file);
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch (error) {
    reader.fail('', `is not valid JSON: ${(error as Error).message}`);
  }
  const top = reader.object(json, '', ['mode', 'policy', 'loader', 'libvirtDriver', 'graphicsTls', 'imageDirs', 'paths', 'layout', 'domains']);
  const paths = reader.object(top['paths'] ?? {}, 'paths', pathKeys);
  const layout = reader.object(top['layout'] ?? {}, 'layout', layoutKeys);
  const domains = reader.object(top['domains'] ?? {}, 'domains', Object.keys((top['domains'] as object | undefined) ?? {}));
  return {
    mode: reader.choice(top['mode'], 'mode', confinementModes, defaultConfig.mode),
    policy: reader.choice(top['policy'], 'policy', ['warn', 'require'], defaultConfig.policy),
    loader: reader.choice(top['loader'], 'loader', ['kernel', 'compile-only'], defaultConfig.loader),
    libvirtDriver: reader.choice(top['libvirtDriver'], 'libvirtDriver', ['auto', 'active', 'inactive'], defaultConfig.libvirtDriver),
    graphicsTls: reader.boolean(top['graphicsTls'], 'graphicsTls', defaultConfig.graphicsTls),
    imageDirs: reader.list(top['imageDirs'], 'imageDirs', (v, k) => reader.absolutePath(v, k, '')),
    paths: {
      ...defaultPaths,
      ...Object.fromEntries(
        pathKeys.filter((k) => paths[k] !== undefined && k !== 'includeDirs' && k !== 'featuresFile' && k !== 'logFile').map((k) => [k, reader.absolutePath(paths[k], `paths.${k}`, '')]),
      ),
      includeDirs: reader.list(paths['includeDirs'], 'paths.includeDirs', (v, k) => reader.absolutePath(v, k, '')),
      featuresFile: reader.nullablePath(paths['featuresFile'], 'paths.featuresFile', defaultPaths.featuresFile),
      logFile: reader.nullablePath(paths['logFile'], 'paths.logFile', defaultPaths.logFile),
    },
    layout: { ...defaultLayout, ...Object.fromEntries(layoutKeys.filter((k) => layout[k] !== undefined).map((k) => [k, reader.absolutePath(layout[k], `layout.${k}`, '')])) },
    domains: domainEntries(reader, domains),
  };
}

/** A key or a pin in the 8-4-4-4-12 form, lower-cased as libvirt prints UUIDs; undefined for anything else (a name). */
function uuidKey(text: string): string | undefined {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text) ? text.toLowerCase() : undefined;
}

function domainEntries(reader: ConfigReader, domains: Record<string, Json>): ReadonlyMap<string, DomainSettings> {
  const result = new Map<string, DomainSettings>();
  // Own properties only: JSON.parse makes "__proto__" an own property, Object.entries lists it.
  for (const [key, value] of Object.entries(domains)) {
    const at = `domains.${key}`;
    const entry = reader.object(value, at, ['rules', 'complain', 'uuid', 'rawio', 'imageDirs', 'confine']);
    const asUuid = uuidKey(key);
    const pin = entry['uuid'] === undefined ? undefined : reader.uuid(entry['uuid'], `${at}.uuid`);
    if (asUuid !== undefined && pin !== undefined && pin !== asUuid) reader.fail(`${at}.uuid`, `pins the entry to ${pin}, but the entry is keyed by the UUID ${asUuid}`);
    const normalKey = asUuid ?? key;
    if (result.has(normalKey)) reader.fail(at, `names the same domain as another entry (${normalKey})`);
    result.set(normalKey, {
      rules: reader.list(entry['rules'], `${at}.rules`, (v, k) => reader.rule(v, k)),
      complain: reader.boolean(entry['complain'], `${at}.complain`, false),
      uuid: asUuid ?? pin,
      rawio: reader.boolean(entry['rawio'], `${at}.rawio`, false),
      imageDirs: reader.list(entry['imageDirs'], `${at}.imageDirs`, (v, k) => reader.absolutePath(v, k, '')),
      confine: reader.boolean(entry['confine'], `${at}.confine`, true),
    });
  }
  return result;
}

/** The configuration in effect: the file named by VIRT_AA_HOOK_CONFIG or the default path; defaults when it does not exist. */
export function loadConfig(file = process.env['VIRT_AA_HOOK_CONFIG'] ?? defaultConfigPath): Config {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return defaultConfig;
    throw new UsageError(`cannot read configuration ${file}: ${errnoCode(error)}`);
  }
  return parseConfig(text, file);
}

export interface DomainEntry {
  /** The key as the configuration file spells it (a UUID lower-cased). */
  readonly key: string;
  readonly settings: DomainSettings;
}

/**
 * The entry of a domain: the one keyed by its UUID, else the one keyed by its
 * name unless that entry is pinned to another UUID.
 */
export function domainEntry(config: Config, name: string, uuid: string): DomainEntry | undefined {
  const byUuid = config.domains.get(uuid);
  if (byUuid !== undefined) return { key: uuid, settings: byUuid };
  const byName = config.domains.get(name);
  if (byName === undefined || (byName.uuid !== undefined && byName.uuid !== uuid)) return undefined;
  return { key: name, settings: byName };
}

/** A domain's settings (the defaults when no entry applies to it). */
export function domainSettings(config: Config, name: string, uuid: string): DomainSettings {
  return domainEntry(config, name, uuid)?.settings ?? defaultDomainSettings;
}

/**
 * What a fresh install writes to the configuration file when there is none
 * (and no earlier install): confinement required. The code's own default
 * stays "warn", so an upgraded host keeps doing what it did.
 */
export const freshInstallConfigText = `${JSON.stringify({ policy: 'require' } satisfies { readonly policy: Config['policy'] }, null, 2)}\n`;
