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

test("backups: the health check's reading becomes gauges (timestamps, size, archive lag, failing)", async () => {
  const m = new PrometheusMetrics();
  m.observeBackups(spec, {
    enabled: true,
    archive: [
      {
        group: 'g1',
        member: 'g1-a',
        ok: true,
        currentWal: '00000001000000000000000C',
        lastArchivedWal: '000000010000000000000008',
        lastArchivedTime: '2026-12-07T11:00:00.000Z',
        failedCount: 3,
        lastFailedWal: '000000010000000000000009',
        lastFailedTime: '2026-12-07T11:30:00.000Z',
      },
      { group: 'g2', member: 'g2-a', ok: false, error: 'down' },
    ],
    repo: { ok: true, usedBytes: 5000, fsSizeBytes: 10_000, fsAvailBytes: 5000 },
    repoCreatedAt: null,
    catalog: {
      ok: true,
      newestBackup: {
        id: 'b-1',
        finishedAt: '2026-12-07T10:00:00.000Z',
        restorePoint: 'b-1',
        sizeBytes: 800,
        repoSizeBytes: 300,
      },
      newestRestorePoint: null,
      newestVerification: null,
      newestOkVerification: { id: 'v-1', finishedAt: '2026-12-07T10:30:00.000Z' },
    },
  });
  expect(await series(m, 'citusctl_wal_archive_lag_segments')).toEqual([
    'citusctl_wal_archive_lag_segments{cluster="mx",group="g1"} 3',
  ]);
  expect(await series(m, 'citusctl_wal_archive_failing')).toEqual([
    'citusctl_wal_archive_failing{cluster="mx",group="g1"} 1',
  ]);
  expect(await series(m, 'citusctl_backup_last_timestamp_seconds')).toEqual([
    `citusctl_backup_last_timestamp_seconds{cluster="mx"} ${Date.parse('2026-12-07T10:00:00Z') / 1000}`,
  ]);
  expect(await series(m, 'citusctl_backup_last_verified_restore_timestamp_seconds')).toEqual([
    'citusctl_backup_last_verified_restore_timestamp_seconds{cluster="mx"} ' +
      `${Date.parse('2026-12-07T10:30:00Z') / 1000}`,
  ]);
  expect(await series(m, 'citusctl_backup_size_bytes')).toEqual([
    'citusctl_backup_size_bytes{cluster="mx",kind="database"} 800',
    'citusctl_backup_size_bytes{cluster="mx",kind="repository"} 300',
  ]);
  expect(await series(m, 'citusctl_backup_repository_used_bytes')).toEqual([
    'citusctl_backup_repository_used_bytes{cluster="mx"} 5000',
  ]);
});
