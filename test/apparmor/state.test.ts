import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import tmp from 'tmp';
import { listStates, readState, removeState, writeState, type DomainState } from '../../lib/apparmor/state.ts';
import { sha256 } from '../../lib/sha256.ts';

const newDir = (): string => tmp.dirSync({ unsafeCleanup: true }).name;

const state = (uuid: string, fields: Partial<DomainState> = {}): DomainState => ({
  uuid,
  name: 'vm 1',
  mode: 'wrapper',
  profileFile: `/etc/apparmor.d/libvirt/libvirt-${uuid}`,
  filesFile: `/etc/apparmor.d/libvirt/libvirt-${uuid}.files`,
  profileSha256: sha256('profile'),
  loaded: true,
  appended: [],
  domainId: null,
  ...fields,
});

const a = '6f1d2c3b-0000-4000-8000-00000000000a';
const b = '6f1d2c3b-0000-4000-8000-00000000000b';

test('a state goes round: written as JSON under domains/<uuid>.json, read back, removed', (t) => {
  const dir = newDir();
  const written = state(a, { mode: 'libvirt', loaded: false });
  writeState(dir, written);
  const file = path.join(dir, 'domains', `${a}.json`);
  t.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), written);
  t.deepEqual(readState(dir, a), written);
  t.true(removeState(dir, a));
  t.is(readState(dir, a), undefined);
  t.false(removeState(dir, a));
});

test('only the known fields are written', (t) => {
  const dir = newDir();
  writeState(dir, { ...state(a), extra: 'not ours' } as DomainState);
  t.deepEqual(readState(dir, a), state(a));
  t.false(fs.readFileSync(path.join(dir, 'domains', `${a}.json`), 'utf8').includes('extra'));
});

test('listing: sorted, junk ignored, a missing directory is no domain', (t) => {
  const dir = newDir();
  t.deepEqual(listStates(dir), []);
  writeState(dir, state(b));
  writeState(dir, state(a));
  const domains = path.join(dir, 'domains');
  const junk: Record<string, string> = {
    '6f1d2c3b-0000-4000-8000-00000000000c.json': '{ not json',
    '6f1d2c3b-0000-4000-8000-00000000000d.json': JSON.stringify({ ...state('6f1d2c3b-0000-4000-8000-00000000000d'), mode: 'other' }),
    '6f1d2c3b-0000-4000-8000-00000000000e.json': JSON.stringify(state(a)),
    '6f1d2c3b-0000-4000-8000-00000000000f.json': JSON.stringify({ ...state('6f1d2c3b-0000-4000-8000-00000000000f'), loaded: 'yes' }),
    'notes.txt': 'hello',
    'vm.json': JSON.stringify(state(a)),
    '.6f1d2c3b-0000-4000-8000-00000000000a.json.0123.tmp': JSON.stringify(state(a)),
  };
  for (const [name, text] of Object.entries(junk)) fs.writeFileSync(path.join(domains, name), text);
  fs.mkdirSync(path.join(domains, '6f1d2c3b-0000-4000-8000-000000000010.json'));
  t.deepEqual(listStates(dir), [state(a), state(b)]);
  t.is(readState(dir, '6f1d2c3b-0000-4000-8000-00000000000e'), undefined, 'a state naming another UUID is not this domain\'s');
});

test('a UUID that is not canonical never becomes a path', (t) => {
  const dir = newDir();
  for (const uuid of ['../../etc/passwd', '6F1D2C3B-0000-4000-8000-00000000000A', '6f1d2c3b00004000800000000000000a']) {
    t.throws(() => writeState(dir, state(uuid)), { message: `not a canonical UUID: ${JSON.stringify(uuid)}` });
    t.throws(() => readState(dir, uuid));
  }
  t.false(fs.existsSync(path.join(dir, 'domains')));
});
