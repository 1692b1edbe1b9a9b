// Errors that carry what an admin needs to find the culprit: the domain, the
// device inside it and the host path involved. Only the entry points turn them
// into exit codes and one-line messages.

export interface ErrorContext {
  readonly domain?: string | undefined;
  readonly device?: string | undefined;
  readonly path?: string | undefined;
}

/** An error that says where: which domain, device and path. */
export abstract class ContextualError extends Error {
  readonly context: ErrorContext;
  constructor(message: string, context: ErrorContext = {}, options?: ErrorOptions) {
    super(message, options);
    this.context = context;
  }
}

/** The domain XML (or a file it names) is invalid, or policy refuses it. */
export class DomainRefusedError extends ContextualError {
  override readonly name = 'DomainRefusedError';
}

/** The host could not do what was asked (parser failure, unwritable directory, ...). */
export class HostError extends ContextualError {
  override readonly name = 'HostError';
}

/** The admin's configuration or command line is wrong. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The errno name of a failed fs call (`ENOENT`), or its text. */
export function errnoCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}

/** Renders an error as one line: "domain 'x', disk 'vda', path "/p": message". */
export function describeError(error: unknown): string {
  if (error instanceof ContextualError) {
    const where: string[] = [];
    const { domain, device, path } = error.context;
    if (domain !== undefined) where.push(`domain '${oneLine(domain)}'`);
    if (device !== undefined) where.push(oneLine(device));
    if (path !== undefined) where.push(`path "${oneLine(path)}"`);
    const prefix = where.length > 0 ? `${where.join(', ')}: ` : '';
    return prefix + oneLine(error.message);
  }
  if (error instanceof Error) return oneLine(error.message);
  return oneLine(String(error));
}

/** Control characters (a newline in a hostile name) must never split a log line. */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
