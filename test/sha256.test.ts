import test from 'ava';
import { createHash } from 'node:crypto';
import { sha256 } from '../lib/sha256.ts';

const reference = (text: string): string => createHash('sha256').update(text).digest('hex');

test('the FIPS 180-4 examples', (t) => {
  t.is(sha256(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  t.is(sha256('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  t.is(sha256('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'), '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
});

test('as node:crypto at every length around the block and padding boundaries', (t) => {
  for (let length = 0; length <= 200; length++) {
    const text = 'x'.repeat(length);
    t.is(sha256(text), reference(text), `length ${length}`);
  }
});

test('as node:crypto on UTF-8 beyond ASCII and on a profile-sized text', (t) => {
  for (const text of ['é', 'domaine élevé ✓ 🚀', '\u0000\n\u2028', 'rule "/srv/vm/*" rwk,\n'.repeat(700)]) t.is(sha256(text), reference(text));
});
