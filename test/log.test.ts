import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import tmp from 'tmp';
import { writeLog } from '../lib/log.ts';
import { checkoutRoot } from './helpers/apparmor-parser.ts';

const newDir = (): string => fs.realpathSync(tmp.dirSync({ unsafeCleanup: true }).name);

/** A stand-in for journald's stream socket: resolves with what one client wrote before closing. */
function fakeJournal(socketPath: string): Promise<string> {
  return new Promise((resolve) => {
    const server = net.createServer((client) => {
      let received = '';
      client.on('data', (data) => (received += data.toString()));
      client.on('end', () => {
        server.close();
        resolve(received);
      });
    });
    server.listen(socketPath);
  });
}

test('with a log file the line is appended there, after a timestamp, control characters escaped', (t) => {
  const file = path.join(newDir(), 'hook.log');
  writeLog({ logFile: file, journalSocket: '/nonexistent' }, 'domain="a\nb" outcome=ok');
  t.regex(fs.readFileSync(file, 'utf8'), /^\d{4}-\d\d-\d\dT[\d:.]+Z domain="a\\x0ab" outcome=ok\n$/);
});

test("without one it goes to journald's stream socket as sd_journal_stream_fd writes it, daemon.notice", async (t) => {
  const socket = path.join(newDir(), 'stdout');
  const received = fakeJournal(socket);
  await new Promise((resolve) => setTimeout(resolve, 50));
  writeLog({ logFile: null, journalSocket: socket }, 'event=prepare/begin outcome=loaded');
  t.is(await received, 'virt-aa-hook\n\n29\n0\n0\n0\n0\nevent=prepare/begin outcome=loaded\n');
});

test('an unwritable log file falls back to the system log', async (t) => {
  const dir = newDir();
  const socket = path.join(dir, 'stdout');
  const received = fakeJournal(socket);
  await new Promise((resolve) => setTimeout(resolve, 50));
  writeLog({ logFile: path.join(dir, 'missing', 'hook.log'), journalSocket: socket }, 'outcome=ok');
  t.regex(await received, /\noutcome=ok\n$/);
});

test('without journald, logger(1); a line logger cannot take goes to stderr; the process exits 0 either way', (t) => {
  const script = `import { writeLog } from ${JSON.stringify(path.join(checkoutRoot, 'lib/log.ts'))}; writeLog({ logFile: null, journalSocket: '/nonexistent/stdout' }, 'outcome=fallback');`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: checkoutRoot });
  t.is(run.status, 0, run.stderr);
  // logger exits 0 when it can hand the line over (and on hosts like this one without a syslog socket, quietly).
  t.true(run.stderr === '' || run.stderr === 'virt-aa-hook: outcome=fallback\n', run.stderr);
});
