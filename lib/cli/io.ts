// Output sinks for commands, so tests run the CLI in-process and read what it printed.

export interface CliIo {
  readonly stdout: (text: string) => void;
  /** One line, without its newline. */
  readonly stderr: (line: string) => void;
}

export const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (line) => process.stderr.write(`${line}\n`),
};
