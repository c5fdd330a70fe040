/**
 * Container definitions on several hosts: each container publishes on its own host's address and maps
 * every cluster name to its host's address; its own hostname is no member name. One host: as before.
 */
import { hostOfContainer, pgbouncerHosts } from '../../common/addressing';
import { parseSpec } from '../../common/spec';
import { etcdContainer, pgbouncerContainer, postgresContainer } from '../../lib/docker/node-containers';

const TLS = { caFile: '/etc/h/ca.pem', certFile: '/etc/h/cert.pem', keyFile: '/etc/h/key.pem' };
const three = parseSpec({
  name: 'demo',
  backup: { enabled: false },
  hosts: [1, 2, 3].map((n) => ({ name: `h${n}`, endpoint: `tcp://10.1.0.${n}:2376`, tls: TLS })),
});
const one = parseSpec({ name: 'demo' });
const binding = (c: { HostConfig?: { PortBindings?: unknown } }) =>
  Object.values(c.HostConfig!.PortBindings as Record<string, { HostIp: string }[]>)[0]![0]!.HostIp;

describe('several hosts', () => {
  it('each PgBouncer publishes on the address of the host it is created on', () => {
    const [a, b] = pgbouncerHosts(three);
    expect(binding(pgbouncerContainer(three, 'img', a))).toBe(a!.address);
    expect(binding(pgbouncerContainer(three, 'img', b))).toBe(b!.address);
    expect(a!.address).not.toBe(b!.address);
  });
  it("a member publishes on its host's address, maps every name, and is not named after itself", () => {
    const m = three.members[1]!;
    const c = postgresContainer(three, m, 'img');
    expect(binding(c)).toBe(hostOfContainer(three, m.name).address);
    expect(c.HostConfig!.ExtraHosts).toContain(`${m.name}:${hostOfContainer(three, m.name).address}`);
    expect(c.Hostname).not.toBe(m.name);
    expect(binding(etcdContainer(three, 'img'))).toBe(hostOfContainer(three, 'etcd').address);
  });
});

describe('one host', () => {
  it('publishes on 127.0.0.1 with no /etc/hosts entries, hostname the member name', () => {
    const m = one.members[0]!;
    const c = postgresContainer(one, m, 'img');
    expect(binding(c)).toBe('127.0.0.1');
    expect(c.HostConfig!.ExtraHosts).toBeUndefined();
    expect(c.Hostname).toBe(m.name);
    expect(binding(pgbouncerContainer(one, 'img'))).toBe('127.0.0.1');
  });
});
