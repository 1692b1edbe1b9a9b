import test from 'ava';
import { parseDomain } from '../../lib/domain/parse.ts';
import { devicesOf, type Domain } from '../../lib/domain/types.ts';
import { DomainRefusedError } from '../../lib/errors.ts';

const uuid = '6c1d4f3a-5b7e-4a29-9d0c-2f8e1b3a7c55';
const domainXml = (devices: string, extra = '', attrs = "type='kvm'"): string =>
  `<domain ${attrs}><name>vm</name><uuid>${uuid}</uuid>${extra}<devices>${devices}</devices></domain>`;

const refuses = test.macro({
  exec(t, xml: string, message: RegExp) {
    const error = t.throws(() => parseDomain(xml), { instanceOf: DomainRefusedError });
    t.regex(error?.message ?? '', message);
  },
  title: (given) => `refuses ${given ?? ''}`,
});

test('malformed XML', refuses, '<dom', /malformed at line 1/);
test('a mismatched closing tag', refuses, '<domain><name>x</domain>', /malformed/);
test('a DOCTYPE', refuses, `<!DOCTYPE d [<!ENTITY x "y">]><domain type='kvm'><name>&x;</name><uuid>${uuid}</uuid></domain>`, /DOCTYPE and ENTITY/);
test('an ENTITY without DOCTYPE', refuses, `<!ENTITY x "y"><domain/>`, /DOCTYPE and ENTITY/);
test('the wrong root element', refuses, `<network><name>x</name></network>`, /root element is <network>, expected <domain> or <domstatus>/);
test('a missing uuid', refuses, `<domain type='kvm'><name>vm</name></domain>`, /missing <uuid>/);
test('a bad uuid', refuses, `<domain type='kvm'><name>vm</name><uuid>not-a-uuid</uuid></domain>`, /invalid <uuid> "not-a-uuid"/);
test('a uuid with 31 digits', refuses, `<domain type='kvm'><name>vm</name><uuid>6c1d4f3a5b7e4a299d0c2f8e1b3a7c5</uuid></domain>`, /invalid <uuid>/);
test('a missing name', refuses, `<domain type='kvm'><uuid>${uuid}</uuid></domain>`, /missing <name>/);
test('a missing type', refuses, `<domain><name>vm</name><uuid>${uuid}</uuid></domain>`, /missing <domain type>/);
test('two root elements', refuses, `<domain/><domain/>`, /malformed|exactly one root/);
test('a domstatus without domain', refuses, `<domstatus state='running'/>`, /<domstatus> without <domain>/);
test('a backingStore chain deeper than 200', refuses, domainXml(`<disk type='file'><source file='/a'/>${"<backingStore type='file'><format type='qcow2'/><source file='/b'/>".repeat(201)}${'</backingStore>'.repeat(201)}<target dev='vda'/></disk>`), /nested deeper than 200/);

test('keeps names that look like numbers as strings', (t) => {
  t.is(parseDomain(`<domain type='kvm'><name>007</name><uuid>${uuid}</uuid></domain>`).name, '007');
});

test('decodes character and entity references', (t) => {
  const domain = parseDomain(domainXml(`<disk type='file'><source file='/srv/caf&#233;/a&amp;b&#10;c.img'/><target dev='vda'/></disk>`));
  const [disk] = devicesOf(domain, 'disk');
  t.deepEqual(disk?.source, { type: 'file', path: '/srv/café/a&b\nc.img', format: undefined, backing: { kind: 'unknown' }, dataStore: undefined });
});

const uuidForms = test.macro({
  exec(t, written: string) {
    t.is(parseDomain(`<domain type='kvm'><name>vm</name><uuid>${written}</uuid></domain>`).uuid, uuid);
  },
  title: (_given, written: string) => `accepts the uuid spelling "${written}"`,
});
test(uuidForms, uuid.toUpperCase());
test(uuidForms, uuid.replace(/-/g, ''));
test(uuidForms, `  ${uuid}  `);

test('reads id, emulator and seclabels', (t) => {
  const domain = parseDomain(
    `<domain type='kvm' id='12'><name>vm</name><uuid>${uuid}</uuid><devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>` +
      `<seclabel type='static' model='apparmor' relabel='no'><label>libvirt-${uuid}</label></seclabel></domain>`,
  );
  t.is(domain.id, 12);
  t.is(domain.emulator, '/usr/bin/qemu-system-x86_64');
  t.deepEqual(domain.seclabels, [{ type: 'static', model: 'apparmor', relabel: false, label: `libvirt-${uuid}` }]);
});

test('treats id -1 as no id', (t) => {
  t.is(parseDomain(domainXml('', '', "type='kvm' id='-1'")).id, undefined);
});

test('reads a domstatus status file', (t) => {
  const domain = parseDomain(`<domstatus state='running' pid='42'><monitor path='/var/lib/libvirt/qemu/domain-3-vm/monitor.sock' type='unix'/>${domainXml('', '', "type='kvm' id='3'")}</domstatus>`);
  t.is(domain.id, 3);
  t.is(domain.statusMonitorPath, '/var/lib/libvirt/qemu/domain-3-vm/monitor.sock');
});

test('finds qemu:commandline under any namespace prefix', (t) => {
  const xml = `<domain type='kvm' xmlns:q='http://libvirt.org/schemas/domain/qemu/1.0'><name>vm</name><uuid>${uuid}</uuid><q:commandline><q:arg value='-fw_cfg'/><q:arg value='name=opt/x,file=/srv/x.ign'/><q:env name='A' value='b'/></q:commandline></domain>`;
  t.deepEqual(parseDomain(xml).qemuCommandline, ['-fw_cfg', 'name=opt/x,file=/srv/x.ign', 'A=b']);
});

test('ignores a commandline element in a different namespace', (t) => {
  const xml = `<domain type='kvm' xmlns:q='http://example.org/other'><name>vm</name><uuid>${uuid}</uuid><q:commandline><q:arg value='-x'/></q:commandline></domain>`;
  t.deepEqual(parseDomain(xml).qemuCommandline, []);
});

test('tolerates unknown elements and devices', (t) => {
  const domain = parseDomain(domainXml(`<teleporter mode='quantum'><source path='/x'/></teleporter><disk type='file'><source file='/a.img'/><target dev='vda'/></disk>`, '<futurefeature/>'));
  t.is(domain.devices.length, 1);
});

test('reads a backing chain from the XML, with its terminator', (t) => {
  const domain = parseDomain(
    domainXml(
      `<disk type='file'><driver type='qcow2'/><source file='/top.qcow2'><dataStore type='file'><format type='raw'/><source file='/data.raw'/></dataStore></source>` +
        `<backingStore type='block'><format type='qcow2'/><source dev='/dev/vg/base'/><backingStore/></backingStore><target dev='vda'/></disk>`,
    ),
  );
  const [disk] = devicesOf(domain, 'disk');
  t.deepEqual(disk?.source, {
    type: 'file',
    path: '/top.qcow2',
    format: 'qcow2',
    dataStore: { type: 'file', path: '/data.raw', format: 'raw', backing: { kind: 'unknown' }, dataStore: undefined },
    backing: { kind: 'layer', source: { type: 'block', path: '/dev/vg/base', format: 'qcow2', backing: { kind: 'none' }, dataStore: undefined } },
  });
});

const sourceOf = (disk: string): unknown => devicesOf(parseDomain(domainXml(disk)), 'disk')[0]?.source;

test('reads every disk source type', (t) => {
  t.deepEqual(sourceOf(`<disk type='dir'><source dir='/srv/fat'/><target dev='hda'/></disk>`), { type: 'dir', path: '/srv/fat' });
  t.deepEqual(sourceOf(`<disk type='volume'><source pool='default' volume='a.qcow2'/><target dev='vda'/></disk>`), { type: 'volume', pool: 'default', volume: 'a.qcow2' });
  t.deepEqual(sourceOf(`<disk type='network'><source protocol='rbd' name='pool/img'><config file='/etc/ceph/ceph.conf'/></source><target dev='vda'/></disk>`), {
    type: 'network', protocol: 'rbd', name: 'pool/img', tls: false, configFile: '/etc/ceph/ceph.conf', backing: { kind: 'unknown' },
  });
  t.deepEqual(sourceOf(`<disk type='nvme'><source type='pci' namespace='1'><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source><target dev='vda'/></disk>`), { type: 'nvme', pciAddress: '0000:01:00.0' });
  t.deepEqual(sourceOf(`<disk type='vhostuser'><source type='unix' path='/run/blk.sock'/><target dev='vda'/></disk>`), { type: 'vhostuser', socket: '/run/blk.sock' });
  t.deepEqual(sourceOf(`<disk type='vhostvdpa'><source dev='/dev/vhost-vdpa-0'/><target dev='vda'/></disk>`), { type: 'vhostvdpa', device: '/dev/vhost-vdpa-0' });
  t.is(sourceOf(`<disk type='file' device='cdrom'><target dev='hdc'/></disk>`), undefined);
});

test('reads a block-copy mirror in both spellings', (t) => {
  const mirrorOf = (xml: string): unknown => devicesOf(parseDomain(domainXml(xml)), 'disk')[0]?.mirror;
  t.deepEqual(mirrorOf(`<disk type='file'><source file='/a'/><mirror type='file' job='copy'><format type='qcow2'/><source file='/copy.qcow2'/></mirror><target dev='vda'/></disk>`), {
    type: 'file', path: '/copy.qcow2', format: 'qcow2', backing: { kind: 'unknown' }, dataStore: undefined,
  });
  t.deepEqual(mirrorOf(`<disk type='file'><source file='/a'/><mirror file='/old.img' format='raw' job='copy'/><target dev='vda'/></disk>`), {
    type: 'file', path: '/old.img', format: 'raw', backing: { kind: 'unknown' }, dataStore: undefined,
  });
});

test('reads firmware, kernel and NVRAM in both spellings', (t) => {
  const os = (inner: string): Domain['os'] => parseDomain(domainXml('', `<os firmware='efi'><type arch='x86_64'>hvm</type>${inner}</os>`)).os;
  const classic = os(`<loader readonly='yes' type='pflash'>/usr/share/OVMF/CODE.fd</loader><nvram template='/usr/share/OVMF/VARS.fd'>/var/lib/libvirt/qemu/nvram/vm_VARS.fd</nvram><kernel>/k</kernel><initrd>/i</initrd><dtb>/d</dtb><acpi><table type='slic'>/t</table></acpi>`);
  t.deepEqual(classic.loader, { path: '/usr/share/OVMF/CODE.fd', readonly: true, type: 'pflash' });
  t.deepEqual(classic.nvram, { template: '/usr/share/OVMF/VARS.fd', source: { type: 'file', path: '/var/lib/libvirt/qemu/nvram/vm_VARS.fd', format: undefined, backing: { kind: 'none' }, dataStore: undefined } });
  t.deepEqual([classic.kernel, classic.initrd, classic.dtb, classic.acpiTables], ['/k', '/i', '/d', ['/t']]);
  const modern = os(`<nvram type='file'><source file='/nv.fd'/></nvram>`);
  t.like(modern.nvram?.source, { type: 'file', path: '/nv.fd' });
});

test('reads every character device backend', (t) => {
  const domain = parseDomain(
    domainXml(
      `<serial type='pty'><source path='/dev/pts/3'/><log file='/var/log/s.log'/></serial>` +
        `<serial type='file'><source path='/var/log/serial.txt'/></serial>` +
        `<parallel type='pipe'><source path='/run/p'/></parallel>` +
        `<channel type='unix'><source mode='bind' path='/run/agent.sock'/><target type='virtio' name='org.qemu.guest_agent.0'/></channel>` +
        `<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>` +
        `<serial type='tcp'><source mode='bind' host='0.0.0.0' service='2445' tls='yes'/></serial>` +
        `<serial type='udp'><source mode='bind' service='1'/><source mode='connect' service='2'/></serial>` +
        `<console type='spicevmc'/>`,
    ),
  );
  t.deepEqual(
    devicesOf(domain, 'chardev').map((c) => [c.label, c.chardev]),
    [
      ['serial #0', { source: { type: 'pty', path: '/dev/pts/3' }, logFile: '/var/log/s.log' }],
      ['serial #1', { source: { type: 'file', path: '/var/log/serial.txt' }, logFile: undefined }],
      ['serial #2', { source: { type: 'tcp', tls: true }, logFile: undefined }],
      ['serial #3', { source: { type: 'udp' }, logFile: undefined }],
      ['parallel #0', { source: { type: 'pipe', path: '/run/p' }, logFile: undefined }],
      ['channel #0', { source: { type: 'unix', path: '/run/agent.sock' }, logFile: undefined }],
      ['channel #1', { source: { type: 'unix', path: undefined }, logFile: undefined }],
      ['console #0', { source: { type: 'none', name: 'spicevmc' }, logFile: undefined }],
    ],
  );
});

test('reads graphics sockets, GL and TLS', (t) => {
  const domain = parseDomain(
    domainXml(
      `<graphics type='vnc' socket='/run/vnc.sock'><listen type='socket' socket='/run/vnc2.sock'/></graphics>` +
        `<graphics type='spice' tlsPort='-1'><gl enable='yes' rendernode='/dev/dri/renderD129'/></graphics>` +
        `<graphics type='egl-headless'/><graphics type='sdl' display=':0' xauth='/root/.Xauthority'/>` +
        `<graphics type='dbus' address='unix:path=/run/dbus-display'/>`,
    ),
  );
  t.deepEqual(
    devicesOf(domain, 'graphics').map((g) => [g.type, g.sockets, g.gl, g.renderNode, g.xauth, g.tls]),
    [
      ['vnc', ['/run/vnc.sock', '/run/vnc2.sock'], false, undefined, undefined, false],
      ['spice', [], true, '/dev/dri/renderD129', undefined, true],
      ['egl-headless', [], true, undefined, undefined, false],
      ['sdl', [], false, undefined, '/root/.Xauthority', false],
      ['dbus', ['/run/dbus-display'], false, undefined, undefined, false],
    ],
  );
});

test('reads the addresses graphics listen on, attribute and <listen> alike', (t) => {
  const domain = parseDomain(domainXml(`<graphics type='vnc' listen='0.0.0.0'><listen type='address' address='0.0.0.0'/><listen type='address' address='console.example'/><listen type='network' network='default'/></graphics>`));
  t.deepEqual(devicesOf(domain, 'graphics')[0]?.listenAddresses, ['0.0.0.0', 'console.example']);
});

test('reads host devices of every type', (t) => {
  const domain = parseDomain(
    domainXml(
      `<hostdev mode='subsystem' type='usb'><source><vendor id='0x046d'/><product id='0xc52b'/></source></hostdev>` +
        `<hostdev mode='subsystem' type='usb'><source><address bus='1' device='5'/></source></hostdev>` +
        `<hostdev mode='subsystem' type='pci'><driver name='vfio'/><source><address domain='0x0000' bus='0x06' slot='0x12' function='0x5'/></source><rom file='/srv/vbios.rom'/></hostdev>` +
        `<hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host0'/><address bus='0' target='1' unit='2'/></source></hostdev>` +
        `<hostdev mode='subsystem' type='scsi_host'><source protocol='vhost' wwpn='naa.5123456789abcde0'/></hostdev>` +
        `<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address uuid='c2177883-f1bb-47f0-914d-32a22e3a8804'/></source></hostdev>`,
    ),
  );
  t.deepEqual(
    devicesOf(domain, 'hostdev').map((h) => h.label),
    ['hostdev usb 046d:c52b', 'hostdev usb 1.5', 'hostdev pci 0000:06:12.5', 'hostdev scsi scsi_host0', 'hostdev scsi_host naa.5123456789abcde0', 'hostdev mdev c2177883-f1bb-47f0-914d-32a22e3a8804'],
  );
  t.like(devicesOf(domain, 'hostdev')[2], { type: 'pci', address: '0000:06:12.5', driver: 'vfio', romFile: '/srv/vbios.rom' });
  t.like(devicesOf(domain, 'hostdev')[3], { type: 'scsi', adapter: 'scsi_host0', address: '0:1:2' });
});

test('reads interfaces, memory, shmem, tpm, audio and more', (t) => {
  const domain = parseDomain(
    domainXml(
      `<interface type='vhostuser'><mac address='52:54:00:00:00:01'/><source type='unix' path='/run/vhu.sock' mode='client'/><model type='virtio'/></interface>` +
        `<interface type='direct'><source dev='eth0' mode='vepa'/><target dev='macvtap3'/></interface>` +
        `<memory model='nvdimm'><source><path>/srv/nvdimm</path></source><target><size unit='KiB'>1</size></target></memory>` +
        `<shmem name='s0'><model type='ivshmem-plain'/></shmem><shmem name='s1'><model type='ivshmem-doorbell'/><server/></shmem>` +
        `<tpm model='tpm-tis'><backend type='passthrough'><device path='/dev/tpm0'/></backend></tpm>` +
        `<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>` +
        `<audio id='1' type='pulseaudio' serverName='/run/user/1000/pulse/native'/>` +
        `<input type='evdev'><source dev='/dev/input/event3'/></input>` +
        `<rng model='virtio'><backend model='random'>/dev/hwrng</backend></rng>` +
        `<smartcard mode='host-certificates'><certificate>a</certificate><database>/etc/pki/nssdb/</database></smartcard>` +
        `<vsock model='virtio'><cid auto='yes'/></vsock>`,
    ),
  );
  t.like(devicesOf(domain, 'interface')[0], { label: 'interface 52:54:00:00:00:01', vhostuserSocket: '/run/vhu.sock', model: 'virtio' });
  t.like(devicesOf(domain, 'interface')[1], { type: 'direct', targetDev: 'macvtap3' });
  t.like(devicesOf(domain, 'memory')[0], { model: 'nvdimm', path: '/srv/nvdimm' });
  t.deepEqual(devicesOf(domain, 'shmem').map((s) => [s.name, s.model, s.serverSocket]), [['s0', 'ivshmem-plain', undefined], ['s1', 'ivshmem-doorbell', null]]);
  t.deepEqual(devicesOf(domain, 'tpm').map((x) => x.backend), [{ type: 'passthrough', device: '/dev/tpm0' }, { type: 'emulator', version: '2.0', state: undefined }]);
  t.like(devicesOf(domain, 'audio')[0], { type: 'pulseaudio', serverName: '/run/user/1000/pulse/native' });
  t.like(devicesOf(domain, 'input')[0], { evdev: '/dev/input/event3' });
  t.like(devicesOf(domain, 'rng')[0], { backend: { model: 'random', device: '/dev/hwrng' } });
  t.like(devicesOf(domain, 'smartcard')[0], { mode: 'host-certificates', database: '/etc/pki/nssdb/' });
  t.is(devicesOf(domain, 'vsock').length, 1);
});

test('reads fw_cfg files and memory backing', (t) => {
  const domain = parseDomain(
    domainXml('', `<sysinfo type='fwcfg'><entry name='opt/a'>value</entry><entry name='opt/b' file='/srv/b.ign'/></sysinfo><memoryBacking><hugepages/><access mode='shared'/></memoryBacking>`),
  );
  t.deepEqual(domain.fwCfgFiles, [{ entry: 'opt/b', path: '/srv/b.ign' }]);
  t.deepEqual(domain.memoryBacking, { hugepages: true, source: undefined, shared: true });
});
