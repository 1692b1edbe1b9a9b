// Commands printed for an admin to paste: each word as a POSIX shell reads it
// back, and `--` before the operands when one would read as an option (a
// domain may be called `--version`).

/** A word for a shell command line: as is when plain, else single-quoted. */
export function shellWord(text: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** `virt-aa-hook <verb> <operands> [options]`, or `virt-aa-hook <verb> [options] -- <operands>` when an operand starts with "-". */
export function commandLine(verb: string, operands: readonly string[], options: readonly string[] = []): string {
  const quoted = operands.map(shellWord);
  const words = operands.some((o) => o.startsWith('-') && o !== '-') ? [...options, '--', ...quoted] : [...quoted, ...options];
  return ['virt-aa-hook', verb, ...words].join(' ');
}
