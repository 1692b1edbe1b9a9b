import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import tmp from 'tmp';
import { removeIfExists, writeFileAtomically, writeIfChanged } from '../../lib/apparmor/files.ts';
import { HostError } from '../../lib/errors.ts';

const newDir = (): string => tmp.dirSync({ unsafeCleanup: true }).name;
const old = new Date('2001-02-03T04:05:06Z');

test('an atomic write replaces the content, sets the mode whatever the umask, and leaves no temp file', (t) => {
  const dir = newDir();
  const file = path.join(dir, 'libvirt-x.files');
  fs.writeFileSync(file, 'old\n');
  const inode = fs.statSync(file).ino;
  const umask = process.umask(0o077);
  try {
    writeFileAtomically(file, 'new\n');
  } finally {
    process.umask(umask);
  }
  t.is(fs.readFileSync(file, 'utf8'), 'new\n');
  t.is(fs.statSync(file).mode & 0o777, 0o644);
  t.not(fs.statSync(file).ino, inode, 'a new file renamed over the old one, not the old one rewritten');
  t.deepEqual(fs.readdirSync(dir), ['libvirt-x.files']);
  writeFileAtomically(file, 'private\n', 0o600);
  t.is(fs.statSync(file).mode & 0o777, 0o600);
});

test('missing parent directories are created 0755', (t) => {
  const dir = newDir();
  const file = path.join(dir, 'a/b/profile');
  writeFileAtomically(file, 'x');
  t.is(fs.readFileSync(file, 'utf8'), 'x');
  t.is(fs.statSync(path.join(dir, 'a')).mode & 0o777, 0o755);
  t.is(fs.statSync(path.join(dir, 'a/b')).mode & 0o777, 0o755);
});

test('unchanged content is not written: the file keeps its mtime, so the parser cache stays valid', (t) => {
  const file = path.join(newDir(), 'libvirt-x.files');
  t.true(writeIfChanged(file, 'rules\n'));
  fs.utimesSync(file, old, old);
  t.false(writeIfChanged(file, 'rules\n'));
  t.is(fs.statSync(file).mtimeMs, old.getTime());
  t.true(writeIfChanged(file, 'other rules\n'));
  t.is(fs.readFileSync(file, 'utf8'), 'other rules\n');
  t.true(fs.statSync(file).mtimeMs > old.getTime());
});

test('when the rename fails, what was there stays and the temp file is gone', (t) => {
  const dir = newDir();
  // A directory where the file should go: rename(2) of a file onto it fails with EISDIR.
  const target = path.join(dir, 'libvirt-x');
  fs.mkdirSync(target);
  fs.writeFileSync(path.join(target, 'kept'), 'kept');
  for (const write of [() => writeFileAtomically(target, 'new'), () => writeIfChanged(target, 'new')]) {
    const error = t.throws(write, { instanceOf: HostError });
    t.is(error?.message, `cannot write "${target}": EISDIR`);
    t.is(error?.context.path, target);
    t.is((error?.cause as NodeJS.ErrnoException | undefined)?.code, 'EISDIR');
  }
  t.deepEqual(fs.readdirSync(dir), ['libvirt-x']);
  t.is(fs.readFileSync(path.join(target, 'kept'), 'utf8'), 'kept');
});

test('a parent that is a file is reported with the target path', (t) => {
  const dir = newDir();
  fs.writeFileSync(path.join(dir, 'libvirt'), 'not a directory');
  const target = path.join(dir, 'libvirt/libvirt-x');
  // mkdir -p says EEXIST when a component exists as a file.
  t.throws(() => writeFileAtomically(target, 'x'), { instanceOf: HostError, message: `cannot write "${target}": EEXIST` });
  t.deepEqual(fs.readdirSync(dir), ['libvirt']);
});

test('removeIfExists says whether there was a file, and reports what it cannot remove', (t) => {
  const dir = newDir();
  const file = path.join(dir, 'f');
  fs.writeFileSync(file, '');
  t.true(removeIfExists(file));
  t.false(fs.existsSync(file));
  t.false(removeIfExists(file));
  const error = t.throws(() => removeIfExists(dir), { instanceOf: HostError });
  t.is(error?.message, `cannot remove "${dir}": EISDIR`);
  t.true(fs.existsSync(dir));
});
