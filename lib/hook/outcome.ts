// What a hook event ends in, and the events that need nothing else: the
// entry answers those without loading the XML parser, synthesis and the
// profile store (lib/hook/dispatch.ts), which a no-op event never uses.

import { describeEvent, type HookEvent, type HookOperation } from './event.ts';

export interface HookOutcome {
  readonly exitCode: number;
  /** Printed as is: empty unless libvirt must use a changed XML. */
  readonly stdout: string;
  /** Lines libvirt shows in its error message when the hook fails. */
  readonly stderr: readonly string[];
  /** The event's line for the system log, without timing. */
  readonly log: string;
}

export const ok = (log: string, stderr: readonly string[] = []): HookOutcome => ({ exitCode: 0, stdout: '', stderr, log });

/** The log line's start for an event whose domain XML was not (or could not be) read. */
export const eventPrefix = (event: HookEvent): string => `domain=${JSON.stringify(event.domainName)} event=${describeEvent(event)}`;

/** An event the hook acts on: every one but attach (libvirt no longer calls it since 5.5) and operations libvirt may add one day. */
export type HandledEvent = Extract<HookEvent, { kind: 'known' }> & { readonly op: Exclude<HookOperation, 'attach'> };

export function handledEvent(event: HookEvent): HandledEvent | undefined {
  if (event.kind === 'unknown' || event.op === 'attach') return undefined;
  return { ...event, op: event.op };
}

export const isIgnored = (event: HookEvent): boolean => handledEvent(event) === undefined;

export const ignoredOutcome = (event: HookEvent): HookOutcome => ok(`${eventPrefix(event)} outcome=ignored`);

/** An event from a daemon that is not root (qemu:///session): none of our business, never a failure. */
export const unprivileged = (event: HookEvent): HookOutcome =>
  ok(`${eventPrefix(event)} outcome=ignored (an unprivileged libvirt daemon, e.g. qemu:///session: its guests run unconfined)`);
