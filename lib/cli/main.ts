// Entry point of the `virt-aa-hook` admin command.

import { runCli } from './run.ts';
import { processIo } from './io.ts';

void runCli(process.argv.slice(2), processIo).then((code) => {
  process.exitCode = code;
});
