// Exit codes of every virt-aa-hook command (documented in README.md), and
// the one place that turns an error into a one-line message.

import { DomainRefusedError, HostError, UsageError, describeError } from '../errors.ts';

export const exitCodes = {
  ok: 0,
  /** A bug: the message says so; VIRT_AA_HOOK_DEBUG=1 adds the stack. */
  internal: 1,
  /** The domain XML, or a file it names, is invalid or refused by policy. */
  refused: 2,
  /** The host failed: template, apparmor_parser, file writes. */
  host: 3,
  /** The command line or configuration is wrong. */
  usage: 64,
} as const;

export function exitCodeFor(error: unknown): number {
  if (error instanceof DomainRefusedError) return exitCodes.refused;
  if (error instanceof HostError) return exitCodes.host;
  if (error instanceof UsageError) return exitCodes.usage;
  return exitCodes.internal;
}

export function errorLine(error: unknown): string {
  const known = error instanceof DomainRefusedError || error instanceof HostError || error instanceof UsageError;
  const line = `virt-aa-hook: ${known ? 'error' : 'internal error'}: ${describeError(error)}`;
  if (!known && process.env['VIRT_AA_HOOK_DEBUG'] === '1' && error instanceof Error && error.stack !== undefined) return `${line}\n${error.stack}`;
  return line;
}
