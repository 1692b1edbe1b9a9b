// Every status field over literal facts: how a domain is confined on each
// path (and every reason it is not), its profile, QEMU's label, the last
// hook or helper event and the denials; and the text and JSON printed.

import test from 'ava';
import { parseConfig } from '../../lib/config.ts';
import type { DomainFacts, InspectFacts } from '../../lib/inspect/facts.ts';
import { lastEventOf, parseLogLine } from '../../lib/inspect/hook-log.ts';
import { statusJson, statusText } from '../../lib/inspect/render.ts';
import { domainStatus, isDomainLabel, ruleCount, selectDomains } from '../../lib/inspect/status.ts';
import { domain, driverHost, otherUuid, uuid, wrapper, wrapperHost } from '../helpers/inspect-facts.ts';

const only = (facts: InspectFacts, d: DomainFacts): InspectFacts => ({ ...facts, domains: [d] });
const confinement = (facts: InspectFacts, d: DomainFacts = facts.domains[0] ?? domain()) => domainStatus(facts, d).confinement;
const staticLabel = `<seclabel type='static' model='apparmor' relabel='no'><label>libvirt-${uuid}</label></seclabel>`;

test('confined: through our wrapper, through libvirt\'s driver with our helper or with libvirt\'s own, through a static label', (t) => {
  t.deepEqual(confinement(wrapperHost()), { by: 'wrapper', text: `virt-aa-hook's emulator wrapper ${wrapper}`, cause: undefined });
  t.deepEqual(confinement(driverHost()), { by: 'driver-our-helper', text: "libvirt's AppArmor driver, with virt-aa-hook's virt-aa-helper", cause: undefined });
  const host = driverHost();
  const libvirts = { ...host, helper: { ...host.helper, atLibvirtPath: { ...host.helper.atLibvirtPath, mentionsUs: false } } };
  t.like(confinement(libvirts), { by: 'driver-libvirt-helper', text: "libvirt's AppArmor driver, with libvirt's own virt-aa-helper (virt-aa-hook's is not at /usr/lib/libvirt/virt-aa-helper: the rules are libvirt's; run scripts/install)" });
  const labelled = domain({ emulator: '/usr/bin/qemu-system-x86_64', seclabel: staticLabel });
  t.like(confinement(only(driverHost(), labelled)), { by: 'static-label', text: "a static libvirt label (enrolled by an earlier version, a retired mode): run 'virt-aa-hook unenroll web'" });
});

test('not confined, and why: not enrolled, by choice, a wrapper under the driver, a seclabel none, AppArmor off, started before, not labelled', (t) => {
  const plain = domain({ emulator: '/usr/bin/qemu-system-x86_64', label: 'unconfined' });
  t.deepEqual(confinement(only(wrapperHost(), plain)), {
    by: 'none',
    cause: 'not-enrolled',
    text: `not confined: its emulator "/usr/bin/qemu-system-x86_64" is not virt-aa-hook's wrapper: run 'virt-aa-hook enroll web', or set "domains": {"web": {"confine": false}} in /etc/virt-aa-hook/config.json to run it unconfined on purpose`,
  });
  const elsewhere = { ...only(wrapperHost(), plain), configFile: '/srv/test/config.json' };
  t.regex(confinement(elsewhere).text, / in \/srv\/test\/config\.json to run it unconfined on purpose$/, 'the configuration file in effect');
  const choice = { ...only(wrapperHost(), plain), config: parseConfig('{"domains": {"web": {"confine": false}}}') };
  t.deepEqual(confinement(choice), { by: 'none-by-choice', text: 'not confined, by choice: "confine": false in /etc/virt-aa-hook/config.json', cause: undefined });
  t.like(confinement(only(driverHost(), domain())), { by: 'none', cause: 'wrapper-under-driver' });
  t.like(confinement(only(driverHost(), domain({ emulator: '/usr/bin/qemu-system-x86_64', seclabel: "<seclabel type='none'/>" }))), { by: 'none', cause: 'seclabel-none' });
  const off = { ...wrapperHost(), appArmor: { enabled: false, reason: 'the kernel has no AppArmor' } } as const;
  t.deepEqual(confinement(off), { by: 'none', cause: 'apparmor-off', text: `not confined: AppArmor is not enabled (the kernel has no AppArmor); through virt-aa-hook's emulator wrapper ${wrapper} once it is` });
  t.like(confinement(only(wrapperHost(), domain({ label: 'unconfined' }))), { by: 'none', cause: 'started-before', text: `not confined: QEMU (pid 4242) runs as "unconfined", although virt-aa-hook's emulator wrapper ${wrapper} confines it from its next start: restart it (virsh shutdown web, then virsh start web)` });
  t.like(confinement(only(driverHost(), domain({ emulator: '/usr/bin/qemu-system-x86_64' }))), { by: 'none', cause: 'not-labelled' });
  // Stopped: what its definition will do at its next start.
  t.like(confinement(only(driverHost(), domain({ emulator: '/usr/bin/qemu-system-x86_64', running: false }))), { by: 'driver-our-helper' });
});

test("QEMU's label: its profile or a child of it, in any policy namespace, enforced or complaining", (t) => {
  t.true(isDomainLabel(`libvirt-${uuid} (enforce)`, uuid));
  t.true(isDomainLabel(`:e2edst:libvirt-${uuid} (complain)`, uuid));
  t.true(isDomainLabel(`libvirt-${uuid}//passt (enforce)`, uuid));
  t.false(isDomainLabel('unconfined', uuid));
  t.false(isDomainLabel(`libvirt-${otherUuid} (enforce)`, uuid));
  t.false(isDomainLabel(`libvirt-${uuid} (kill)`, uuid));
});

test('profile: loaded and its mode, its rules, who made the file', (t) => {
  t.deepEqual(domainStatus(wrapperHost(), domain()).profile, { name: `libvirt-${uuid}`, loaded: 'enforce', rules: 4, origin: 'generated' });
  t.is(ruleCount('# c\n\n#include <abstractions/x>\n"/a" r,\n  "/b" rw,\nprofile c {\n}\n# NOTE x,\n'), 3);
  const d = domain();
  const edited = { ...d, profile: { ...d.profile, text: `${d.profile.text ?? ''}  /srv/extra r,\n` } };
  t.is(domainStatus(wrapperHost(), edited).profile.origin, 'admin-edited');
  const libvirtTemplate = '#include <tunables/global>\nprofile LIBVIRT_TEMPLATE flags=(attach_disconnected) {\n  #include <abstractions/libvirt-qemu>\n}\n';
  const libvirts = { ...d, profile: { ...d.profile, libvirtTemplate, text: `#include <tunables/global>\nprofile libvirt-${uuid} flags=(attach_disconnected) {\n  #include <abstractions/libvirt-qemu>\n  #include <libvirt/libvirt-${uuid}.files>\n}\n` } };
  t.is(domainStatus(wrapperHost(), libvirts).profile.origin, 'libvirt-replaced');
  const stopped = domainStatus({ ...wrapperHost(), loadedProfiles: new Map() }, domain({ running: false }));
  t.deepEqual(stopped.profile, { name: `libvirt-${uuid}`, loaded: null, rules: null, origin: null });
  t.like(domainStatus({ ...wrapperHost(), loadedProfiles: new Map([[`libvirt-${uuid}`, 'complain']]) }, domain()).profile, { loaded: 'complain' });
});

test('the last hook or helper event of the domain, and the denials of its profile', (t) => {
  const status = domainStatus(wrapperHost(), domain());
  t.deepEqual(status.lastEvent, { when: '2026-12-07T10:05:01.000Z', domain: 'web', uuid, what: 'event=started/begin', outcome: 'confined' });
  t.is(status.denials, 2);
  t.is(status.denialsCommand, 'virt-aa-hook denials web');
  t.is(domainStatus(wrapperHost(), domain({ name: 'other', uuid: otherUuid })).denials, 1);
  const unread = { ...wrapperHost(), hookLog: { source: undefined, problem: 'tried journalctl: no lines' }, denials: { source: undefined, problem: 'cannot read the kernel log' } } as const;
  t.like(domainStatus(unread, domain()), { lastEvent: null, denials: null });
  t.is(domainStatus({ ...wrapperHost(), hookLog: { source: '/var/log/syslog', lines: [] } }, domain()).lastEvent, null);
});

test('log lines: hook events and helper calls behind any prefix, outcomes with spaces, up to the timings', (t) => {
  t.deepEqual(parseLogLine(`Dec  7 10:00:00 host virt-aa-hook[42]: domain="web" profile=libvirt-${uuid} helper="-r -F /srv/x y.img" mode=driver rules=9 appended=1 notices=0 outcome=loaded ms=9 wall=80`), {
    when: 'Dec  7 10:00:00',
    domain: 'web',
    uuid,
    what: 'helper="-r -F /srv/x y.img"',
    outcome: 'loaded',
  });
  t.like(parseLogLine(`2026-12-07T10:00:00+0000 host virt-aa-hook[7]: domain="a \\"b\\"" profile=libvirt-${uuid} event=prepare/begin outcome=left to libvirt's AppArmor driver (virt-aa-helper) ms=2 wall=50`), {
    when: '2026-12-07T10:00:00+0000',
    domain: 'a "b"',
    outcome: "left to libvirt's AppArmor driver (virt-aa-helper)",
  });
  t.like(parseLogLine(`domain="web" profile=libvirt-${uuid} event=migrate/begin mode=wrapper rules=3 notices=0 outcome=loaded emulator="/x" ms=1`), { when: undefined, outcome: 'loaded' });
  t.like(parseLogLine('domain="web" event=prepare/begin outcome=failed: invalid configuration /etc/x: "mode" must be one of wrapper ms=3'), { uuid: undefined, outcome: 'failed: invalid configuration /etc/x: "mode" must be one of wrapper' });
  t.is(parseLogLine('Dec  7 10:00:00 host kernel: something else'), undefined);
  const lines = [`domain="web" event=prepare/begin outcome=failed: bad ms=1`, `domain="web" profile=libvirt-${otherUuid} event=prepare/begin outcome=loaded ms=1`];
  t.is(lastEventOf(lines, 'web', uuid)?.outcome, 'failed: bad', 'a line before the XML was read names only the domain; another UUID of the same name is another domain');
});

test('a DOMAIN argument: a name or a UUID in any case', (t) => {
  const domains = [domain(), domain({ name: 'other', uuid: otherUuid })];
  t.deepEqual(selectDomains(domains, 'other').map((d) => d.name), ['other']);
  t.deepEqual(selectDomains(domains, uuid.toUpperCase()).map((d) => d.name), ['web']);
  t.deepEqual(selectDomains(domains, 'nope'), []);
  t.is(selectDomains(domains, undefined).length, 2);
});

test('the text: one block per domain, and where the events and denials were read', (t) => {
  const facts = wrapperHost();
  const text = statusText(facts.domains.map((d) => domainStatus(facts, d)), facts);
  t.is(
    text,
    [
      `domain 'web' ${uuid}: running (pid 4242)`,
      `  confinement: virt-aa-hook's emulator wrapper ${wrapper}`,
      `  profile:     libvirt-${uuid} loaded (enforce), 4 rule(s), made from our template`,
      `  QEMU label:  libvirt-${uuid} (enforce)`,
      '  last event:  2026-12-07T10:05:01.000Z event=started/begin: confined',
      '  denials:     2 in dmesg: virt-aa-hook denials web',
      '# hook and helper events from /var/log/virt-aa-hook.log; AppArmor records from dmesg',
      '',
    ].join('\n'),
  );
  const stopped = { ...facts, config: parseConfig('{"loader": "compile-only"}'), loadedProfiles: new Map(), hookLog: { source: undefined, problem: 'tried journalctl: no lines' }, denials: { source: 'dmesg', denials: [] } } as const;
  const lines = statusText([domainStatus(stopped, domain({ running: false }))], stopped).split('\n');
  t.deepEqual(lines.slice(0, 6), [
    `domain 'web' ${uuid}: shut off`,
    `  confinement: virt-aa-hook's emulator wrapper ${wrapper}`,
    `  profile:     libvirt-${uuid} not loaded ("loader": "compile-only": compiled, never loaded), no rules file, no profile file`,
    '  QEMU label:  (not running)',
    '  last event:  unknown (tried journalctl: no lines)',
    '  denials:     0 in dmesg',
  ]);
  t.is(lines[6], '# no hook log (tried journalctl: no lines); AppArmor records from dmesg');
  t.regex(statusText([], facts), /^# no domain is defined or running\n/);
});

test('the JSON: the same fields, and the sources read', (t) => {
  const facts = driverHost();
  const json = JSON.parse(statusJson(facts.domains.map((d) => domainStatus(facts, d)), facts)) as { hookLog: unknown; kernelLog: unknown; domains: { confinement: { by: string }; profile: { rules: number }; label: string; running: boolean }[] };
  t.deepEqual(json.hookLog, { source: '/var/log/virt-aa-hook.log' });
  t.deepEqual(json.kernelLog, { source: 'dmesg' });
  t.like(json.domains[0], { running: true, label: `libvirt-${uuid} (enforce)`, confinement: { by: 'driver-our-helper' }, profile: { rules: 4 } });
});
