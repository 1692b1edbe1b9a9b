// One line per hook event or helper call, to the system log or to the
// configured file. libvirt gives hooks no syslog socket of their own, and
// Node has no datagram unix sockets for /dev/log: the line goes to journald's
// stream socket (as systemd-cat writes it), a connect and a write, where
// logger(1) costs a fork and an exec of a whole Node process (npm run bench
// measures both). Without journald, logger(1); a line neither takes goes to
// stderr, so it is never lost.

import * as fs from 'node:fs';
import { childProcess, net } from './builtins.ts';
import { oneLine } from './errors.ts';

export interface LogDestination {
  /** The configured log file; null: the system log. */
  readonly logFile: string | null;
  /** journald's stream socket (`paths.journalSocket`). */
  readonly journalSocket: string;
}

const identifier = 'virt-aa-hook';
/** daemon.notice, as LOG_DAEMON | LOG_NOTICE. */
const priority = 3 * 8 + 5;

/** A connect to a unix socket answers at once; this only bounds a journald that hangs. */
const journalTimeoutMs = 2000;

/** `written` runs once the line is out (at once, unless it goes to journald). */
export function writeLog(destination: LogDestination, line: string, written: () => void = () => {}): void {
  const text = oneLine(line);
  if (destination.logFile !== null) {
    try {
      fs.appendFileSync(destination.logFile, `${new Date().toISOString()} ${text}\n`);
      written();
      return;
    } catch {
      // Fall through to the system log: losing the line would hide what happened.
    }
  }
  toJournal(destination.journalSocket, text, written, () => {
    toLogger(text);
    written();
  });
}

/**
 * The stream protocol of sd_journal_stream_fd(3): identifier, unit (empty),
 * priority, level prefix, forward to syslog, kmsg, console (journald's own
 * settings still apply), then the line. Asynchronous: the process lives on
 * until the line is handed over or `fallback` has run.
 */
function toJournal(socketPath: string, text: string, written: () => void, fallback: () => void): void {
  let settled = false;
  const socket = net().createConnection(socketPath);
  const fail = (): void => {
    if (settled) return;
    settled = true;
    socket.destroy();
    fallback();
  };
  socket.on('error', fail);
  socket.setTimeout(journalTimeoutMs, fail);
  // Node also calls this when the connection failed, with the error.
  socket.end(`${identifier}\n\n${priority}\n0\n0\n0\n0\n${text}\n`, (error?: Error | null) => {
    if (error !== undefined && error !== null) {
      fail();
      return;
    }
    if (settled) return;
    settled = true;
    socket.destroy();
    written();
  });
}

function toLogger(text: string): void {
  const run = childProcess().spawnSync('logger', ['-t', identifier, '-p', 'daemon.notice', '--', text], { stdio: 'ignore', env: { PATH: '/usr/bin:/bin' } });
  if (run.status !== 0) process.stderr.write(`${identifier}: ${text}\n`);
}
