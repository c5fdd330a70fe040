/** The hosts part of `citusctl status`: what each host runs, its engine and its worker, and the lines shown. */
import { parseSpec } from '../../common/spec';
import { hostsStatusWith, type HostProbes } from '../../client/status-hosts';
import { hostsStatusLines } from '../../client/status-hosts-lines';

const TLS = { caFile: '/etc/h1/ca.pem', certFile: '/etc/h1/cert.pem', keyFile: '/etc/h1/key.pem' };
const spec = parseSpec({
  hosts: [
    { name: 'h1', endpoint: 'tcp://10.1.0.1:2376', tls: TLS },
    { name: 'h2', endpoint: 'ssh://docker@10.1.0.2' },
    { name: 'h3', endpoint: 'unix:///var/run/docker.sock', address: '10.1.0.3' },
  ],
});

const probes = (over: Partial<HostProbes> = {}): HostProbes => ({
  ping: async (h) => (h.name === 'h2' ? { reachable: false, error: 'connect ECONNREFUSED' } : { reachable: true }),
  polled: async (queues) => Object.fromEntries(queues.map((q) => [q, q !== 'citusctl-host-h3'])),
  ...over,
});

test('a spec without hosts has no hosts section, and asks nothing', async () => {
  const asked: string[] = [];
  const none = await hostsStatusWith(parseSpec({}), {
    ping: async (h) => (asked.push(h.name), { reachable: true }),
    polled: async (q) => (asked.push(...q), {}),
  });
  expect(none).toBeUndefined();
  expect(asked).toEqual([]);
});

test('each host: endpoint, address, engine, worker and what placement puts there', async () => {
  const s = (await hostsStatusWith(spec, probes()))!;
  expect(s.placement).toBe('spread');
  expect(s.notes).toEqual([]);
  expect(s.hosts.map((h) => [h.name, h.address, h.engine.reachable, h.workerPolling])).toEqual([
    ['h1', '10.1.0.1', true, true],
    ['h2', '10.1.0.2', false, true],
    ['h3', '10.1.0.3', true, false],
  ]);
  expect(s.hosts.flatMap((h) => h.members).sort()).toEqual(spec.members.map((m) => m.name).sort());
  expect(s.hosts.filter((h) => h.pgbouncer).map((h) => h.name)).toEqual(['h1', 'h2']);
  expect(s.hosts.filter((h) => h.etcd).map((h) => h.name)).toEqual(['h1', 'h2', 'h3']);
  // Nothing of the TLS files in the report.
  expect(JSON.stringify(s)).not.toContain('/etc/h1');
});

test('Temporal not answering: every worker unknown with the reason; a ping that throws is unreachable', async () => {
  const s = (await hostsStatusWith(
    spec,
    probes({
      polled: async () => {
        throw new Error('Temporal not reachable: refused');
      },
      ping: async () => {
        throw new Error('host h1: cannot read tls.caFile /etc/h1/ca.pem: ENOENT');
      },
    }),
  ))!;
  for (const h of s.hosts) {
    expect(h.workerPolling).toBeUndefined();
    expect(h.workerError).toBe('Temporal not reachable: refused');
    expect(h.engine.reachable).toBe(false);
  }
});

test('the lines: one per host, a missing worker says how to start it, then the notes', async () => {
  const two = parseSpec({
    hosts: [
      { name: 'h1', endpoint: 'ssh://docker@10.1.0.1' },
      { name: 'h2', endpoint: 'ssh://docker@10.1.0.2' },
    ],
  });
  const lines = hostsStatusLines((await hostsStatusWith(two, probes()))!);
  expect(lines[0]).toBe('hosts (placement spread):');
  expect(lines[1]).toMatch(/^ {2}h1 +ssh:\/\/docker@10\.1\.0\.1 \(address 10\.1\.0\.1\): engine reachable; /);
  expect(lines[1]).toContain('; worker polls citusctl-host-h1; runs ');
  expect(lines[1]).toMatch(/pgbouncer, etcd$/);
  expect(lines[2]).toMatch(
    /h2 .*engine NOT reachable \(connect ECONNREFUSED\); worker polls citusctl-host-h2; runs .*pgbouncer$/,
  );
  expect(lines.slice(3)).toEqual([expect.stringMatching(/^ {2}note: etcd runs one member, on h1/)]);
  const unpolled = hostsStatusLines({
    ...(await hostsStatusWith(two, probes({ polled: async () => ({}) })))!,
  });
  expect(unpolled[1]).toContain('NO WORKER polls citusctl-host-h1 (`citusctl worker --host h1` on that host)');
});
