// The lines the hook and our virt-aa-helper log (lib/log.ts), read back:
// `domain="web-01" profile=libvirt-<uuid> event=prepare/begin ... outcome=loaded ms=41`
// and `... profile=libvirt-<uuid> helper="-r -F /path" ... outcome=loaded ms=9`,
// behind a timestamp (paths.logFile) or a syslog prefix. Pure.

export interface LogEvent {
  /** The time the line carries (ISO or syslog), as written. */
  readonly when: string | undefined;
  readonly domain: string | undefined;
  readonly uuid: string | undefined;
  /** `event=prepare/begin`, or `helper="-r -F /path"`. */
  readonly what: string;
  /** Everything after `outcome=` up to the timings: `loaded`, `unconfined (not enrolled)`, `failed: ...`. */
  readonly outcome: string | undefined;
}

const timestamp = /(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)|([A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d)/;

/** A hook or helper line, or undefined for any other. */
export function parseLogLine(line: string): LogEvent | undefined {
  const what = / (event=\S+)/.exec(` ${line}`)?.[1] ?? / (helper="(?:[^"\\]|\\.)*")/.exec(` ${line}`)?.[1];
  if (what === undefined) return undefined;
  const domainMatch = / domain=("(?:[^"\\]|\\.)*")/.exec(` ${line}`)?.[1];
  let domain: string | undefined;
  try {
    domain = domainMatch === undefined ? undefined : (JSON.parse(domainMatch) as string);
  } catch {
    domain = undefined;
  }
  const keyAt = line.search(/\b(domain|profile|helper|event)=/);
  const when = timestamp.exec(keyAt === -1 ? line : line.slice(0, keyAt))?.[0];
  return {
    when,
    domain,
    uuid: / profile=libvirt-([0-9a-f-]{36})\b/.exec(` ${line}`)?.[1],
    what,
    // Timings and the notes after them end the outcome; the outcome itself may hold spaces.
    outcome: / outcome=(.*?)(?= (?:emulator|ms|wall|hook_label)=|$)/.exec(line)?.[1],
  };
}

/** The last event of a domain: lines naming its profile, or (before its XML was read) its name. */
export function lastEventOf(lines: readonly string[], name: string, uuid: string): LogEvent | undefined {
  for (let i = lines.length - 1; i >= 0; i -= 1) {
    const event = parseLogLine(lines[i] ?? '');
    if (event !== undefined && (event.uuid === uuid || (event.uuid === undefined && event.domain === name))) return event;
  }
  return undefined;
}
