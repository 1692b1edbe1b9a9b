// AppArmor audit records of our profiles, from the kernel log or audit.log,
// turned into one readable line each: which domain, which operation on which
// path, and what it asked for. Pure: text in, records out.

export interface Denial {
  /** DENIED, or ALLOWED for a profile in complain mode (logged, not enforced). */
  readonly verdict: 'DENIED' | 'ALLOWED';
  /** The profile as the record names it, without its policy namespace: `libvirt-<uuid>`, `libvirt-<uuid>//passt`, `virt-aa-hook`. */
  readonly profile: string;
  readonly namespace: string | undefined;
  /** The domain's UUID for a per-VM profile (or one of its children). */
  readonly uuid: string | undefined;
  readonly operation: string | undefined;
  /** The path (name=), or the peer or capability the operation was about. */
  readonly target: string | undefined;
  readonly requested: string | undefined;
  readonly denied: string | undefined;
  readonly command: string | undefined;
  readonly pid: string | undefined;
  /** The record as it was logged, after its timestamp prefix. */
  readonly record: string;
}

const perVmProfile = /^libvirt-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(\/\/.*)?$/;

/**
 * key=value pairs of one audit record. A value is quoted, or bare: the kernel
 * writes a string holding a space, a quote or a control character as bare
 * hex, so a bare value of the string fields is decoded.
 */
function fields(record: string): ReadonlyMap<string, string> {
  const stringFields = new Set(['profile', 'name', 'comm', 'peer', 'target']);
  const result = new Map<string, string>();
  for (const match of record.matchAll(/([a-z_]+)=("[^"]*"|\S+)/g)) {
    const [, key = '', raw = ''] = match;
    if (result.has(key)) continue;
    let value = raw.startsWith('"') ? raw.slice(1, -1) : raw;
    if (!raw.startsWith('"') && stringFields.has(key) && /^(?:[0-9A-F]{2})+$/.test(raw)) value = Buffer.from(raw, 'hex').toString('utf8');
    result.set(key, value);
  }
  return result;
}

/** Whether a profile is one virt-aa-hook generates or ships. */
export function isOurProfile(profile: string): boolean {
  return perVmProfile.test(profile) || profile === 'virt-aa-hook' || profile.startsWith('virt-aa-hook//');
}

/** Every AppArmor DENIED/ALLOWED record of our profiles in a log, in order. */
export function parseDenials(log: string): readonly Denial[] {
  const result: Denial[] = [];
  for (const line of log.split('\n')) {
    const verdictMatch = /apparmor="(DENIED|ALLOWED)"/.exec(line);
    if (verdictMatch === null) continue;
    // From "type=" on: what precedes it is a timestamp or a syslog prefix.
    const typeAt = line.indexOf('type=');
    const record = line.slice(typeAt >= 0 && typeAt < verdictMatch.index ? typeAt : verdictMatch.index);
    const f = fields(record);
    const rawProfile = f.get('profile');
    if (rawProfile === undefined) continue;
    // Inside a policy namespace the record carries namespace="root//<ns>"; older kernels prefix the profile with ":<ns>:".
    const prefixed = /^:([^:]+):(.*)$/.exec(rawProfile);
    const profile = prefixed?.[2] ?? rawProfile;
    if (!isOurProfile(profile)) continue;
    const namespace = prefixed?.[1] ?? f.get('namespace')?.replace(/^root\/\//, '');
    const target = f.get('name') ?? f.get('peer') ?? f.get('capname') ?? f.get('target');
    result.push({
      verdict: verdictMatch[1] === 'ALLOWED' ? 'ALLOWED' : 'DENIED',
      profile,
      namespace,
      uuid: perVmProfile.exec(profile)?.[1],
      operation: f.get('operation'),
      target,
      requested: f.get('requested_mask') ?? f.get('requested'),
      denied: f.get('denied_mask') ?? f.get('denied'),
      command: f.get('comm'),
      pid: f.get('pid'),
      record,
    });
  }
  return result;
}

/** One line for an admin: `domain 'web' (libvirt-<uuid>): DENIED open "/path" r (qemu-system-x86 pid 42)`. */
export function describeDenial(denial: Denial, domainName: string | undefined): string {
  const who = domainName === undefined ? `profile ${denial.profile}` : `domain '${domainName}' (${denial.profile})`;
  const where = denial.namespace === undefined ? '' : ` in policy namespace ${denial.namespace}`;
  const what = [denial.operation ?? 'access', denial.target === undefined ? undefined : JSON.stringify(denial.target), denial.denied ?? denial.requested].filter((p) => p !== undefined).join(' ');
  const by = [denial.command, denial.pid === undefined ? undefined : `pid ${denial.pid}`].filter((p) => p !== undefined).join(' ');
  return `${who}${where}: ${denial.verdict} ${what}${by === '' ? '' : ` (${by})`}`;
}
