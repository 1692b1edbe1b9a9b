// The typed, readonly view of a libvirt domain that the rest of the program
// works on. It keeps every element that can make QEMU (or a helper running in
// its profile) touch a host path, and nothing else. Paths are kept exactly as
// the XML wrote them; canonicalisation happens later, against the host.

/** A storage source as used by disks, backing layers, data stores, mirrors and NVRAM. */
export type StorageSource =
  | { readonly type: 'file' | 'block'; readonly path: string; readonly format: string | undefined; readonly backing: Backing; readonly dataStore: StorageSource | undefined }
  | { readonly type: 'dir'; readonly path: string }
  | { readonly type: 'volume'; readonly pool: string; readonly volume: string }
  | { readonly type: 'network'; readonly protocol: string; readonly name: string | undefined; readonly tls: boolean; readonly configFile: string | undefined; readonly backing: Backing }
  | { readonly type: 'nvme'; readonly pciAddress: string }
  | { readonly type: 'vhostuser'; readonly socket: string }
  | { readonly type: 'vhostvdpa'; readonly device: string };

/**
 * What the XML says about the layers below an image. `unknown` (no
 * `<backingStore>` at all) means the image header must tell; `none` is the
 * explicit empty terminator `<backingStore/>`.
 */
export type Backing =
  | { readonly kind: 'unknown' }
  | { readonly kind: 'none' }
  | { readonly kind: 'layer'; readonly source: StorageSource };

export type ChardevSource =
  | { readonly type: 'pty'; readonly path: string | undefined }
  | { readonly type: 'dev' | 'file' | 'pipe'; readonly path: string }
  | { readonly type: 'unix'; readonly path: string | undefined }
  | { readonly type: 'tcp'; readonly tls: boolean }
  | { readonly type: 'udp' }
  | { readonly type: 'none'; readonly name: string };

export interface Chardev {
  readonly source: ChardevSource;
  readonly logFile: string | undefined;
}

export interface DeviceBase {
  /** How messages and reasons name this device, e.g. "disk 'vda'" or "serial #0". */
  readonly label: string;
}

export interface Disk extends DeviceBase {
  readonly kind: 'disk';
  readonly device: string;
  readonly readonly: boolean;
  /** `rawio='yes'`: libvirt grants QEMU CAP_SYS_RAWIO for this LUN. */
  readonly rawio: boolean;
  readonly source: StorageSource | undefined;
  readonly mirror: StorageSource | undefined;
  /** Unmanaged persistent-reservation helper socket. */
  readonly reservationsSocket: string | undefined;
}

export interface ChardevDevice extends DeviceBase {
  readonly kind: 'chardev';
  readonly role: 'serial' | 'console' | 'parallel' | 'channel';
  readonly chardev: Chardev;
}

export interface Graphics extends DeviceBase {
  readonly kind: 'graphics';
  readonly type: string;
  /** Explicit unix socket paths (listen sockets and the old `socket` attribute). */
  readonly sockets: readonly string[];
  readonly gl: boolean;
  readonly renderNode: string | undefined;
  readonly xauth: string | undefined;
  readonly tls: boolean;
  /** Addresses (or host names) it listens on, from `listen` and `<listen type='address'>`. */
  readonly listenAddresses: readonly string[];
}

export type Hostdev = DeviceBase & { readonly kind: 'hostdev' } & (
  | { readonly type: 'usb'; readonly bus: number | undefined; readonly device: number | undefined; readonly vendor: number | undefined; readonly product: number | undefined }
  | { readonly type: 'pci'; readonly address: string; readonly driver: string | undefined; readonly romFile: string | undefined }
  | { readonly type: 'scsi'; readonly adapter: string | undefined; readonly address: string | undefined; readonly protocol: string | undefined }
  | { readonly type: 'scsi_host'; readonly protocol: string | undefined }
  | { readonly type: 'mdev'; readonly uuid: string; readonly model: string | undefined }
  | { readonly type: 'other'; readonly name: string }
);

export interface Filesystem extends DeviceBase {
  readonly kind: 'filesystem';
  readonly type: string;
  readonly driver: string | undefined;
  readonly sourceDir: string | undefined;
  readonly socket: string | undefined;
  readonly readonly: boolean;
}

export interface NetInterface extends DeviceBase {
  readonly kind: 'interface';
  readonly type: string;
  readonly model: string | undefined;
  readonly driverName: string | undefined;
  readonly backendType: string | undefined;
  readonly targetDev: string | undefined;
  readonly vhostuserSocket: string | undefined;
  readonly vdpaDevice: string | undefined;
  readonly tapDevice: string | undefined;
  readonly vhostDevice: string | undefined;
  readonly pciAddress: string | undefined;
  readonly romFile: string | undefined;
  readonly alias: string | undefined;
}

export interface Input extends DeviceBase {
  readonly kind: 'input';
  readonly type: string;
  readonly evdev: string | undefined;
}

export interface Rng extends DeviceBase {
  readonly kind: 'rng';
  readonly backend:
    | { readonly model: 'random'; readonly device: string | undefined }
    | { readonly model: 'egd'; readonly chardev: Chardev }
    | { readonly model: 'builtin' | 'other' };
}

export interface Tpm extends DeviceBase {
  readonly kind: 'tpm';
  readonly backend:
    | { readonly type: 'passthrough'; readonly device: string }
    | { readonly type: 'emulator'; readonly version: string | undefined; readonly state: { readonly type: 'file' | 'dir'; readonly path: string } | undefined }
    | { readonly type: 'external'; readonly socket: string | undefined }
    | { readonly type: 'other'; readonly name: string };
}

export interface MemoryDevice extends DeviceBase {
  readonly kind: 'memory';
  readonly model: string;
  readonly path: string | undefined;
}

export interface Shmem extends DeviceBase {
  readonly kind: 'shmem';
  readonly name: string;
  readonly model: string;
  /** undefined: no server; null: server with libvirt's default socket path. */
  readonly serverSocket: string | null | undefined;
}

export interface Smartcard extends DeviceBase {
  readonly kind: 'smartcard';
  readonly mode: string;
  readonly database: string | undefined;
  readonly chardev: Chardev | undefined;
}

export interface Redirdev extends DeviceBase {
  readonly kind: 'redirdev';
  readonly chardev: Chardev;
}

export interface Vsock extends DeviceBase {
  readonly kind: 'vsock';
}

export interface Sound extends DeviceBase {
  readonly kind: 'sound';
  readonly model: string;
  readonly audioId: string | undefined;
}

export interface Audio extends DeviceBase {
  readonly kind: 'audio';
  readonly type: string;
  readonly id: string | undefined;
  /** The SDL backend's own audio driver. */
  readonly driver: string | undefined;
  /** The file backend's output file. */
  readonly path: string | undefined;
  readonly serverName: string | undefined;
  readonly runtimeDir: string | undefined;
  /** OSS device nodes. */
  readonly devices: readonly string[];
}

export interface Video extends DeviceBase {
  readonly kind: 'video';
  readonly model: string;
  readonly accel3d: boolean;
  readonly renderNode: string | undefined;
  readonly vhostuser: boolean;
}

export interface Pstore extends DeviceBase {
  readonly kind: 'pstore';
  readonly path: string;
}

export type Device =
  | Disk
  | ChardevDevice
  | Graphics
  | Hostdev
  | Filesystem
  | NetInterface
  | Input
  | Rng
  | Tpm
  | MemoryDevice
  | Shmem
  | Smartcard
  | Redirdev
  | Vsock
  | Sound
  | Audio
  | Video
  | Pstore;

export type DeviceKind = Device['kind'];
export type DeviceOf<K extends DeviceKind> = Extract<Device, { kind: K }>;

export interface Loader {
  readonly path: string | undefined;
  readonly readonly: boolean | undefined;
  readonly type: string | undefined;
}

export interface Nvram {
  readonly source: StorageSource | undefined;
  readonly template: string | undefined;
}

export interface Os {
  readonly type: string | undefined;
  readonly arch: string | undefined;
  readonly firmware: string | undefined;
  readonly kernel: string | undefined;
  readonly initrd: string | undefined;
  readonly dtb: string | undefined;
  readonly shim: string | undefined;
  readonly acpiTables: readonly string[];
  readonly loader: Loader | undefined;
  readonly nvram: Nvram | undefined;
}

export interface MemoryBacking {
  readonly hugepages: boolean;
  readonly source: string | undefined;
  readonly shared: boolean;
}

export interface FwCfgFile {
  readonly entry: string;
  readonly path: string;
}

export interface SecLabel {
  readonly type: string;
  readonly model: string | undefined;
  readonly relabel: boolean | undefined;
  readonly label: string | undefined;
}

export interface Domain {
  /** The virtualisation type as written (`kvm`, `qemu`, `test`, ...). */
  readonly type: string;
  readonly name: string;
  /** Canonical lower-case UUID (8-4-4-4-12). */
  readonly uuid: string;
  /** The running domain's id, present only in live XML. */
  readonly id: number | undefined;
  readonly emulator: string | undefined;
  readonly os: Os;
  readonly memoryBacking: MemoryBacking;
  readonly devices: readonly Device[];
  readonly fwCfgFiles: readonly FwCfgFile[];
  readonly seclabels: readonly SecLabel[];
  /** Arguments passed with `<qemu:commandline>`: invisible to confinement. */
  readonly qemuCommandline: readonly string[];
  /** The monitor socket named by a `<domstatus>` status file. */
  readonly statusMonitorPath: string | undefined;
}

export function devicesOf<K extends DeviceKind>(domain: Domain, kind: K): readonly DeviceOf<K>[] {
  return domain.devices.filter((d): d is DeviceOf<K> => d.kind === kind);
}
