// Datagram and netlink sockets and the resolver (issue 12, finding 8): only
// for a domain whose XML makes QEMU reach a network peer itself; every
// domain keeps TCP (libvirt hands it connected sockets). Checked in what the
// real parser compiles.

import test from 'ava';
import { allowsNetwork, generateProfile, pathGrants, withoutChildProfiles } from '../helpers/compiled.ts';

const domain = (devices: string): string => `<domain type='kvm' id='3'><name>vm</name><uuid>6c1d4f3a-5b7e-4a29-9d0c-2f8e1b3a7c55</uuid>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>${devices}</devices></domain>`;

const resolverFiles = ['/etc/resolv.conf', '/etc/hosts', '/etc/nsswitch.conf', '/run/nscd/socket', '/run/systemd/resolve/io.systemd.Resolve'];

interface Expected {
  readonly resolver: boolean;
}

const network = test.macro({
  async exec(t, devices: string, { resolver }: Expected) {
    const run = await generateProfile(domain(devices));
    t.is(run.code, 0, run.stderr);
    const profile = run.stdout;
    t.true(allowsNetwork(profile, 'inet', 'stream'), 'TCP for every domain');
    t.true(allowsNetwork(profile, 'inet6', 'stream'), 'TCP over IPv6 for every domain');
    t.is(allowsNetwork(profile, 'inet', 'dgram'), resolver, 'inet dgram');
    t.is(allowsNetwork(profile, 'inet6', 'dgram'), resolver, 'inet6 dgram');
    t.is(allowsNetwork(profile, 'netlink', 'raw'), resolver, 'netlink raw');
    // passt reads resolv.conf in its own child profile: QEMU's rules are what counts here.
    for (const file of resolverFiles) t.is(pathGrants(withoutChildProfiles(profile), file).length > 0, resolver, file);
  },
  title: (given = '', _devices: string, { resolver }: Expected) => `${given}: ${resolver ? 'datagrams, netlink and the resolver' : 'TCP only'}`,
});

const disk = "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/srv/vms/vm.img'/><target dev='vda'/></disk>";
test('a file disk, a bridged NIC, a pty console, VNC on an address', network, `${disk}<interface type='network'><source network='default'/><model type='virtio'/></interface><console type='pty'/><graphics type='vnc' listen='127.0.0.1'><listen type='address' address='::1'/></graphics>`, { resolver: false });
test('passt user networking (QEMU talks to passt over a unix socket)', network, "<interface type='user'><backend type='passt'/><model type='virtio'/></interface>", { resolver: false });
test('an nbd network disk', network, "<disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='nbd' name='export'><host name='storage.example' port='10809'/></source><target dev='vda'/></disk>", { resolver: true });
test('a tcp serial port', network, "<serial type='tcp'><source mode='connect' host='logs.example' service='5000'/><protocol type='raw'/></serial>", { resolver: true });
test('a udp serial port', network, "<serial type='udp'><source mode='bind' host='0.0.0.0' service='5001'/><source mode='connect' host='10.0.0.1' service='5002'/></serial>", { resolver: true });
test('slirp user networking', network, "<interface type='user'><model type='virtio'/></interface>", { resolver: true });
test('a multicast socket NIC', network, "<interface type='mcast'><source address='230.0.0.1' port='5558'/></interface>", { resolver: true });
test('SPICE listening on a host name', network, "<graphics type='spice' autoport='yes'><listen type='address' address='console.example'/></graphics>", { resolver: true });
