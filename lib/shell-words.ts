// Commands printed for an admin to paste: each word as a POSIX shell reads it
// back, and `--` before the operands when one would read as an option (a
// domain may be called `--version`).

/** A word for a shell command line: as is when plain, else single-quoted. */
export function shellWord(text: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** `<program> <verb> <operands> [options]`, or `<program> <verb> [options] -- <operands>` when an operand starts with "-" (virsh reads `--` too). */
export function programLine(program: string, verb: string, operands: readonly string[], options: readonly string[] = []): string {
  const quoted = operands.map(shellWord);
  const words = operands.some((o) => o.startsWith('-') && o !== '-') ? [...options, '--', ...quoted] : [...quoted, ...options];
  return [program, verb, ...words].join(' ');
}

/** `virt-aa-hook <verb> <operands> [options]`, with `--` as programLine puts it. */
export function commandLine(verb: string, operands: readonly string[], options: readonly string[] = []): string {
  return programLine('virt-aa-hook', verb, operands, options);
}
