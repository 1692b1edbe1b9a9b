import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import tmp from 'tmp';
import { defaultConfig, domainSettings, loadConfig, parseConfig } from '../lib/config.ts';
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
test(refused, '{"polcy": "require"}', '"polcy" is not a known setting (known: mode, policy, loader, libvirtDriver, graphicsTls, paths, layout, domains)');
test(refused, '{"policy": "sometimes"}', '"policy" must be one of warn, require (got "sometimes")');
test(refused, '{"mode": "magic"}', '"mode" must be one of wrapper, libvirt (got "magic")');
test(refused, '{"graphicsTls": "yes"}', '"graphicsTls" must be true or false (got "yes")');
test(refused, '{"paths": {"apparmorDir": "etc/apparmor.d"}}', '"paths.apparmorDir" must be an absolute path (got "etc/apparmor.d")');
test(refused, '{"paths": {"cacheDir": 7}}', '"paths.cacheDir" must be an absolute path (got 7)');
test(refused, '{"paths": {"includeDirs": "/x"}}', '"paths.includeDirs" must be a list');
test(refused, '{"paths": {"stateDirectory": "/x"}}', '"paths.stateDirectory" is not a known setting (known: apparmorDir, cacheDir, stateDir, runDir, apparmorParser, securityfs, wrapperDir, includeDirs, featuresFile, libvirtConfigDir, libvirtHelper, originalHelper, logFile, journalSocket)');
test(refused, '{"layout": {"qemuRunDir": "run"}}', '"layout.qemuRunDir" must be an absolute path (got "run")');
test(refused, '{"domains": {"web": {"rulez": []}}}', '"domains.web.rulez" is not a known setting (known: rules, complain)');
test(refused, '{"domains": {"web": {"rules": ["/srv/x r"]}}}', '"domains.web.rules[0]" must be one AppArmor rule ending in "," (got "/srv/x r")');
test(refused, '{"domains": {"web": {"rules": ["/srv/x r, }\\n/ rw,"]}}}', '"domains.web.rules[0]" must be one AppArmor rule ending in "," (got "/srv/x r, }\\n/ rw,")');
test(refused, '{"domains": {"web": {"rules": ["}"]}}}', '"domains.web.rules[0]" must be one AppArmor rule ending in "," (got "}")');

test('an empty file gives the defaults', (t) => {
  t.deepEqual(parseConfig('{}'), defaultConfig);
});

test('settings override the defaults, paths one by one', (t) => {
  const config = parseConfig('{"policy": "require", "loader": "compile-only", "paths": {"cacheDir": "/tmp/c", "logFile": null, "featuresFile": "/f"}, "domains": {"web": {"rules": ["/srv/x r,"], "complain": true}}}');
  t.is(config.policy, 'require');
  t.is(config.paths.cacheDir, '/tmp/c');
  t.is(config.paths.stateDir, defaultConfig.paths.stateDir);
  t.is(config.paths.logFile, null);
  t.is(config.paths.featuresFile, '/f');
  t.deepEqual(domainSettings(config, 'web', '0-0'), { rules: ['/srv/x r,'], complain: true });
  t.deepEqual(domainSettings(config, 'other', '0-0'), { rules: [], complain: false });
});

test('a missing file means the defaults; an unreadable one is an error', (t) => {
  const dir = tmp.dirSync({ unsafeCleanup: true }).name;
  t.deepEqual(loadConfig(path.join(dir, 'none.json')), defaultConfig);
  fs.mkdirSync(path.join(dir, 'dir.json'));
  t.throws(() => loadConfig(path.join(dir, 'dir.json')), { instanceOf: UsageError, message: /cannot read configuration .*dir\.json: EISDIR/ });
});
