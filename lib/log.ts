// One line per hook event, to the system log (through logger(1), as libvirt
// gives hooks no syslog socket of their own) or to the configured file.

import * as fs from 'node:fs';
import { childProcess } from './builtins.ts';
import { oneLine } from './errors.ts';

export function writeLog(logFile: string | null, line: string): void {
  const text = oneLine(line);
  if (logFile !== null) {
    try {
      fs.appendFileSync(logFile, `${new Date().toISOString()} ${text}\n`);
      return;
    } catch {
      // Fall through to the system log: losing the line would hide what happened.
    }
  }
  const run = childProcess().spawnSync('logger', ['-t', 'virt-aa-hook', '-p', 'daemon.notice', '--', text], { stdio: 'ignore', env: { PATH: '/usr/bin:/bin' } });
  if (run.status !== 0) process.stderr.write(`virt-aa-hook: ${text}\n`);
}
