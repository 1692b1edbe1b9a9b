// The hook's argv, read by position and never through an option parser: a
// domain may be called `--version` or `-x`, and libvirt may add operations.

export const hookOperations = ['prepare', 'start', 'started', 'stopped', 'release', 'migrate', 'restore', 'reconnect', 'attach'] as const;
export type HookOperation = (typeof hookOperations)[number];

export type HookEvent =
  | { readonly kind: 'known'; readonly domainName: string; readonly op: HookOperation; readonly subop: string; readonly extra: string }
  | { readonly kind: 'unknown'; readonly domainName: string; readonly op: string; readonly subop: string; readonly extra: string };

/** `<domain-name> <op> <subop> <extra>`, with libvirt's `-` for missing values. */
export function parseHookArgv(argv: readonly string[]): HookEvent {
  const [domainName = '', op = '', subop = '-', extra = '-'] = argv;
  const known = (hookOperations as readonly string[]).includes(op);
  return known ? { kind: 'known', domainName, op: op as HookOperation, subop, extra } : { kind: 'unknown', domainName, op, subop, extra };
}

export function describeEvent(event: HookEvent): string {
  return `${event.op}/${event.subop}${event.extra === '-' ? '' : `/${event.extra}`}`;
}
