/**
 * How members reach each other: unchanged with one host (names on the shared network, 5432, ports on
 * 127.0.0.1); with several, each name maps to its host's address and members meet at published ports.
 */
import {
  addressOf,
  clientHosts,
  pgbouncerHosts,
  containersOnHost,
  extraHosts,
  hostCidrs,
  hostOfContainer,
  isMultiHost,
  peerPort,
  publishAddress,
} from '../../common/addressing';
import { resolveHosts } from '../../common/hosts';
import { parseSpec } from '../../common/spec';

const TLS = { caFile: '/etc/h/ca.pem', certFile: '/etc/h/cert.pem', keyFile: '/etc/h/key.pem' };
const oneHost = parseSpec({ name: 'demo' });
const threeHostsInput = {
  name: 'demo',
  hosts: [
    { name: 'h1', endpoint: 'tcp://10.1.0.1:2376', tls: TLS },
    { name: 'h2', endpoint: 'tcp://10.1.0.2:2376', tls: TLS },
    { name: 'h3', endpoint: 'ssh://docker@h3.internal' },
  ],
  backup: { enabled: false },
};
const threeHosts = parseSpec(threeHostsInput);

describe('one host: as before hosts existed', () => {
  it('reaches every member on 127.0.0.1 and 5432 between members, with no /etc/hosts entries', () => {
    expect(isMultiHost(oneHost)).toBe(false);
    for (const m of oneHost.members) {
      expect(addressOf(oneHost, m.name)).toBe('127.0.0.1');
      expect(peerPort(oneHost, m.name)).toBe(5432);
    }
    expect(extraHosts(oneHost)).toBeUndefined();
    expect(publishAddress(oneHost, resolveHosts(undefined)[0]!)).toBe('127.0.0.1');
    expect(hostCidrs(oneHost)).toEqual([]);
    expect(containersOnHost(oneHost, 'local')).toEqual([
      ...oneHost.members.map((m) => m.name),
      'pgbouncer',
      'etcd',
      'backup',
    ]);
  });
});

describe('three hosts', () => {
  it('reaches each member at its host address and its own published port', () => {
    expect(isMultiHost(threeHosts)).toBe(true);
    for (const m of threeHosts.members) {
      const host = hostOfContainer(threeHosts, m.name);
      expect(addressOf(threeHosts, m.name)).toBe(host.address);
      expect(peerPort(threeHosts, m.name)).toBe(m.port);
    }
  });
  it("puts a group's members on different hosts and every container on exactly one host", () => {
    const all = ['h1', 'h2', 'h3'].flatMap((h) => containersOnHost(threeHosts, h));
    expect(all.sort()).toEqual([...threeHosts.members.map((m) => m.name), 'pgbouncer', 'etcd', 'backup'].sort());
    for (const g of ['coordinator', ...threeHosts.workers]) {
      const hosts = threeHosts.members
        .filter((m) => m.group === g)
        .map((m) => hostOfContainer(threeHosts, m.name).name);
      expect(new Set(hosts).size).toBe(hosts.length);
    }
  });
  it('maps every name to its host in /etc/hosts', () => {
    const entries = extraHosts(threeHosts)!;
    expect(entries).toHaveLength(threeHosts.members.length + 2);
    for (const m of threeHosts.members)
      expect(entries).toContain(`${m.name}:${hostOfContainer(threeHosts, m.name).address}`);
    expect(entries.some((e) => e.startsWith('etcd:'))).toBe(true);
    expect(entries.some((e) => e.startsWith('pgbouncer:'))).toBe(true);
  });
  it('publishes on an IPv4 host address, on every interface for a name; pg_hba admits every host', () => {
    const [h1, , h3] = resolveHosts(threeHosts.hosts);
    expect(publishAddress(threeHosts, h1!)).toBe('10.1.0.1');
    expect(publishAddress(threeHosts, h3!)).toBe('0.0.0.0');
    expect(hostCidrs(threeHosts)).toEqual(['10.1.0.1/32', '10.1.0.2/32', 'h3.internal']);
    const withControl = parseSpec({ ...threeHostsInput, controlAddresses: ['10.9.0.0/24'] });
    expect(hostCidrs(withControl)).toEqual(['10.1.0.1/32', '10.1.0.2/32', 'h3.internal', '10.9.0.0/24']);
    expect(() => parseSpec({ ...threeHostsInput, controlAddresses: ['anywhere'] })).toThrow(/controlAddresses/);
  });
  it('refuses a name that is not in the spec', () => {
    expect(() => hostOfContainer(threeHosts, 'nope')).toThrow(/unknown member nope/);
    expect(() => peerPort(threeHosts, 'nope')).toThrow(/unknown member nope/);
  });
});

describe('clients', () => {
  it('one PgBouncer on 127.0.0.1 with one host; with three, two PgBouncers in a read-write multi-host string', () => {
    expect(clientHosts(oneHost)).toBe('host=127.0.0.1 port=6432');
    const placed = pgbouncerHosts(threeHosts).map((h) => h.name);
    expect(placed).toHaveLength(2);
    expect(clientHosts(threeHosts)).toBe(
      `host=${pgbouncerHosts(threeHosts)
        .map((h) => h.address)
        .join(',')} port=6432,6432 target_session_attrs=read-write`,
    );
  });
});
