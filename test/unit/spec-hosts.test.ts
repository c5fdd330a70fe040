/**
 * Hosts in the spec: endpoints, TLS, addresses, what members, PgBouncer and etcd may name, and ports
 * unique per host. A spec without hosts parses exactly as before (spec.test.ts and spec-defaults.test.ts).
 */
import { defaultAddress, parseEndpoint, resolveHosts, unbuildableHosts } from '../../common/hosts';
import { checkSpec, defaultMembers, parseSpec, SpecError } from '../../common/spec';

const TLS = {
  caFile: '/etc/citusctl/h/ca.pem',
  certFile: '/etc/citusctl/h/cert.pem',
  keyFile: '/etc/citusctl/h/key.pem',
};

const threeHosts = () => [
  { name: 'h1', endpoint: 'tcp://10.1.0.1:2376', tls: TLS },
  { name: 'h2', endpoint: 'ssh://docker@10.1.0.2' },
  { name: 'h3', endpoint: 'unix:///var/run/docker.sock', address: '10.1.0.3' },
];

/** The problems of an invalid spec (fails the test when it parses). */
function problems(input: unknown): string[] {
  const r = checkSpec(input);
  if (r.ok) throw new Error(`expected problems, the spec parsed: ${JSON.stringify(r.spec)}`);
  return r.problems;
}

/** Exactly one problem, at `field`, matching `what`. */
function oneProblem(input: unknown, field: string, what: RegExp): void {
  const p = problems(input);
  expect(p).toHaveLength(1);
  expect(p[0]!.startsWith(`${field}:`)).toBe(true);
  expect(p[0]).toMatch(what);
}

describe('parseEndpoint', () => {
  test.each([
    ['unix:///var/run/docker.sock', { kind: 'unix', socketPath: '/var/run/docker.sock' }],
    ['unix:///run/user/1000/docker.sock', { kind: 'unix', socketPath: '/run/user/1000/docker.sock' }],
    ['tcp://10.0.0.5:2376', { kind: 'tcp', host: '10.0.0.5', port: 2376 }],
    ['tcp://docker-b.example.internal:2376', { kind: 'tcp', host: 'docker-b.example.internal', port: 2376 }],
    ['tcp://[fd00::5]:2376', { kind: 'tcp', host: 'fd00::5', port: 2376 }],
    ['ssh://ops@10.0.0.6', { kind: 'ssh', user: 'ops', host: '10.0.0.6', port: 22 }],
    ['ssh://ops@host-c:2222', { kind: 'ssh', user: 'ops', host: 'host-c', port: 2222 }],
  ])('%s', (endpoint, expected) => {
    expect(parseEndpoint(endpoint)).toEqual({ ok: true, endpoint: expected });
  });

  test.each([
    'unix://relative.sock',
    'unix://',
    'tcp://10.0.0.5',
    'tcp://10.0.0.5:0',
    'tcp://10.0.0.5:70000',
    'tcp://-bad:2376',
    'http://10.0.0.5:2375',
    'ssh://10.0.0.6',
    'ssh://ops@10.0.0.6:99999',
    'ssh://Ops;rm@10.0.0.6',
    '10.0.0.5:2376',
    '',
  ])('%j is refused with the forms it may take', (endpoint) => {
    const r = parseEndpoint(endpoint);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/port|unix:\/\/\/path/);
  });

  test('the default address is the endpoint host; a socket has none', () => {
    expect(defaultAddress('tcp://10.0.0.5:2376')).toBe('10.0.0.5');
    expect(defaultAddress('ssh://ops@host-c:2222')).toBe('host-c');
    expect(defaultAddress('unix:///var/run/docker.sock')).toBeUndefined();
  });
});

describe('resolveHosts', () => {
  test('no hosts: the implicit local host on 127.0.0.1', () => {
    expect(resolveHosts(undefined)).toEqual([
      { name: 'local', endpoint: 'unix:///var/run/docker.sock', address: '127.0.0.1', implicit: true },
    ]);
    expect(resolveHosts([])).toHaveLength(1);
  });

  test('addresses filled from the endpoint unless given; a lone socket host is reached on 127.0.0.1', () => {
    const spec = parseSpec({ hosts: threeHosts() });
    expect(resolveHosts(spec.hosts).map((h) => h.address)).toEqual(['10.1.0.1', '10.1.0.2', '10.1.0.3']);
    expect(resolveHosts(parseSpec({ hosts: [{ name: 'box' }] }).hosts)).toEqual([
      { name: 'box', endpoint: 'unix:///var/run/docker.sock', address: '127.0.0.1' },
    ]);
  });
});

describe('parseSpec with hosts: valid', () => {
  test('three hosts with the default layout parse; the members keep no host (placement places them)', () => {
    const spec = parseSpec({ hosts: threeHosts() });
    expect(spec.hosts).toHaveLength(3);
    expect(spec.hosts![1]!.endpoint).toBe('ssh://docker@10.1.0.2');
    expect(spec.members.every((m) => m.host === undefined)).toBe(true);
    expect(spec.placement).toBeUndefined();
  });

  test('a spec without hosts gains no new key (stored specs and spec diffs stay as they were)', () => {
    const spec = parseSpec({});
    expect('hosts' in spec).toBe(false);
    expect('placement' in spec).toBe(false);
    expect(spec.members.every((m) => !('host' in m))).toBe(true);
    expect(spec.pgbouncer).not.toHaveProperty('hosts');
    expect(spec.etcd).toEqual({ port: 2379 });
  });

  test('a spec without hosts may name the implicit local host', () => {
    const members = defaultMembers(['g1']).map((m) => ({ ...m, host: 'local' }));
    expect(parseSpec({ workers: ['g1'], members, pgbouncer: { hosts: ['local'] } }).members[0]!.host).toBe('local');
  });

  test('the same port on different hosts is fine; the members are placed apart', () => {
    const members = [
      { name: 'coord-a', group: 'coordinator', port: 5432, host: 'h1' },
      { name: 'coord-b', group: 'coordinator', port: 5432, host: 'h2' },
      { name: 'g1-a', group: 'g1', port: 5433, host: 'h2' },
      { name: 'g1-b', group: 'g1', port: 5433, host: 'h3' },
    ];
    const spec = parseSpec({ hosts: threeHosts(), workers: ['g1'], members });
    expect(spec.members.map((m) => m.host)).toEqual(['h1', 'h2', 'h2', 'h3']);
  });

  test('PgBouncer and etcd on the hosts named; etcd with 1, 3 or 5 members', () => {
    const spec = parseSpec({ hosts: threeHosts(), pgbouncer: { hosts: ['h2', 'h3'] }, etcd: { hosts: ['h1'] } });
    expect(spec.pgbouncer.hosts).toEqual(['h2', 'h3']);
    expect(spec.pgbouncer.port).toBe(6432);
    expect(spec.etcd).toEqual({ port: 2379, hosts: ['h1'] });
    expect(parseSpec({ hosts: threeHosts(), etcd: { hosts: ['h1', 'h2', 'h3'] } }).etcd.hosts).toHaveLength(3);
  });

  test('placement pack is accepted', () => {
    expect(parseSpec({ hosts: threeHosts(), placement: 'pack' }).placement).toBe('pack');
  });

  test('a parsed spec parses to itself (a stored spec is read back the same)', () => {
    const spec = parseSpec({ hosts: threeHosts(), placement: 'spread', etcd: { hosts: ['h1', 'h2', 'h3'] } });
    expect(parseSpec(JSON.parse(JSON.stringify(spec)))).toEqual(spec);
  });
});

describe('parseSpec with hosts: invalid', () => {
  test('a tcp endpoint without TLS', () => {
    oneProblem({ hosts: [{ name: 'h1', endpoint: 'tcp://10.1.0.1:2376' }] }, 'hosts[0].tls', /needs TLS/);
  });

  test('TLS files on a non-tcp endpoint', () => {
    oneProblem({ hosts: [{ name: 'h1', endpoint: 'ssh://a@b', tls: TLS }] }, 'hosts[0].tls', /only a tcp/);
  });

  test('TLS files must be absolute paths, and all three given', () => {
    const p = problems({ hosts: [{ name: 'h1', endpoint: 'tcp://a:2376', tls: { ...TLS, keyFile: 'key.pem' } }] });
    expect(p).toEqual(['hosts[0].tls.keyFile: must be an absolute path']);
    const missing = problems({ hosts: [{ name: 'h1', endpoint: 'tcp://a:2376', tls: { caFile: '/ca.pem' } }] });
    expect(missing.some((x) => x.startsWith('hosts[0].tls.certFile'))).toBe(true);
    expect(missing.some((x) => x.startsWith('hosts[0].tls.keyFile'))).toBe(true);
  });

  test('an unknown key in a host or its TLS', () => {
    expect(problems({ hosts: [{ name: 'h1', url: 'x' }] })).toEqual(['hosts[0]: unknown key(s) "url"']);
  });

  test('a malformed endpoint names the host', () => {
    oneProblem({ hosts: [{ name: 'h1', endpoint: 'http://a:2375' }] }, 'hosts[0].endpoint', /none of unix/);
  });

  test('a socket host among several needs its address', () => {
    const hosts = threeHosts().map((h) => (h.name === 'h3' ? { name: 'h3' } : h));
    oneProblem({ hosts }, 'hosts[2].address', /address the other hosts reach it on/);
  });

  test('a malformed address', () => {
    const hosts = threeHosts().map((h) => (h.name === 'h3' ? { ...h, address: 'not an address' } : h));
    oneProblem({ hosts }, 'hosts[2].address', /DNS name or an IP/);
  });

  test('duplicate host names', () => {
    const hosts = [...threeHosts(), { name: 'h1', endpoint: 'ssh://x@10.1.0.9' }];
    oneProblem({ hosts }, 'hosts[3].name', /duplicate host "h1" \(also hosts\[0\]\)/);
  });

  test('"local" is reserved for a local socket', () => {
    oneProblem({ hosts: [{ name: 'local', endpoint: 'ssh://x@10.1.0.9' }] }, 'hosts[0].name', /reserved/);
    expect(parseSpec({ hosts: [{ name: 'local' }] }).hosts![0]!.name).toBe('local');
  });

  test('an empty host list', () => {
    expect(problems({ hosts: [] })[0]).toMatch(/^hosts:/);
  });

  test('a host name that is not a DNS label', () => {
    expect(problems({ hosts: [{ name: 'H_1' }] })[0]).toMatch(/^hosts\[0\]\.name: must be 1-31 characters/);
  });

  test('a member on a host that is not listed', () => {
    const members = defaultMembers(['g1']).map((m, i) => (i === 2 ? { ...m, host: 'h9' } : m));
    oneProblem(
      { hosts: threeHosts(), workers: ['g1'], members },
      'members[2].host',
      /"h9" is not a host \(hosts: h1, h2, h3\)/,
    );
  });

  test('a member naming a host when the spec lists none (only "local" exists)', () => {
    const members = defaultMembers(['g1']).map((m, i) => (i === 0 ? { ...m, host: 'h1' } : m));
    oneProblem({ workers: ['g1'], members }, 'members[0].host', /"h1" is not a host \(hosts: local\)/);
  });

  test('PgBouncer on an unknown host, or twice on one', () => {
    oneProblem({ hosts: threeHosts(), pgbouncer: { hosts: ['h1', 'h7'] } }, 'pgbouncer.hosts[1]', /"h7" is not a host/);
    oneProblem({ hosts: threeHosts(), pgbouncer: { hosts: ['h1', 'h1'] } }, 'pgbouncer.hosts[1]', /listed twice/);
    expect(problems({ hosts: threeHosts(), pgbouncer: { hosts: [] } })[0]).toMatch(/^pgbouncer\.hosts:/);
  });

  test.each([[['h1', 'h2']], [['h1', 'h2', 'h3', 'h1']], [[]]])('etcd on %j hosts: not 1, 3 or 5', (hosts) => {
    const p = problems({ hosts: threeHosts(), etcd: { hosts } });
    expect(p.some((x) => /^etcd\.hosts: \d+ members cannot form a useful quorum/.test(x))).toBe(true);
  });

  test('etcd on an unknown host', () => {
    oneProblem({ hosts: threeHosts(), etcd: { hosts: ['h4'] } }, 'etcd.hosts[0]', /"h4" is not a host/);
  });

  test('an unknown placement', () => {
    expect(problems({ hosts: threeHosts(), placement: 'random' })[0]).toMatch(/^placement:/);
  });

  test('two members on one host with one port', () => {
    const members = [
      { name: 'coord-a', group: 'coordinator', port: 5432, host: 'h1' },
      { name: 'coord-b', group: 'coordinator', port: 5440, host: 'h2' },
      { name: 'g1-a', group: 'g1', port: 5432, host: 'h1' },
      { name: 'g1-b', group: 'g1', port: 5441, host: 'h3' },
    ];
    oneProblem(
      { hosts: threeHosts(), workers: ['g1'], members },
      'members[2].port',
      /port 5432 is already used by members\[0\]\.port on host h1/,
    );
  });

  test('a port clash that placement makes is named with the host placement chose', () => {
    // The default layout placed on three hosts: coord-a and g2-b land on h1 (see placement.test.ts).
    const members = defaultMembers(['g1', 'g2']).map((m) => (m.name === 'g2-b' ? { ...m, port: 5432 } : m));
    oneProblem({ hosts: threeHosts(), members }, 'members[5].port', /already used by members\[0\]\.port on host h1/);
  });

  test("PgBouncer's port clashes with a member's on a host PgBouncer runs on, not elsewhere", () => {
    const members = [
      { name: 'coord-a', group: 'coordinator', port: 6432, host: 'h3' },
      { name: 'coord-b', group: 'coordinator', port: 5440, host: 'h2' },
      { name: 'g1-a', group: 'g1', port: 5441, host: 'h1' },
      { name: 'g1-b', group: 'g1', port: 5442, host: 'h2' },
    ];
    // PgBouncer on h1 and h2 (the default): 6432 on h3 is free.
    expect(parseSpec({ hosts: threeHosts(), workers: ['g1'], members }).members[0]!.port).toBe(6432);
    oneProblem(
      { hosts: threeHosts(), workers: ['g1'], members, pgbouncer: { hosts: ['h3'] } },
      'pgbouncer.port',
      /port 6432 is already used by members\[0\]\.port on host h3/,
    );
  });

  test('one host keeps the global rule and its message (no host named)', () => {
    const members = defaultMembers(['g1']).map((m, i) => (i === 1 ? { ...m, port: 5432 } : m));
    oneProblem(
      { workers: ['g1'], members },
      'members[1].port',
      /^members\[1\]\.port: port 5432 is already used by members\[0\]\.port$/,
    );
  });

  test('every problem is reported at once, as a SpecError', () => {
    let caught: unknown;
    try {
      parseSpec({ hosts: [{ name: 'h1', endpoint: 'tcp://a:2376' }, { name: 'h1' }], etcd: { hosts: ['h1', 'h2'] } });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SpecError);
    const p = (caught as SpecError).problems;
    expect(p.some((x) => x.startsWith('hosts[0].tls'))).toBe(true);
    expect(p.some((x) => x.startsWith('hosts[1].name: duplicate'))).toBe(true);
    expect(p.some((x) => x.startsWith('etcd.hosts[1]: "h2" is not a host'))).toBe(true);
    expect(p.some((x) => x.startsWith('etcd.hosts: 2 members'))).toBe(true);
  });
});

describe('unbuildableHosts: what up cannot build yet', () => {
  const on = { backup: { enabled: true } };
  const off = { backup: { enabled: false } };
  it('accepts no hosts and the local socket alone', () => {
    expect(unbuildableHosts({ ...on })).toBeUndefined();
    expect(unbuildableHosts({ hosts: [], ...on })).toBeUndefined();
    expect(
      unbuildableHosts({ hosts: [{ name: 'h1', endpoint: 'unix:///var/run/docker.sock' }], ...on }),
    ).toBeUndefined();
  });
  it('refuses a lone host that is not the local socket, naming it and what to do', () => {
    const one = unbuildableHosts({ hosts: [{ name: 'h1', endpoint: 'ssh://docker@10.0.0.1' }], ...off });
    expect(one).toMatch(/hosts: 1 listed \(h1, ssh:\/\/docker@10\.0\.0\.1\).*remove `hosts`/);
  });
  const three = [
    { name: 'h1', endpoint: 'unix:///var/run/docker.sock', address: '10.0.0.1' },
    { name: 'h2', endpoint: 'ssh://docker@10.0.0.2' },
    { name: 'h3', endpoint: 'unix:///run/other.sock', address: '10.0.0.3' },
  ];
  it('builds several hosts without backups, refuses them with backups on', () => {
    expect(unbuildableHosts({ hosts: three, ...off })).toBeUndefined();
    expect(unbuildableHosts({ hosts: three, ...on })).toMatch(
      /hosts: 3 listed \(h1, h2, h3\); backups across several hosts are not built yet: set `backup: \{ enabled: false/,
    );
  });
});
