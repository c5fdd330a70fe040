/**
 * The monitor on real containers, a real etcd and a real Temporal server: `citusctl up` starts
 * `monitor-<cluster>` and the supervised worker that runs it. Then nothing but Docker and
 * processes are touched by hand:
 *  - the worker process is SIGKILLed: its supervisor starts it again and the monitor goes on;
 *  - `docker pause` of the g1 primary for 1 s: no failover;
 *  - `docker kill` of the g1 primary: the monitor fails over (etcd and pg_dist_node name the
 *    standby) and the killed member streams again as a standby;
 *  - `citusctl pause --group g1`: a killed standby stays down; `citusctl resume`: it is restarted.
 * Ports 31340-31349; embedded Temporal on 32331.
 * Needs: `npm run build`, Docker, the temporal CLI (TEMPORAL_CLI_PATH) and the images.
 */
import { describe, expect, it, jest } from '@jest/globals';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { docker, layout, makeCluster, runCli, sleep, withEtcd, withMonitor } from './support/cluster';
import { expectNoFailoverAfterBriefPause, monitorSeesOk, upClusterForFile } from './support/up-cluster';
import {
  cliJson,
  connectOutcome,
  containerOf,
  distNodesOn,
  expectStreaming,
  killMember,
  waitFor,
  waitForNewPrimary,
} from './support/failover';

jest.setTimeout(10 * 60_000);

const METRICS_PORT = 31347; // and 31348 for the SDK's own
const c = withMonitor(
  makeCluster(
    {
      ...layout({
        name: 'it-mon',
        basePort: 31340,
        temporalPort: 32331,
        rows: 100,
        shardCount: 4,
        coordinatorStandby: false,
        workers: ['g1'],
      }),
      metrics: { port: METRICS_PORT },
    },
    32331,
  ),
);
const metricsText = async () => (await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`)).text();
const series = (text: string, name: string, labels: string) =>
  text
    .split('\n')
    .find((l) => l.startsWith(`${name}{${labels}}`))
    ?.split(' ')
    .pop();
const MONITOR = `monitor-${c.name}`;

describe('the monitor heals the cluster by itself', () => {
  const t = upClusterForFile(c, {
    afterUp: async (t) => expect((await t.client.workflow.getHandle(MONITOR).describe()).status.name).toBe('RUNNING'),
    ready: { what: 'the monitor to probe the cluster', until: (t) => monitorSeesOk(t, 'g1') },
  });
  const { status } = t;
  const failoverRuns = async () => (await t.failoverRun('g1'))?.status.name ?? 'none';

  it('the supervised worker: status shows it; SIGKILLed, it starts again and the monitor goes on probing', async () => {
    const workerRecord = () =>
      JSON.parse(fs.readFileSync(path.join(c.stateDir, 'worker', 'worker.json'), 'utf8')) as { pid: number };
    const st = await cliJson<{
      controlPlane: {
        worker: { polling: boolean; workerPid: number; supervisorPid: number };
        monitor: { running: boolean; lastProbeAt?: string };
      };
    }>(c, ['status']);
    expect(st.controlPlane.worker).toMatchObject({ polling: true, workerPid: workerRecord().pid });
    expect(st.controlPlane.monitor.running).toBe(true);
    const human = await runCli(['status', '-c', c.specFile], c.env, 60_000);
    expect(human.stdout).toMatch(/^worker: supervised, polling/m);
    expect(human.stdout).toMatch(/^monitor: watching, active, policy auto/m);

    const killed = workerRecord().pid;
    process.kill(killed, 'SIGKILL');
    await waitFor(
      'the supervisor to start the worker again',
      async () => {
        const pid = (() => {
          try {
            return workerRecord().pid;
          } catch {
            return undefined;
          }
        })();
        return pid && pid !== killed ? pid : undefined;
      },
      60_000,
      200,
    );
    const restarted = workerRecord().pid;
    // The probe the killed worker ran times out on its heartbeat and runs again on the new worker.
    await waitFor(
      'the monitor probe to run on the restarted worker',
      async () => {
        const d = await t.client.workflow.getHandle(MONITOR).describe();
        const probe = (d.raw.pendingActivities ?? []).find((a) => a.activityType?.name === 'monitorProbe');
        return probe?.lastWorkerIdentity === `citusctl-worker@${restarted}` && probe.lastHeartbeatTime
          ? true
          : undefined;
      },
      60_000,
      500,
    );
    expect((await status()).groups.g1).toMatchObject({ primary: 'g1-a', primaryState: 'ok' });
  });

  it("the worker serves Prometheus metrics: the monitor's view of every member and the SDK's metrics", async () => {
    const st = await cliJson<{ controlPlane: { worker: { metricsUrl?: string } } }>(c, ['status']);
    expect(st.controlPlane.worker.metricsUrl).toBe(`http://127.0.0.1:${METRICS_PORT}/metrics`);
    let text = '';
    await waitFor(
      'the probe to publish every member',
      async () => {
        text = await metricsText();
        return series(text, 'citusctl_member_up', 'cluster="it-mon",group="g1",member="g1-b"') === '1'
          ? true
          : undefined;
      },
      30_000,
      500,
    );
    expect(series(text, 'citusctl_member_is_primary', 'cluster="it-mon",group="g1",member="g1-a"')).toBe('1');
    expect(series(text, 'citusctl_member_is_primary', 'cluster="it-mon",group="g1",member="g1-b"')).toBe('0');
    expect(series(text, 'citusctl_member_up', 'cluster="it-mon",group="coordinator",member="coord-a"')).toBe('1');
    expect(
      Number(series(text, 'citusctl_member_timeline', 'cluster="it-mon",group="g1",member="g1-a"')),
    ).toBeGreaterThanOrEqual(1);
    expect(
      Number(series(text, 'citusctl_replication_lag_bytes', 'cluster="it-mon",group="g1",member="g1-b"')),
    ).toBeGreaterThanOrEqual(0);
    expect(
      Number(series(text, 'citusctl_monitor_probe_seconds', 'cluster="it-mon",group="g1",member="g1-a"')),
    ).toBeGreaterThan(0);
    expect(text).toMatch(/^# TYPE citusctl_failovers_total counter$/m);
    expect(text).toMatch(/^temporal_\w+/m); // the SDK's own worker metrics, merged in
  });

  it('a primary paused for 1 s is not failed over', async () => {
    await expectNoFailoverAfterBriefPause(c, t, 'g1', 'g1-a');
    expect((await status()).lastActions.filter((a) => a.kind === 'failover')).toEqual([]);
  });

  it('docker kill of the g1 primary: failover by the monitor alone, and the killed member streams again', async () => {
    console.log(`[monitor] docker kill g1-a at ${new Date().toISOString()}`);
    await killMember(c, 'g1-a');
    try {
      await waitForNewPrimary(c, 'g1', 'g1-b', 60_000);
      expect((await distNodesOn(c, 'coord-a')).some((n) => n.nodename === 'g1-a' && n.noderole === 'primary')).toBe(
        false,
      );
      await waitFor(
        'the failover to end',
        async () => ((await failoverRuns()) === 'COMPLETED' ? true : undefined),
        180_000,
        500,
      );
      await expectStreaming(c, 'g1-a', 'g1-b');
    } catch (err) {
      throw await t.explain(err);
    }
    const s = await status();
    expect(s.lastActions.filter((a) => a.kind === 'failover').map((a) => a.outcome)).toEqual(['started', 'done']);
    // For the reader of the log (no timing is asserted): when each step happened.
    const result = (await t.client.workflow.getHandle(`failover-${c.name}-g1`).result()) as {
      timeline: Record<string, number>;
      outageWindowMs?: number;
    };
    const actions = s.lastActions.map((a) => `${new Date(a.at).toISOString()} ${a.kind} ${a.target} ${a.outcome}`);
    console.log(
      `[monitor] actions: ${actions.join('; ')}\n[monitor] ` +
        `failover timeline: ${JSON.stringify(result.timeline)} outage window ${result.outageWindowMs} ms`,
    );
    await waitFor('the monitor to see g1 healthy', () => monitorSeesOk(t, 'g1'), 60_000, 500);
    expect((await status()).groups.g1).toMatchObject({
      primary: 'g1-b',
      members: { 'g1-a': 'streaming', 'g1-b': 'primary' },
    });
    const text = await metricsText();
    expect(series(text, 'citusctl_failovers_total', 'cluster="it-mon",group="g1"')).toBe('1');
    expect(Number(series(text, 'citusctl_last_failover_outage_seconds', 'cluster="it-mon",group="g1"'))).toBeCloseTo(
      (result.outageWindowMs ?? NaN) / 1000,
      3,
    );
  });

  it('citusctl pause: a killed standby stays down (maintenance); citusctl resume: restarted, it streams', async () => {
    const paused = await cliJson<{ maintenance: { cluster: boolean; groups: string[] } }>(c, [
      'pause',
      '--group',
      'g1',
      '--reason',
      'test',
    ]);
    expect(paused.maintenance).toMatchObject({ cluster: false, groups: ['g1'] });
    expect(
      JSON.parse((await withEtcd(c, (e) => e.get(`/citusctl/${c.name}/maintenance`).string())) ?? '{}'),
    ).toMatchObject({ groups: ['g1'], reason: 'test' });
    await killMember(c, 'g1-a'); // the standby now
    await waitFor(
      'the monitor to see g1-a down',
      async () => ((await status()).groups.g1?.members['g1-a'] === 'exited' ? true : undefined),
      30_000,
      250,
    );
    await sleep(3000);
    expect((await docker.getContainer(containerOf(c, 'g1-a')).inspect()).State.Running).toBe(false);
    expect((await status()).groups.g1?.notes.join(' ')).toMatch(/maintenance/);

    const resumed = await cliJson<{ maintenance: { cluster: boolean; groups: string[] } }>(c, [
      'resume',
      '--group',
      'g1',
    ]);
    expect(resumed.maintenance).toMatchObject({ cluster: false, groups: [] });
    await waitFor(
      'g1-a restarted',
      async () => ((await docker.getContainer(containerOf(c, 'g1-a')).inspect()).State.Running ? true : undefined),
      30_000,
      250,
    );
    await waitFor(
      'g1-a to answer in recovery',
      async () => ((await connectOutcome(c, 'g1-a')).inRecovery === true ? true : undefined),
      60_000,
      250,
    );
    await expectStreaming(c, 'g1-a', 'g1-b');
    expect(
      (await status()).lastActions.filter((a) => a.kind === 'restart').map((a) => `${a.target}:${a.outcome}`),
    ).toEqual(['g1-a:done']);
  });
});
