/**
 * The etcd cluster's description (common/etcd-members.ts): members, URLs, flags, the rejoin plan,
 * and what it changes in certificates and container definitions. One member must stay exactly today's.
 */
import { tlsTargets } from '../../common/certificates';
import {
  etcdClusterAt,
  etcdClusterOf,
  etcdEndpoints,
  etcdMemberFlags,
  httpsUrl,
  rejoinPlan,
  type EtcdMemberPlace,
} from '../../common/etcd-members';
import { parseSpec } from '../../common/spec';
import { tlsIdentities } from '../../common/tls-identities';
import { etcdContainer, etcdMemberContainer } from '../../lib/docker/node-containers';

const place = (host: string, address: string, clientPort = 2379, peerPort = 2380): EtcdMemberPlace => ({
  host,
  address,
  clientPort,
  peerPort,
});

const threeHosts = parseSpec({
  name: 'ha',
  hosts: [
    { name: 'h1', endpoint: 'ssh://docker@10.0.0.1' },
    { name: 'h2', endpoint: 'ssh://docker@10.0.0.2' },
    { name: 'h3', endpoint: 'ssh://docker@db3.example.net' },
  ],
});

describe('etcdClusterAt', () => {
  test('three members named after their hosts, each reached at its address and published ports', () => {
    const c = etcdClusterAt('x', [place('h1', '10.0.0.1'), place('h2', '10.0.0.2', 2479, 2480), place('h3', 'db3')]);
    expect(c.members.map((m) => [m.name, m.clientUrl, m.peerUrl])).toEqual([
      ['etcd-h1', 'https://10.0.0.1:2379', 'https://10.0.0.1:2380'],
      ['etcd-h2', 'https://10.0.0.2:2479', 'https://10.0.0.2:2480'],
      ['etcd-h3', 'https://db3:2379', 'https://db3:2380'],
    ]);
    expect(c.initialCluster).toBe(
      'etcd-h1=https://10.0.0.1:2380,etcd-h2=https://10.0.0.2:2480,etcd-h3=https://db3:2380',
    );
    expect(c.token).toBe('citusctl-x');
    expect(etcdEndpoints(c)).toEqual(['https://10.0.0.1:2379', 'https://10.0.0.2:2479', 'https://db3:2379']);
  });

  test('one member keeps the name etcd', () => {
    expect(etcdClusterAt('x', [place('local', '127.0.0.1')]).members[0]!.name).toBe('etcd');
  });

  test('refuses a member count without a useful quorum, and two members on one host', () => {
    expect(() => etcdClusterAt('x', [place('a', '1.1.1.1'), place('b', '1.1.1.2')])).toThrow(/1, 3 or 5/);
    expect(() => etcdClusterAt('x', [place('a', '1.1.1.1'), place('a', '1.1.1.2'), place('b', '1.1.1.3')])).toThrow(
      /two etcd members on host a/,
    );
  });

  test('an IPv6 address is bracketed in URLs', () => {
    expect(httpsUrl('fd00::1', 2380)).toBe('https://[fd00::1]:2380');
  });
});

describe('etcdClusterOf (from the spec)', () => {
  test('a spec without hosts has the single member etcd on 127.0.0.1', () => {
    const c = etcdClusterOf(parseSpec({ etcd: { port: 23790 } }));
    expect(c.members).toEqual([
      expect.objectContaining({ name: 'etcd', host: 'local', address: '127.0.0.1', clientPort: 23790 }),
    ]);
  });

  test('three hosts: a member on each, at the host address, peer port after the client port', () => {
    const c = etcdClusterOf(threeHosts);
    expect(c.members.map((m) => `${m.name} ${m.clientUrl} ${m.peerUrl}`)).toEqual([
      'etcd-h1 https://10.0.0.1:2379 https://10.0.0.1:2380',
      'etcd-h2 https://10.0.0.2:2379 https://10.0.0.2:2380',
      'etcd-h3 https://db3.example.net:2379 https://db3.example.net:2380',
    ]);
  });
});

describe('etcdMemberFlags', () => {
  const c = etcdClusterAt('x', [place('h1', '10.0.0.1'), place('h2', '10.0.0.2'), place('h3', '10.0.0.3')]);

  test('listens inside on every interface, advertises the reachable address, bootstraps new', () => {
    const flags = etcdMemberFlags(c, 'etcd-h2', 'new', '/data');
    expect(flags).toEqual(
      expect.arrayContaining([
        '--name=etcd-h2',
        '--data-dir=/data',
        '--listen-client-urls=https://0.0.0.0:2379',
        '--advertise-client-urls=https://10.0.0.2:2379',
        '--listen-peer-urls=https://0.0.0.0:2380',
        '--initial-advertise-peer-urls=https://10.0.0.2:2380',
        `--initial-cluster=${c.initialCluster}`,
        '--initial-cluster-state=new',
        '--initial-cluster-token=citusctl-x',
        '--peer-cert-allowed-cn=etcd',
      ]),
    );
  });

  test('a joining member starts existing; an unknown member is refused', () => {
    expect(etcdMemberFlags(c, 'etcd-h3', 'existing', '/d')).toContain('--initial-cluster-state=existing');
    expect(() => etcdMemberFlags(c, 'etcd-h9', 'new', '/d')).toThrow(/no member etcd-h9/);
  });
});

describe('rejoinPlan', () => {
  const c = etcdClusterAt('x', [place('h1', '10.0.0.1'), place('h2', '10.0.0.2'), place('h3', '10.0.0.3')]);
  const h3 = c.members[2]!;
  const others = [
    { id: '1', name: 'etcd-h1', peerURLs: ['https://10.0.0.1:2380'] },
    { id: '2', name: 'etcd-h2', peerURLs: ['https://10.0.0.2:2380'] },
  ];

  test('the dead incarnation goes, a new entry comes', () => {
    const listed = [...others, { id: '3', name: 'etcd-h3', peerURLs: [h3.peerUrl] }];
    expect(rejoinPlan(listed, h3)).toEqual({ remove: ['3'], add: true });
  });

  test('after the remove (a rerun): only the add', () => {
    expect(rejoinPlan(others, h3)).toEqual({ remove: [], add: true });
  });

  test('after the add (a rerun): nothing more, the waiting entry is kept', () => {
    const listed = [...others, { id: '4', name: '', peerURLs: [h3.peerUrl] }];
    expect(rejoinPlan(listed, h3)).toEqual({ remove: [], add: false });
  });

  test('two waiting entries (racing adds): one goes', () => {
    const listed = [
      ...others,
      { id: '4', name: '', peerURLs: [h3.peerUrl] },
      { id: '5', name: '', peerURLs: [h3.peerUrl] },
    ];
    expect(rejoinPlan(listed, h3)).toEqual({ remove: ['5'], add: false });
  });
});

describe('certificates and containers', () => {
  test('a single-member spec keeps the one etcd identity and container, unchanged', () => {
    const spec = parseSpec({ name: 'one' });
    const etcd = tlsIdentities(spec).filter((i) => i.role === 'etcd');
    expect(etcd.map((i) => [i.id, i.commonName, i.dnsNames, i.ipAddresses])).toEqual([
      ['etcd', 'etcd', ['etcd', 'citusctl-one-etcd', 'localhost'], ['127.0.0.1', '::1']],
    ]);
    expect(tlsTargets(spec).filter((t) => t.role === 'etcd')).toEqual([
      { id: 'etcd', role: 'etcd', container: 'citusctl-one-etcd', server: 'etcd' },
    ]);
    expect(etcdContainer(spec, 'img').Cmd).toEqual(
      expect.arrayContaining(['--name=etcd', '--initial-cluster=etcd=https://127.0.0.1:2380']),
    );
  });

  test('three members: one identity each, named etcd, naming the address its peers dial', () => {
    const etcd = tlsIdentities(threeHosts).filter((i) => i.role === 'etcd');
    expect(etcd.map((i) => i.id)).toEqual(['etcd-h1', 'etcd-h2', 'etcd-h3']);
    for (const i of etcd) {
      expect(i.commonName).toBe('etcd');
      expect(i.dnsNames).toContain('etcd');
      expect(i.usages).toEqual(['server', 'client']);
    }
    expect(etcd[0]!.ipAddresses).toContain('10.0.0.1');
    expect(etcd[0]!.ipAddresses).not.toContain('10.0.0.2');
    expect(etcd[2]!.dnsNames).toContain('db3.example.net');
    expect(tlsTargets(threeHosts).filter((t) => t.role === 'etcd')).toEqual(
      ['h1', 'h2', 'h3'].map((h) => ({
        id: `etcd-${h}`,
        role: 'etcd',
        container: `citusctl-ha-etcd-${h}`,
        server: 'etcd',
      })),
    );
  });

  test("a member's container publishes client and peer ports on the given address, with its own volume", () => {
    const c = etcdClusterOf(threeHosts);
    const def = etcdMemberContainer('ha', c, 'etcd-h2', 'existing', 'img', '0.0.0.0');
    expect(def.name).toBe('citusctl-ha-etcd-h2');
    expect(def.HostConfig!.PortBindings).toEqual({
      '2379/tcp': [{ HostIp: '0.0.0.0', HostPort: '2379' }],
      '2380/tcp': [{ HostIp: '0.0.0.0', HostPort: '2380' }],
    });
    expect(def.HostConfig!.Mounts).toEqual([
      { Type: 'volume', Source: 'citusctl-ha-etcd-h2-data', Target: '/var/lib/etcd-data' },
    ]);
    expect(def.Cmd).toEqual(
      expect.arrayContaining([
        '--initial-cluster-state=existing',
        '--advertise-client-urls=https://10.0.0.2:2379',
        '--peer-client-cert-auth',
        '--client-cert-auth',
      ]),
    );
  });
});
