/**
 * The monitor keeps healing when one of its own parts restarts, on real containers, etcd and a
 * real Temporal dev server (the Citus test double where no routing is needed). Only `citusctl up`
 * is run; then nothing but Docker and processes are touched by hand:
 *  - etcd unreachable for 30 s (`docker pause`: a stopped etcd the monitor would start at once):
 *    no failover of the healthy primaries; the monitor sees etcd again;
 *  - the embedded Temporal server killed: the supervised worker's supervisor starts it again and
 *    the monitor (persisted in the server's database) goes on; a primary killed then is failed over;
 *  - the same group's new primary killed after the old one rejoined: it fails back;
 *  - the coordinator primary killed: the coordinator fails over and PgBouncer serves writes again.
 * Ports 31700-31709; embedded Temporal on 32700.
 * Needs: `npm run build`, Docker, the temporal CLI (TEMPORAL_CLI_PATH) and the images.
 */
import { describe, expect, it, jest } from '@jest/globals';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { docker, layout, makeCluster, sleep, withMonitor } from './support/cluster';
import { rowsThroughPgBouncer } from './support/end-state';
import { killAndHeal as killAndHealGroup, monitorSeesHealthy, upClusterForFile } from './support/up-cluster';
import { containerOf, livePrimaries, waitFor } from './support/failover';

jest.setTimeout(12 * 60_000);

const TEMPORAL_PORT = 32700;
const c = withMonitor(
  makeCluster(
    {
      ...layout({
        name: 'it-monres',
        basePort: 31700,
        temporalPort: TEMPORAL_PORT,
        rows: 100,
        shardCount: 4,
        workers: ['g1'],
      }),
      metrics: { port: 31708 },
    },
    TEMPORAL_PORT,
  ),
);
const MONITOR = `monitor-${c.name}`;

describe('the monitor keeps healing when its own parts restart', () => {
  const t = upClusterForFile(c, {
    ready: {
      what: 'the monitor to see g1 and the coordinator healthy',
      until: async (t) =>
        ((await monitorSeesHealthy(t, 'g1', 'g1-a')) && (await monitorSeesHealthy(t, 'coordinator', 'coord-a'))) ||
        undefined,
    },
  });
  const { status, failoverRun } = t;
  /**
   * Kills the group's primary and waits for the monitor's failover, the new primary in etcd, and the killed member
   * streaming again.
   */
  const killAndHeal = (group: string, victim: string, successor: string) =>
    killAndHealGroup(c, t, group, victim, successor, { untilMonitorSeesHealthy: true });

  it('etcd unreachable for 30 s: no failover of healthy primaries, and the monitor sees etcd again after', async () => {
    const etcd = docker.getContainer(containerOf(c, 'etcd'));
    await etcd.pause();
    await waitFor(
      'the monitor to notice etcd is gone',
      async () => ((await status()).etcdOk === false ? true : undefined),
      30_000,
      500,
    );
    await sleep(30_000);
    await etcd.unpause();
    await waitFor(
      'the monitor to see etcd again',
      async () => ((await status()).etcdOk === true ? true : undefined),
      60_000,
      500,
    );
    expect(await failoverRun('g1')).toBeUndefined();
    expect(await failoverRun('coordinator')).toBeUndefined();
    expect(await livePrimaries(c)).toMatchObject({ coordinator: 'coord-a', g1: 'g1-a' });
    expect((await status()).lastActions.filter((a) => a.kind === 'failover')).toEqual([]);
  });

  it('the embedded Temporal server killed: the supervisor starts it, the monitor goes on, fails g1 over', async () => {
    const pidFile = path.join(c.stateDir, 'temporal', 'server.pid');
    const killed = Number(fs.readFileSync(pidFile, 'utf8'));
    const runId = (await t.client.workflow.getHandle(MONITOR).describe()).runId;
    process.kill(killed, 'SIGKILL');
    await waitFor(
      'a new Temporal server',
      async () => {
        const pid = Number(fs.readFileSync(pidFile, 'utf8'));
        return pid !== killed ? pid : undefined;
      },
      60_000,
      250,
    );
    await waitFor(
      'the monitor to answer on the new server',
      async () => {
        await t.reconnect();
        const d = await t.client.workflow.getHandle(MONITOR).describe();
        return d.status.name === 'RUNNING' && (await status()).groups.g1 ? true : undefined;
      },
      120_000,
      1000,
    );
    // Same execution chain: the monitor was resumed from the server's database, not started anew.
    const d = await t.client.workflow.getHandle(MONITOR).describe();
    expect(
      d.runId === runId ||
        d.raw.workflowExecutionInfo?.firstRunId ===
          (await t.client.workflow.getHandle(MONITOR, runId).describe()).raw.workflowExecutionInfo?.firstRunId,
    ).toBe(true);
    await killAndHeal('g1', 'g1-a', 'g1-b');
  });

  it('the new primary killed after the old one rejoined: g1 fails back', async () => {
    await killAndHeal('g1', 'g1-b', 'g1-a');
    expect(
      (await status()).lastActions.filter((a) => a.kind === 'failover' && a.outcome === 'done').map((a) => a.target),
    ).toEqual(['g1', 'g1']);
  });

  it('the coordinator primary killed: failed over to coord-b, and PgBouncer serves the demo table again', async () => {
    await killAndHeal('coordinator', 'coord-a', 'coord-b');
    expect(await rowsThroughPgBouncer(c)).toBe(c.spec.demo.rows);
  });
});
