// Reads a domain XML document from a file or standard input, never more than
// the size limit plus one byte, so a huge input is refused without being
// held in memory.

import * as fs from 'node:fs';
import { DomainRefusedError } from './errors.ts';
import { maxXmlBytes } from './domain/xml.ts';

function readLimited(fd: number, what: string): string {
  const chunks: Buffer[] = [];
  let total = 0;
  const chunk = Buffer.alloc(1 << 16);
  for (;;) {
    let count: number;
    try {
      count = fs.readSync(fd, chunk, 0, chunk.length, null);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') continue;
      if (code === 'EOF') break;
      throw new DomainRefusedError(`cannot read ${what}: ${(error as Error).message}`);
    }
    if (count === 0) break;
    total += count;
    if (total > maxXmlBytes) throw new DomainRefusedError(`cannot read ${what}: larger than ${maxXmlBytes / (1024 * 1024)} MiB`);
    chunks.push(Buffer.from(chunk.subarray(0, count)));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `-` or nothing means standard input. */
export function readDomainXml(file: string | undefined): string {
  // yargs hands a lone "-" over as an empty string.
  if (file === undefined || file === '-' || file === '') return readLimited(0, 'standard input');
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    throw new DomainRefusedError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { path: file });
  }
  try {
    return readLimited(fd, file);
  } finally {
    fs.closeSync(fd);
  }
}
