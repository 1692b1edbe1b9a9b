// Names and tokens that must differ between processes and between calls, not
// be secret: temp files are created with O_EXCL in root-only directories, and
// a lock's token only tells one acquisition from another. Math.random (seeded
// by V8 from the OS in every process) instead of node:crypto, which costs a
// hook call about 5 ms to load.

let calls = 0;

/** Lower-case letters and digits, unique within this process and unlikely to repeat in another. */
export function uniqueToken(): string {
  calls += 1;
  return `${process.pid.toString(36)}${calls.toString(36)}${Math.random().toString(36).slice(2, 12).padEnd(10, '0')}`;
}
