import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { addDevice, enrollDomainXml, enrollmentOf, metadataNamespace, unenrollDomainXml, updateDevice } from '../../lib/domain/edit.ts';
import { parseDomain } from '../../lib/domain/parse.ts';
import { devicesOf, type Disk, type Domain } from '../../lib/domain/types.ts';
import { DomainRefusedError, UsageError } from '../../lib/errors.ts';
import { corpusDir, corpusFiles, corpusPresent } from '../helpers/corpus.ts';

const wrapper = '/usr/lib/virt-aa-hook/virt-aa-hook.qemu-system-x86_64';
const uuid = '6c1d4f3a-5b7e-4a29-9d0c-2f8e1b3a7c55';
const domainXml = (devices: string, extra = ''): string =>
  `<domain type='kvm'>\n  <name>vm</name>\n  <uuid>${uuid.toUpperCase()}</uuid>\n  <devices>\n${devices}  </devices>\n${extra}</domain>\n`;
const ourLabel = (forUuid = uuid) => ({ type: 'static', model: 'apparmor', relabel: false, label: `libvirt-${forUuid}` });

const corpus = (name: string): string => fs.readFileSync(path.join(corpusDir, 'libvirt', name), 'utf8');
/** The builder writes double quotes; nothing else about the text may change. */
const doubleQuoted = (xml: string): string => xml.replace(/='([^'"]*)'/g, '="$1"');
const othersLabels = (label: Domain['seclabels'][number]): boolean => label.model !== undefined && label.model !== 'apparmor';

const enrolment = test.macro({
  exec(t, file: string, mode: 'wrapper' | 'libvirt') {
    if (!corpusPresent) return t.pass('no corpus on this machine');
    const xml = corpus(file);
    const before = parseDomain(xml);
    const enrolled = enrollDomainXml(xml, mode, wrapper);
    const after = parseDomain(enrolled);
    if (mode === 'wrapper') {
      t.deepEqual(after, { ...before, emulator: wrapper }, 'only the emulator changes');
    } else {
      t.deepEqual(after.seclabels.filter((s) => !othersLabels(s)), [ourLabel(before.uuid)]);
      t.deepEqual(after.seclabels.filter(othersLabels), before.seclabels.filter(othersLabels), 'DAC and SELinux labels stay');
      t.deepEqual({ ...after, seclabels: [] }, { ...before, seclabels: [] }, 'nothing else changes');
    }
    t.deepEqual(enrollmentOf(enrolled), { mode, originalEmulator: before.emulator });
    const singleQuoted = enrolled.replace(/="([^"']*)"/g, "='$1'");
    t.is(enrollDomainXml(singleQuoted, mode, wrapper), singleQuoted, 'enrolling again gives back the very text');
    const other = mode === 'wrapper' ? 'libvirt' : 'wrapper';
    t.is(enrollDomainXml(enrollDomainXml(xml, other, wrapper), mode, wrapper), enrolled, 'switching modes ends where enrolling directly does');
    const back = unenrollDomainXml(enrolled);
    t.deepEqual(parseDomain(back), before);
    t.is(back, doubleQuoted(xml), 'comments, order, whitespace and other metadata survive');
    t.is(enrollmentOf(back), undefined);
  },
  title: (_given, file: string, mode: string) => `enrolls ${file} in ${mode} mode and back`,
});
for (const file of [
  'metadata.xml',
  'metadata-duplicate.xml',
  'aarch64-virt-graphics.xml',
  'qemu-ns-commandline.xml',
  'qemu-ns-commandline-ns0.xml',
  'qemu-ns-domain-commandline-ns0.xml',
  'seclabel-static.xml',
  'seclabel-dynamic.xml',
  'seclabel-dynamic-baselabel.xml',
  'seclabel-none.xml',
  'seclabel-dac-none.xml',
  'seclabel-device-multiple.xml',
  'disk-cdrom.xml',
]) {
  for (const mode of ['wrapper', 'libvirt'] as const) test(enrolment, file, mode);
}

test('every corpus domain with <devices> enrolls in both modes and comes back the same', (t) => {
  if (!corpusPresent) return t.pass('no corpus on this machine');
  const results = corpusFiles().flatMap((f) => {
    const xml = fs.readFileSync(f.file, 'utf8');
    let before: Domain;
    try {
      before = parseDomain(xml);
    } catch {
      return [];
    }
    if (!/<devices\b/.test(xml)) {
      t.throws(() => enrollDomainXml(xml, 'libvirt', undefined), { instanceOf: DomainRefusedError, message: /has no <devices> element/ });
      return [];
    }
    return (['wrapper', 'libvirt'] as const).map((mode) => {
      const back = parseDomain(unenrollDomainXml(enrollDomainXml(xml, mode, wrapper)));
      return { name: `${f.name} ${mode}`, same: JSON.stringify(back) === JSON.stringify(before) };
    });
  });
  t.true(results.length > 2000, `${results.length} round trips`);
  t.deepEqual(results.filter((r) => !r.same).map((r) => r.name), []);
});

test('libvirt mode replaces AppArmor and model-less seclabels, keeps the others, and puts them back', (t) => {
  const labels = `  <seclabel type='dynamic' model='dac' relabel='yes'/>\n  <seclabel type='dynamic' model='apparmor' relabel='yes'/>\n  <seclabel type='static' model='selinux' relabel='yes'>\n    <label>system_u:system_r:svirt_t:s0</label>\n  </seclabel>\n`;
  const xml = domainXml(`    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n`, labels);
  const enrolled = enrollDomainXml(xml, 'libvirt', undefined);
  t.deepEqual(
    parseDomain(enrolled).seclabels.map((s) => `${s.model ?? ''} ${s.type}`),
    ['dac dynamic', 'apparmor static', 'selinux static'],
    'ours takes the replaced label’s place',
  );
  t.is(unenrollDomainXml(enrolled), doubleQuoted(xml));
  const modelless = domainXml('', "  <seclabel type='none'/>\n");
  t.deepEqual(parseDomain(enrollDomainXml(modelless, 'libvirt', undefined)).seclabels, [ourLabel()]);
  t.is(unenrollDomainXml(enrollDomainXml(modelless, 'libvirt', undefined)), doubleQuoted(modelless));
});

test('wrapper mode adds an <emulator> the XML lacked, and unenrolling removes it', (t) => {
  const xml = domainXml(`    <disk type='file'><source file='/a.img'/><target dev='vda'/></disk>\n`);
  const enrolled = enrollDomainXml(xml, 'wrapper', wrapper);
  t.is(parseDomain(enrolled).emulator, wrapper);
  t.deepEqual(enrollmentOf(enrolled), { mode: 'wrapper', originalEmulator: undefined });
  t.is(unenrollDomainXml(enrolled), doubleQuoted(xml));
});

test('paths with XML specials survive as values', (t) => {
  const original = `/opt/q&a/<x>/"it's"\tqemu`;
  const xml = domainXml(`    <emulator>/opt/q&amp;a/&lt;x&gt;/"it&apos;s"\tqemu</emulator>\n`);
  const odd = '/srv/w&w/<wrapper> "x"';
  const enrolled = enrollDomainXml(xml, 'wrapper', odd);
  t.is(parseDomain(enrolled).emulator, odd);
  t.deepEqual(enrollmentOf(enrolled), { mode: 'wrapper', originalEmulator: original });
  t.is(parseDomain(unenrollDomainXml(enrolled)).emulator, original);
});

test('finds the record by namespace, whatever its prefix', (t) => {
  const record = (prefix: string, uri: string): string =>
    domainXml(`    <emulator>${wrapper}</emulator>\n`, `  <metadata><${prefix}:enrollment xmlns:${prefix}="${uri}" mode="wrapper" emulator="/usr/bin/qemu-kvm"/></metadata>\n`);
  t.deepEqual(enrollmentOf(record('x', metadataNamespace)), { mode: 'wrapper', originalEmulator: '/usr/bin/qemu-kvm' });
  t.is(parseDomain(unenrollDomainXml(record('x', metadataNamespace))).emulator, '/usr/bin/qemu-kvm');
  t.is(enrollmentOf(record('vah', 'https://example.org/not-ours')), undefined);
  const inStatus = `<domstatus state='running' pid='1'><monitor path='/m'/>${record('vah', metadataNamespace)}</domstatus>`;
  t.deepEqual(enrollmentOf(inStatus), { mode: 'wrapper', originalEmulator: '/usr/bin/qemu-kvm' });
});

const refuses = test.macro({
  exec(t, edit: () => unknown, error: { instanceOf: typeof DomainRefusedError | typeof UsageError; message: RegExp }) {
    t.throws(edit, error);
  },
  title: (given) => `refuses ${given ?? ''}`,
});
const status = `<domstatus state='running'>${domainXml('')}</domstatus>`;
const noDevices = `<domain type='kvm'><name>vm</name><uuid>${uuid}</uuid></domain>`;
const refused = (message: RegExp) => ({ instanceOf: DomainRefusedError, message });
test('to enroll a status file', refuses, () => enrollDomainXml(status, 'libvirt', undefined), refused(/root element is <domstatus>, expected <domain>/));
test('to unenroll a status file', refuses, () => unenrollDomainXml(status), refused(/root element is <domstatus>/));
test('to add a device to a status file', refuses, () => addDevice(status, '<rng model="virtio"/>'), refused(/root element is <domstatus>/));
test('to enroll a domain without devices', refuses, () => enrollDomainXml(noDevices, 'wrapper', wrapper), refused(/has no <devices> element/));
test('a DOCTYPE', refuses, () => enrollDomainXml(`<!DOCTYPE d [<!ENTITY x "y">]>${domainXml('')}`, 'libvirt', undefined), refused(/DOCTYPE and ENTITY/));
test('malformed XML', refuses, () => enrollDomainXml('<domain><devices></domain>', 'libvirt', undefined), refused(/malformed/));
test('element names the parser will not build objects from', refuses, () => addDevice(domainXml(''), '<__proto__/>'), refused(/cannot read device XML: .*__proto__/));
test('a malformed device', refuses, () => addDevice(domainXml(''), '<disk>'), refused(/malformed/));
test('a domain without a uuid', refuses, () => enrollDomainXml(`<domain type='kvm'><name>vm</name><devices/></domain>`, 'libvirt', undefined), refused(/missing <uuid>/));
test('wrapper mode without a wrapper', refuses, () => enrollDomainXml(domainXml(''), 'wrapper', undefined), { instanceOf: UsageError, message: /without the path of the wrapper/ });
test('a wrapper already in <emulator> without a record', refuses, () => enrollDomainXml(domainXml(`<emulator>${wrapper}</emulator>`), 'wrapper', wrapper), refused(/already is the wrapper/));
test('an unknown mode in the record', refuses, () => enrollmentOf(domainXml('', `<metadata><v:enrollment xmlns:v="${metadataNamespace}" mode="other"/></metadata>`)), refused(/unknown mode "other"/));

test('unenrolling a domain that is not enrolled returns it untouched', (t) => {
  const xml = domainXml(`    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n`);
  t.is(unenrollDomainXml(xml), xml);
});

// --- devices ---------------------------------------------------------------

const disk = (target: string, file: string): string => `<disk type='file' device='disk'><source file='${file}'/><target dev='${target}' bus='virtio'/></disk>`;
const diskPaths = (xml: string): string[] =>
  devicesOf(parseDomain(xml), 'disk').map((d: Disk) => (d.source !== undefined && 'path' in d.source ? `${d.source.type} ${d.source.path}` : 'empty'));

test('addDevice appends to <devices>, indented like its siblings', (t) => {
  const xml = domainXml(`    ${disk('vda', '/a.img')}\n`);
  const added = addDevice(xml, disk('vdb', '/b.img'));
  t.deepEqual(diskPaths(added), ['file /a.img', 'file /b.img']);
  t.regex(added, /\n {4}<disk type="file" device="disk"><source file="\/b\.img"\/>/);
});

const mediaChange = test.macro({
  exec(t, target: string, media: string, expected: string) {
    if (!corpusPresent) return t.pass('no corpus on this machine');
    const xml = corpus('disk-cdrom.xml');
    const changed = updateDevice(xml, media);
    const index = ['hda', 'hdb', 'hdc', 'hdd'].indexOf(target);
    const paths = diskPaths(xml);
    paths[index] = expected;
    t.deepEqual(diskPaths(changed), paths);
    t.deepEqual(parseDomain(changed).devices.length, parseDomain(xml).devices.length);
  },
  title: (given) => `updateDevice changes media: ${given ?? ''}`,
});
test('one ISO for another', mediaChange, 'hdb', `<disk type='file' device='cdrom'><source file='/srv/new.iso'/><target dev='hdb'/></disk>`, 'file /srv/new.iso');
test('an ISO for the host drive', mediaChange, 'hdb', `<disk type='block' device='cdrom'><source dev='/dev/sr0'/><target dev='hdb'/></disk>`, 'block /dev/sr0');
test('into an empty drive', mediaChange, 'hdc', `<disk type='file' device='cdrom'><source file='/srv/in.iso'/><target dev='hdc'/></disk>`, 'file /srv/in.iso');
test('eject', mediaChange, 'hdb', `<disk type='file' device='cdrom'><target dev='hdb'/></disk>`, 'empty');

test('updateDevice drops the old media’s backing chain and takes the new driver', (t) => {
  const xml = domainXml(
    `    <disk type='file' device='cdrom'><driver name='qemu' type='qcow2'/><source file='/old.qcow2'/><backingStore type='file'><format type='raw'/><source file='/old-base.img'/></backingStore><target dev='sda'/><readonly/></disk>\n`,
  );
  const changed = parseDomain(updateDevice(xml, `<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='/new.iso'/><target dev='sda'/></disk>`));
  const [cdrom] = devicesOf(changed, 'disk');
  t.deepEqual(cdrom?.source, { type: 'file', path: '/new.iso', format: 'raw', backing: { kind: 'unknown' }, dataStore: undefined });
  t.true(cdrom?.readonly);
});

test('updateDevice refuses what is not a media change', (t) => {
  const xml = domainXml(`    ${disk('vda', '/a.img')}\n`);
  t.throws(() => updateDevice(xml, disk('vdz', '/b.img')), { instanceOf: DomainRefusedError, message: 'cannot change media: the domain has no disk "vdz"' });
  t.throws(() => updateDevice(xml, `<interface type='user'/>`), { instanceOf: DomainRefusedError, message: /not a <disk> with a <target dev>/ });
});
