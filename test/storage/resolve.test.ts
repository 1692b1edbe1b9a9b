import test from 'ava';
import * as nodeFs from 'node:fs';
import tmp from 'tmp';
import { localFs, type HostFs } from '../../lib/host/host-fs.ts';
import { normalizeLexically, resolveHostPath } from '../../lib/storage/resolve.ts';

// One temp tree, seen both as host paths and as the root of a rooted view.
const root = nodeFs.realpathSync(tmp.dirSync({ unsafeCleanup: true }).name);
// Concatenated, not path.join: a lexical join would settle `..` before the kernel sees it.
const inRoot = (p: string): string => `${root}${p.startsWith('/') ? '' : '/'}${p}`;
for (const dir of ['real/dir', 'real/other']) nodeFs.mkdirSync(inRoot(dir), { recursive: true });
nodeFs.writeFileSync(inRoot('real/dir/file.img'), '');
nodeFs.writeFileSync(inRoot('real/plain'), '');
const links: readonly (readonly [string, string])[] = [
  ['link-dir', 'real/dir'],
  ['real/dir/up-link', '../other'],
  ['etc-link', '/etc'],
  ['real/dir/dangling-up', '../other/new.img'],
  ['d1', 'd2'],
  ['d2', 'real/../d3'],
  ['d3', 'real/other/nope'],
  ['dangling-abs', '/nowhere/y'],
  ['loop1', 'loop2'],
  ['loop2', 'loop1'],
];
for (const [link, target] of links) nodeFs.symlinkSync(target, inRoot(link));

// localFs(root) joins paths lexically (so `/link/..` would never reach the
// kernel): kernel semantics are checked on host paths under the temp tree.
const hostFs = localFs('/');
const resolves = test.macro({
  exec(t, input: string, expected: string) {
    t.is(resolveHostPath(inRoot(input), hostFs), inRoot(expected));
  },
  title: (provided = '', input: string, expected: string) => `${provided} ${input} -> ${expected}`.trim(),
});

test('existing file', resolves, '/real/dir/file.img', '/real/dir/file.img');
test('symlinked directory', resolves, '/link-dir/file.img', '/real/dir/file.img');
test('/./ and //', resolves, '/real/./dir//file.img', '/real/dir/file.img');
test('trailing slash', resolves, '/link-dir/', '/real/dir');
test('.. after a symlink is the parent of its target (kernel, not lexical)', resolves, '/link-dir/../other', '/real/other');
test('.. after a relative symlink to a sibling', resolves, '/real/dir/up-link/../dir/file.img', '/real/dir/file.img');
test('non-existent tail with .. normalised lexically', resolves, '/real/dir/missing/../../other/x.img', '/real/other/x.img');
test('non-existent tail after a symlinked directory', resolves, '/link-dir/missing/../../x.img', '/real/x.img');
test('non-existent name under a regular file', resolves, '/real/plain/x', '/real/plain/x');
test('dangling symlink resolved against its own directory', resolves, '/real/dir/dangling-up', '/real/other/new.img');
test('dangling symlink reached through a symlinked directory', resolves, '/link-dir/dangling-up', '/real/other/new.img');
test('dangling symlink chain with .. in a target', resolves, '/d1/x.img', '/real/other/nope/x.img');
test('symlink loop: lexical', resolves, '/loop1/x', '/loop1/x');
test('symlink loop with ..: lexical', resolves, '/loop1/../real//dir', '/real/dir');

// The same tree as the root of a rooted view, as synthesis tests use it.
const rootedFs = localFs(root);
const resolvesRooted = test.macro({
  exec(t, input: string, expected: string) {
    t.is(resolveHostPath(input, rootedFs), expected);
  },
  title: (provided = '', input: string, expected: string) => `rooted: ${provided} ${input} -> ${expected}`.trim(),
});

test('root', resolvesRooted, '/', '/');
test('symlinked directory', resolvesRooted, '/link-dir/file.img', '/real/dir/file.img');
test('absolute symlink leaving the root', resolvesRooted, '/etc-link/passwd', '/etc/passwd');
test('absolute symlink leaving the root, missing tail', resolvesRooted, '/etc-link/no-such-dir/x', '/etc/no-such-dir/x');
test('dangling absolute symlink', resolvesRooted, '/dangling-abs/z', '/nowhere/y/z');
test('dangling symlink chain', resolvesRooted, '/d1/x.img', '/real/other/nope/x.img');
test('nothing but / exists', resolvesRooted, '/nope/a/./../b//c/', '/nope/b/c');

test('a relative path is a programming error', (t) => {
  t.throws(() => resolveHostPath('real/dir', rootedFs), { message: /not an absolute path/ });
});

test('an endless chain of dangling links stops after 40 hops', (t) => {
  let readlinks = 0;
  const endless: HostFs = {
    ...rootedFs,
    realpath: (p) => {
      throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
    },
    lstat: () => ({ type: 'symlink', mode: 0o777, uid: 0, gid: 0 }),
    readlink: () => {
      readlinks += 1;
      return `hop${readlinks}`;
    },
  };
  t.is(resolveHostPath('/start/./x', endless), '/start/x');
  t.is(readlinks, 40);
});

test('unexpected errors are not swallowed', (t) => {
  const broken: HostFs = {
    ...rootedFs,
    lstat: () => {
      throw Object.assign(new Error('EIO'), { code: 'EIO' });
    },
  };
  t.throws(() => resolveHostPath('/real', broken), { message: 'EIO' });
});

const lexical = test.macro({
  exec(t, input: string, expected: string) {
    t.is(normalizeLexically(input), expected);
  },
  title: (_provided, input: string, expected: string) => `normalizeLexically ${input} -> ${expected}`,
});

test(lexical, '/', '/');
test(lexical, '/a/b/', '/a/b');
test(lexical, '//a//b/./c/..', '/a/b');
test(lexical, '/a/../../b', '/b');
