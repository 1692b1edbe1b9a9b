import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import tmp from 'tmp';
import { freshInstallConfigText, defaultConfig, domainSettings, loadConfig, parseConfig } from '../lib/config.ts';
import { UsageError } from '../lib/errors.ts';

const refused = test.macro({
  exec(t, json: string, message: string) {
    const error = t.throws(() => parseConfig(json, '/etc/virt-aa-hook/config.json'), { instanceOf: UsageError });
    t.is(error?.message, `invalid configuration /etc/virt-aa-hook/config.json: ${message}`);
  },
  title: (_given, json: string) => `refuses ${json}`,
});

test(refused, '{', 'is not valid JSON: Expected property name or \'}\' in JSON at position 1');
test(refused, '[]', 'must be an object');
test(refused, '{"polcy": "require"}', '"polcy" is not a known setting (known: mode, policy, loader, libvirtDriver, graphicsTls, imageDirs, paths, layout, domains)');
test(refused, '{"policy": "sometimes"}', '"policy" must be one of warn, require (got "sometimes")');
test(refused, '{"mode": "magic"}', '"mode" must be one of wrapper, libvirt (got "magic")');
test(refused, '{"graphicsTls": "yes"}', '"graphicsTls" must be true or false (got "yes")');
test(refused, '{"paths": {"apparmorDir": "etc/apparmor.d"}}', '"paths.apparmorDir" must be an absolute path (got "etc/apparmor.d")');
test(refused, '{"paths": {"cacheDir": 7}}', '"paths.cacheDir" must be an absolute path (got 7)');
test(refused, '{"paths": {"includeDirs": "/x"}}', '"paths.includeDirs" must be a list');
test(refused, '{"paths": {"stateDirectory": "/x"}}', '"paths.stateDirectory" is not a known setting (known: apparmorDir, cacheDir, stateDir, runDir, apparmorParser, securityfs, wrapperDir, emulatorDir, systemdDir, sysvDefaults, includeDirs, featuresFile, libvirtConfigDir, libvirtHelper, originalHelper, logFile, journalSocket)');
test(refused, '{"layout": {"qemuRunDir": "run"}}', '"layout.qemuRunDir" must be an absolute path (got "run")');
test(refused, '{"domains": {"web": {"rulez": []}}}', '"domains.web.rulez" is not a known setting (known: rules, complain, uuid, rawio, imageDirs, confine)');
test(refused, '{"imageDirs": ["srv/templates"]}', '"imageDirs[0]" must be an absolute path (got "srv/templates")');
test(refused, '{"domains": {"web": {"imageDirs": "/srv"}}}', '"domains.web.imageDirs" must be a list');
test(refused, '{"domains": {"web": {"rawio": "yes"}}}', '"domains.web.rawio" must be true or false (got "yes")');
test(refused, '{"domains": {"web": {"uuid": "web"}}}', '"domains.web.uuid" must be a UUID such as "6c1d4f3a-5b7e-4a29-9d0c-2f8e1b3a7c55" (got "web")');
test(refused, '{"domains": {"6c1d4f3a-5b7e-4a29-9d0c-2f8e1b3a7c55": {"uuid": "00000000-0000-0000-0000-000000000001"}}}', '"domains.6c1d4f3a-5b7e-4a29-9d0c-2f8e1b3a7c55.uuid" pins the entry to 00000000-0000-0000-0000-000000000001, but the entry is keyed by the UUID 6c1d4f3a-5b7e-4a29-9d0c-2f8e1b3a7c55');
test(refused, '{"domains": {"6c1d4f3a-5b7e-4a29-9d0c-2f8e1b3a7c55": {}, "6C1D4F3A-5B7E-4A29-9D0C-2F8E1B3A7C55": {}}}', '"domains.6C1D4F3A-5B7E-4A29-9D0C-2F8E1B3A7C55" names the same domain as another entry (6c1d4f3a-5b7e-4a29-9d0c-2f8e1b3a7c55)');
test(refused, '{"domains": {"web": {"rules": ["/srv/x r"]}}}', '"domains.web.rules[0]" must be one AppArmor rule ending in "," (got "/srv/x r")');
test(refused, '{"domains": {"web": {"rules": ["/srv/x r, }\\n/ rw,"]}}}', '"domains.web.rules[0]" must be one AppArmor rule ending in "," (got "/srv/x r, }\\n/ rw,")');
test(refused, '{"domains": {"web": {"rules": ["}"]}}}', '"domains.web.rules[0]" must be one AppArmor rule ending in "," (got "}")');

test('an empty file gives the defaults', (t) => {
  t.deepEqual(parseConfig('{}'), defaultConfig);
});

test('settings override the defaults, paths one by one', (t) => {
  const config = parseConfig('{"policy": "require", "loader": "compile-only", "paths": {"cacheDir": "/tmp/c", "logFile": null, "featuresFile": "/f"}, "domains": {"web": {"rules": ["/srv/x r,"], "complain": true}, "db": {"confine": false}}}');
  t.is(config.policy, 'require');
  t.is(config.paths.cacheDir, '/tmp/c');
  t.is(config.paths.stateDir, defaultConfig.paths.stateDir);
  t.is(config.paths.logFile, null);
  t.is(config.paths.featuresFile, '/f');
  t.deepEqual(domainSettings(config, 'web', '0-0'), { rules: ['/srv/x r,'], complain: true, uuid: undefined, rawio: false, imageDirs: [], confine: true });
  t.deepEqual(domainSettings(config, 'db', '0-0'), { rules: [], complain: false, uuid: undefined, rawio: false, imageDirs: [], confine: false });
  t.deepEqual(domainSettings(config, 'other', '0-0'), { rules: [], complain: false, uuid: undefined, rawio: false, imageDirs: [], confine: true });
});

test('a fresh install requires confinement; the code default stays warn for upgrades', (t) => {
  t.is(parseConfig(freshInstallConfigText).policy, 'require');
  t.is(defaultConfig.policy, 'warn');
  t.is(defaultConfig.paths.emulatorDir, '/usr/lib/virt-aa-hook/emulators');
});

// Issue 12, finding 5: names that are properties of every JavaScript object.
const objectProperties = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];
const u1 = '6c1d4f3a-5b7e-4a29-9d0c-2f8e1b3a7c55';
const u2 = '00000000-0000-0000-0000-000000000002';

test('a domain named like an Object property gets the defaults, not the prototype', (t) => {
  for (const config of [defaultConfig, parseConfig('{"domains": {"web": {"complain": true}}}')]) {
    for (const name of objectProperties) t.deepEqual(domainSettings(config, name, u1), { rules: [], complain: false, uuid: undefined, rawio: false, imageDirs: [], confine: true }, name);
  }
});

test('an entry keyed by an Object property applies to that domain only', (t) => {
  const config = parseConfig('{"domains": {"__proto__": {"complain": true}, "constructor": {"rules": ["/srv/c r,"]}}}');
  t.true(domainSettings(config, '__proto__', u1).complain);
  t.deepEqual(domainSettings(config, 'constructor', u1).rules, ['/srv/c r,']);
  t.false(domainSettings(config, 'toString', u1).complain);
  t.deepEqual(domainSettings(config, 'web', u1).rules, []);
  t.is(Object.getPrototypeOf(config.domains), Map.prototype, 'a Map, never a prototype lookup');
});

test('a name-keyed entry pinned to a UUID applies to that UUID only', (t) => {
  const config = parseConfig(`{"domains": {"web": {"uuid": "${u1.toUpperCase()}", "complain": true}}}`);
  t.true(domainSettings(config, 'web', u1).complain);
  t.false(domainSettings(config, 'web', u2).complain, 'a later domain reusing the name does not inherit it');
});

test('imageDirs, global and per domain', (t) => {
  const config = parseConfig('{"imageDirs": ["/srv/templates"], "domains": {"web": {"imageDirs": ["/srv/web"]}}}');
  t.deepEqual(config.imageDirs, ['/srv/templates']);
  t.deepEqual(domainSettings(config, 'web', u1).imageDirs, ['/srv/web']);
});

test('a UUID-keyed entry wins over a name-keyed one, whatever the case of the key', (t) => {
  const config = parseConfig(`{"domains": {"web": {"rules": ["/srv/name r,"]}, "${u1.toUpperCase()}": {"rules": ["/srv/uuid r,"]}}}`);
  t.deepEqual(domainSettings(config, 'web', u1).rules, ['/srv/uuid r,']);
  t.deepEqual(domainSettings(config, 'web', u2).rules, ['/srv/name r,']);
});

test('a missing file means the defaults; an unreadable one is an error', (t) => {
  const dir = tmp.dirSync({ unsafeCleanup: true }).name;
  t.deepEqual(loadConfig(path.join(dir, 'none.json')), defaultConfig);
  fs.mkdirSync(path.join(dir, 'dir.json'));
  t.throws(() => loadConfig(path.join(dir, 'dir.json')), { instanceOf: UsageError, message: /cannot read configuration .*dir\.json: EISDIR/ });
});
