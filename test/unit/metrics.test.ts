/**
 * Counters exist at 0 for every group once the cluster is known, so Prometheus's
 * `increase(citusctl_failovers_total[5m])` sees the first failover (a series born at 1 has no
 * earlier sample to increase from).
 */
import { PrometheusMetrics } from '../../lib/metrics';
import { parseSpec } from '../../common/spec';

const spec = parseSpec({
  name: 'mx',
  workers: ['g1', 'g2', 'g3'],
  members: [
    { name: 'coord-a', group: 'coordinator', port: 15001 },
    { name: 'g1-a', group: 'g1', port: 15002 },
    { name: 'g2-a', group: 'g2', port: 15003 },
    { name: 'g3-a', group: 'g3', port: 15004 },
  ],
});

const series = async (m: PrometheusMetrics, name: string) => {
  const text = await m.registry.metrics();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`))
    .sort();
};

test('before the cluster is known, no series; once known, every group of every counter at 0', async () => {
  const m = new PrometheusMetrics();
  expect(await series(m, 'citusctl_failovers_total')).toEqual([]);
  m.clusterKnown(spec);
  for (const name of ['citusctl_failovers_total', 'citusctl_switchovers_total']) {
    expect(await series(m, name)).toEqual(
      ['coordinator', 'g1', 'g2', 'g3'].map((g) => `${name}{cluster="mx",group="${g}"} 0`),
    );
  }
});

test("the monitor's first probe round makes the cluster known", async () => {
  const m = new PrometheusMetrics();
  m.observeCluster(spec, {
    at: 0,
    etcd: { ok: true },
    pgbouncer: { ok: true },
    locks: {},
    durability: {},
    members: {},
  });
  expect(await series(m, 'citusctl_failovers_total')).toHaveLength(4);
});

test('a failover counts from 0 to 1 on the existing series; knowing the cluster again resets nothing', async () => {
  const m = new PrometheusMetrics();
  m.clusterKnown(spec);
  m.primaryChanged('mx', 'g2', { kind: 'failover', outageWindowMs: 1500 });
  m.clusterKnown(spec);
  expect(await series(m, 'citusctl_failovers_total')).toContain('citusctl_failovers_total{cluster="mx",group="g2"} 1');
  expect(await series(m, 'citusctl_failovers_total')).toContain('citusctl_failovers_total{cluster="mx",group="g1"} 0');
  expect(await series(m, 'citusctl_switchovers_total')).toContain(
    'citusctl_switchovers_total{cluster="mx",group="g2"} 0',
  );
});

test('a failover of a cluster this worker has not probed yet still brings every counter of that group', async () => {
  const m = new PrometheusMetrics();
  m.primaryChanged('other', 'g1', { kind: 'switchover' });
  expect(await series(m, 'citusctl_failovers_total')).toEqual([
    'citusctl_failovers_total{cluster="other",group="g1"} 0',
  ]);
  expect(await series(m, 'citusctl_switchovers_total')).toEqual([
    'citusctl_switchovers_total{cluster="other",group="g1"} 1',
  ]);
});
