// Why a path libvirt's virt-aa-helper grants is not granted by our profile.
// Each entry is a deliberate difference, stated the way README.md states it.
// A missing path no entry explains is a gap in the generator, so the patterns
// are narrow and, where the path alone cannot tell, the domain must match too.

export interface MissingReason {
  readonly id: string;
  /** Tested against libvirt's rule as it wrote it (a pattern or a path) and against the concrete path checked. */
  readonly pattern: RegExp;
  /** When the difference depends on the rest of the domain: the condition on its XML. */
  readonly domain?: (xml: string, path: string) => boolean;
  readonly explanation: string;
}

/** The XML spells an attribute with either quote. */
const hasAttribute = (xml: string, name: string, value: string): boolean => xml.includes(`${name}='${value}'`) || xml.includes(`${name}="${value}"`);

export const missingReasons: readonly MissingReason[] = [
  {
    id: 'legacy-private-dir',
    pattern: /^\/var\/lib\/libvirt\/qemu\/domain-[^/]+\/monitor\.sock$/,
    explanation:
      'virt-aa-helper still grants the monitor socket of the private directory layout of libvirt before 1.3 (domain-<name>/monitor.sock); libvirt now keeps it in domain-<id>-<name>/, which ours grants',
  },
  {
    id: 'inactive-domain-id',
    pattern: /^(?:\/var\/lib\/libvirt\/qemu\/domain--1-[^/]*\/\*|\/run\/libvirt\/qemu\/swtpm\/-1-[^/]*-swtpm\.(?:sock|pid))$/,
    explanation:
      'for a definition without an id (not running), virt-aa-helper writes the id as -1 (domain--1-<name>, -1-<name>-swtpm.sock), a name libvirt never creates; ours uses the id of the running domain, or any id when the XML has none',
  },
  {
    id: 'tunnelled-migration-socket',
    pattern: /^\/run\/libvirt\/\*\*\/\*\.tunnelmigrate\.dest\.[^/]*$/,
    explanation:
      "the unix socket of libvirt 0.8's tunnelled migration; libvirt has long handed QEMU a pipe for an incoming tunnelled migration instead, and no current libvirt creates *.tunnelmigrate.dest.<name>",
  },
  {
    id: 'vfio-other-groups',
    pattern: /^\/dev\/vfio\/\[0-9\]\*$/,
    explanation:
      "virt-aa-helper grants every IOMMU group (/dev/vfio/[0-9]*); ours grants /dev/vfio/vfio and only the groups of the VM's own host devices, looked up in sysfs (a device absent from the host gets no group rule until it is present)",
  },
  {
    id: 'vhost-net-without-tap',
    pattern: /^\/dev\/vhost-net$/,
    domain: (xml) => !/<interface\s[^>]*type=["'](?:network|bridge|ethernet|direct)["']/.test(xml),
    explanation:
      'virt-aa-helper grants /dev/vhost-net to any KVM domain with a virtio interface; ours only when an interface has a tap backend (network, bridge, ethernet, direct): user-mode networking (slirp, passt) never uses vhost-net',
  },
  {
    id: 'swtpm-state-source',
    pattern: /^\/var\/lib\/libvirt\/swtpm\//,
    domain: (xml) => /<backend\s[^>]*type=["']emulator["'][^>]*>(?:(?!<\/backend>)[\s\S])*<source\b/.test(xml),
    explanation:
      "when the TPM's <source> names the swtpm state location (newer libvirt than 9.0), ours grants that location; virt-aa-helper 9.0 ignores <source> and grants the default /var/lib/libvirt/swtpm/<uuid>/ directory, which swtpm then does not use",
  },
  {
    id: 'directory-disk-as-file',
    pattern: /^\/[^*?[{]*[^/*?[{]$/,
    domain: (xml, path) => hasAttribute(xml, 'dir', path),
    explanation:
      'for a <disk type="dir"> virt-aa-helper writes the directory without its trailing slash, a rule that matches no directory; ours grants the directory and everything below it',
  },
];

export function classifyMissing(rule: string, path: string, xml: string): MissingReason | undefined {
  return missingReasons.find((reason) => (reason.pattern.test(rule) || reason.pattern.test(path)) && (reason.domain?.(xml, path) ?? true));
}
