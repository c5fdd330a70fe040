import type { ControlPlaneStatus, MonitorView } from '../../client/status-control-plane';
import { controlPlaneLines, statusLines } from '../../client/status-lines';

const base = (monitor: MonitorView): ControlPlaneStatus => ({
  temporal: { address: '127.0.0.1:7233', reachable: true },
  worker: {
    supervised: true,
    supervisorPid: 10,
    workerPid: 11,
    polling: true,
    restarts: 0,
    since: '2026-01-01T00:00:00Z',
    build: 'bbbb',
    log: '/state/worker/worker.log',
  },
  monitor,
});
const running = (polled: boolean): MonitorView => ({
  running: true,
  cluster: 'demo',
  state: 'watching',
  policy: 'auto',
  allowAsyncFailover: false,
  maintenance: { cluster: false, groups: [], at: '' },
  runs: 1,
  iterations: 3,
  lastProbeAt: '2026-01-01T00:00:01Z',
  groups: {},
  inFlight: { failovers: {}, rejoins: {} },
  lastActions: [],
  taskQueue: 'citusctl-monitor-aaaa',
  build: 'aaaa',
  polled,
  cliBuild: 'bbbb',
});

test('the worker and the monitor name their builds', () => {
  const lines = controlPlaneLines(base(running(true)));
  expect(lines[0]).toMatch(/^worker: supervised, polling \(.*build bbbb\)/);
  expect(lines[2]).toBe('monitor: watching, active, policy auto, build aaaa, last probe 2026-01-01T00:00:01Z');
});

test('a monitor on a build no worker polls is flagged, with what moves it', () => {
  const line = controlPlaneLines(base(running(false)))[2];
  expect(line).toMatch(/^monitor: watching, .*build aaaa: NO WORKER POLLS build aaaa; /);
  expect(line).toMatch(/NO WORKER POLLS build aaaa; `citusctl up` moves it to this citusctl's build bbbb, last probe/);
  const silent = controlPlaneLines(
    base({
      running: false,
      reason: 'monitor running but not answering: deadline',
      taskQueue: 'citusctl-monitor-aaaa',
      build: 'aaaa',
      polled: false,
      cliBuild: 'bbbb',
    }),
  )[2];
  expect(silent).toBe(
    'monitor: not running (monitor running but not answering: deadline); build aaaa: NO WORKER POLLS build ' +
      "aaaa; `citusctl up` moves it to this citusctl's build bbbb",
  );
});

test('a monitor on a queue of no build (an older citusctl) says which queue', () => {
  expect(
    controlPlaneLines(base({ ...running(false), taskQueue: 'citusctl-monitor', build: undefined } as MonitorView))[2],
  ).toMatch(/build \? \(task queue citusctl-monitor\): NO WORKER POLLS build citusctl-monitor/);
});

test(
  'status: one line per member (role, state, timeline, walsenders, error), then workers, etcd, control plane, ' +
    'endpoints',
  () => {
    const lines = statusLines({
      cluster: 'demo',
      members: [
        {
          name: 'g1-a',
          group: 'g1',
          container: 'citusctl-demo-g1-a',
          state: 'running',
          role: 'primary',
          timeline: 2,
          replication: [{ standby: 'g1-b', state: 'streaming', lagBytes: 0, syncState: 'quorum' }],
        },
        {
          name: 'g1-b',
          group: 'g1',
          container: 'citusctl-demo-g1-b',
          state: 'running',
          role: 'unknown',
          error: 'timeout',
        },
      ],
      citusWorkers: [{ nodename: 'g1-a', nodeport: 5432, noderole: 'primary', isactive: true, shards: 16 }],
      livePrimaries: { g1: 'g1-a' },
      lastFailover: {},
      endpoints: [{ name: 'pgbouncer', host: '127.0.0.1', port: 6432, user: 'app', database: 'postgres' }],
      clients: 'host=127.0.0.1 port=6432',
      pgpass: '/state/demo/pgpass',
      caPath: '/state/demo/tls/ca.crt',
      controlPlane: base({ running: false, reason: 'no monitor' }),
    });
    expect(lines[0]).toBe('cluster demo');
    expect(lines[1]).toBe('  g1-a         g1           primary  running  tl 2 g1-b:streaming/quorum lag 0B');
    expect(lines[2]).toBe('  g1-b         g1           unknown  running   (timeout)');
    expect(lines).toContain('  g1-a:5432 primary shards=16');
    expect(lines).toContain('live primaries (etcd): {"g1":"g1-a"}');
    expect(lines.slice(-4)).toEqual([
      '  pgbouncer    127.0.0.1:6432 app',
      'pgpass: /state/demo/pgpass',
      'ca: /state/demo/tls/ca.crt',
      'clients: psql "host=127.0.0.1 port=6432 dbname=postgres user=app sslmode=verify-full ' +
        'sslrootcert=/state/demo/tls/ca.crt"',
    ]);
  },
);
