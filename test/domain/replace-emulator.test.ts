// The migrate and restore hooks print the XML libvirt then uses: only the
// text of /domain/devices/emulator may change, every other byte stays.

import test from 'ava';
import * as fs from 'node:fs';
import { parseDomain } from '../../lib/domain/parse.ts';
import { emulatorTextSpan, replaceEmulator } from '../../lib/domain/replace-emulator.ts';
import { DomainRefusedError } from '../../lib/errors.ts';
import { corpusFiles, corpusPresent } from '../helpers/corpus.ts';

const wrapper = '/usr/lib/virt-aa-hook/emulators/qemu-system-x86_64';

/** Everything outside the emulator's text is the input's, byte for byte; the text is the new path. */
function assertOnlyEmulatorChanged(t: import('ava').ExecutionContext, xml: string, replaced: string | undefined, emulator = wrapper): void {
  const span = emulatorTextSpan(xml);
  if (span === undefined || replaced === undefined) return t.fail('nothing replaced');
  t.is(replaced.slice(0, span.start), xml.slice(0, span.start));
  t.is(replaced.slice(replaced.length - (xml.length - span.end)), xml.slice(span.end));
  t.is(parseDomain(replaced).emulator, emulator);
}

test('only the text of <devices><emulator> changes: comments, CDATA, quotes, other namespaces and metadata stay', (t) => {
  const xml = [
    "<?xml version='1.0' encoding='UTF-8'?>",
    '<!-- <domain><devices><emulator>/in/a/comment</emulator></devices></domain> -->',
    "<domain type='kvm' xmlns:qemu=\"http://libvirt.org/schemas/domain/qemu/1.0\">",
    '  <name>a&amp;b</name>',
    '  <uuid>6c1d4f3a-5b7e-4a29-9d0c-2f8e1b3a7c55</uuid>',
    "  <metadata><app:emulator xmlns:app='urn:x'>/in/metadata</app:emulator><devices><emulator>/deeper/still</emulator></devices></metadata>",
    "  <description><![CDATA[<devices><emulator>/in/cdata</emulator></devices>]]></description>",
    "  <devices title='a > b'>",
    '    <emulator>/usr/bin/qemu-system-x86_64</emulator>',
    "    <disk type='file' device='disk'><source file=\"/srv/it's &amp; ok.img\"/><target dev='vda'/></disk>",
    '  </devices>',
    "  <qemu:commandline><qemu:arg value='-emulator'/></qemu:commandline>",
    '</domain>',
    '',
  ].join('\r\n');
  const replaced = replaceEmulator(xml, wrapper);
  t.is(replaced, xml.replace('<emulator>/usr/bin/qemu-system-x86_64</emulator>', `<emulator>${wrapper}</emulator>`));
  assertOnlyEmulatorChanged(t, xml, replaced);
});

test('the new path is escaped as XML text', (t) => {
  const xml = "<domain><name>x</name><uuid>6c1d4f3a-5b7e-4a29-9d0c-2f8e1b3a7c55</uuid><devices><emulator> /usr/bin/qemu </emulator></devices></domain>";
  const replaced = replaceEmulator(xml, '/opt/a&b/<q>');
  t.is(replaced, "<domain><name>x</name><uuid>6c1d4f3a-5b7e-4a29-9d0c-2f8e1b3a7c55</uuid><devices><emulator>/opt/a&amp;b/&lt;q&gt;</emulator></devices></domain>");
});

test('no <emulator> text, nothing to replace', (t) => {
  t.is(replaceEmulator('<domain><devices><disk/></devices></domain>', wrapper), undefined);
  t.is(replaceEmulator('<domain><devices><emulator/></devices></domain>', wrapper), undefined);
  t.is(replaceEmulator('<domain><metadata><devices><emulator>/x</emulator></devices></metadata></domain>', wrapper), undefined);
});

test('a document type declaration is refused', (t) => {
  t.throws(() => replaceEmulator('<!DOCTYPE domain><domain/>', wrapper), { instanceOf: DomainRefusedError, message: /document type declaration/ });
});

test('every corpus domain with an emulator: only its text changes', (t) => {
  if (!corpusPresent) return t.pass('no corpus on this machine');
  let count = 0;
  for (const { file } of corpusFiles()) {
    const xml = fs.readFileSync(file, 'utf8');
    let emulator: string | undefined;
    try {
      emulator = parseDomain(xml).emulator;
    } catch {
      continue;
    }
    if (emulator === undefined) continue;
    assertOnlyEmulatorChanged(t, xml, replaceEmulator(xml, wrapper));
    count += 1;
  }
  t.true(count > 100, `${count} domains`);
});
