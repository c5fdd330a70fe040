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
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Client, Connection } from '@temporalio/client';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MonitorStatus } from '../../workflows';
import { destroyCluster, docker, layout, makeCluster, sleep, upJson, withMonitor } from './support/cluster';
import { rowsThroughPgBouncer } from './support/end-state';
import { acquireRunLock, containerOf, expectStreaming, killMember, livePrimaries, memberLogTails, removeLeftovers, waitFor } from './support/failover';

jest.setTimeout(12 * 60_000);

const TEMPORAL_PORT = 32700;
const c = withMonitor(makeCluster({ ...layout({ name: 'it-monres', basePort: 31700, temporalPort: TEMPORAL_PORT, rows: 100, shardCount: 4, workers: ['g1'] }), metrics: { port: 31708 } }, TEMPORAL_PORT));
const MONITOR = `monitor-${c.name}`;

describe('the monitor keeps healing when its own parts restart', () => {
  let releaseLock: (() => void) | undefined;
  let connection: Connection | undefined;
  let client: Client;
  const status = () => client.workflow.getHandle(MONITOR).query<MonitorStatus>('status');
  const failoverRun = async (group: string) => client.workflow.getHandle(`failover-${c.name}-${group}`).describe().catch(() => undefined);
  const healthy = async (group: string, primary: string) => {
    const s = (await status().catch(() => undefined))?.groups[group];
    return s?.primary === primary && s.primaryState === 'ok' && Object.entries(s.members).every(([m, w]) => (m === primary ? w === 'primary' : w === 'streaming')) ? true : undefined;
  };
  const connect = async () => {
    await connection?.close().catch(() => undefined);
    connection = await Connection.connect({ address: `127.0.0.1:${TEMPORAL_PORT}` });
    client = new Client({ connection });
  };
  /**
   * Kills the group's primary and waits for the monitor's failover,
   * the new primary in etcd, and the killed member streaming again.
   */
  const killAndHeal = async (group: string, victim: string, successor: string) => {
    const before = (await failoverRun(group))?.runId;
    await killMember(c, victim);
    try {
      await waitFor(`etcd to name ${successor}`, async () => ((await livePrimaries(c))[group] === successor ? true : undefined), 90_000, 200);
      await waitFor(`the monitor's failover of ${group} to complete`, async () => {
        const d = await failoverRun(group);
        return d && d.runId !== before && d.status.name === 'COMPLETED' ? true : undefined;
      }, 180_000, 500);
      await waitFor(`${victim} to stream from ${successor} (monitor's view)`, () => healthy(group, successor), 120_000, 500);
      await expectStreaming(c, victim, successor);
    } catch (err) {
      throw new Error(`${(err as Error).message}\nmonitor: ` +
        `${JSON.stringify(await status().catch((e: Error) => e.message), null, 1)}\n${await memberLogTails(c)}`);
    }
  };

  beforeAll(async () => {
    releaseLock = await acquireRunLock(c.name);
    await removeLeftovers(c);
    expect((await upJson(c)).ok).toBe(true);
    await connect();
    await waitFor('the monitor to see g1 and the coordinator healthy', async () => ((await healthy('g1', 'g1-a')) && (await healthy('coordinator', 'coord-a')) ? true : undefined), 120_000, 500);
  });

  afterAll(async () => {
    try {
      await connection?.close().catch(() => undefined);
      await destroyCluster(c);
    } finally {
      releaseLock?.();
    }
  });

  it('etcd unreachable for 30 s: no failover of healthy primaries, and the monitor sees etcd again after', async () => {
    const etcd = docker.getContainer(containerOf(c, 'etcd'));
    await etcd.pause();
    await waitFor('the monitor to notice etcd is gone', async () => ((await status()).etcdOk === false ? true : undefined), 30_000, 500);
    await sleep(30_000);
    await etcd.unpause();
    await waitFor('the monitor to see etcd again', async () => ((await status()).etcdOk === true ? true : undefined), 60_000, 500);
    expect(await failoverRun('g1')).toBeUndefined();
    expect(await failoverRun('coordinator')).toBeUndefined();
    expect(await livePrimaries(c)).toMatchObject({ coordinator: 'coord-a', g1: 'g1-a' });
    expect((await status()).lastActions.filter((a) => a.kind === 'failover')).toEqual([]);
  });

  it('the embedded Temporal server killed: the supervisor starts it, the monitor goes on, fails g1 over', async () => {
    const pidFile = path.join(c.stateDir, 'temporal', 'server.pid');
    const killed = Number(fs.readFileSync(pidFile, 'utf8'));
    const runId = (await client.workflow.getHandle(MONITOR).describe()).runId;
    process.kill(killed, 'SIGKILL');
    await waitFor('a new Temporal server', async () => {
      const pid = Number(fs.readFileSync(pidFile, 'utf8'));
      return pid !== killed ? pid : undefined;
    }, 60_000, 250);
    await waitFor('the monitor to answer on the new server', async () => {
      await connect();
      const d = await client.workflow.getHandle(MONITOR).describe();
      return d.status.name === 'RUNNING' && (await status()).groups.g1 ? true : undefined;
    }, 120_000, 1000);
    // Same execution chain: the monitor was resumed from the server's database, not started anew.
    const d = await client.workflow.getHandle(MONITOR).describe();
    expect(d.runId === runId || d.raw.workflowExecutionInfo?.firstRunId === (await client.workflow.getHandle(MONITOR, runId).describe()).raw.workflowExecutionInfo?.firstRunId).toBe(true);
    await killAndHeal('g1', 'g1-a', 'g1-b');
  });

  it('the new primary killed after the old one rejoined: g1 fails back', async () => {
    await killAndHeal('g1', 'g1-b', 'g1-a');
    expect((await status()).lastActions.filter((a) => a.kind === 'failover' && a.outcome === 'done').map((a) => a.target)).toEqual(['g1', 'g1']);
  });

  it('the coordinator primary killed: failed over to coord-b, and PgBouncer serves the demo table again', async () => {
    await killAndHeal('coordinator', 'coord-a', 'coord-b');
    expect(await rowsThroughPgBouncer(c)).toBe(c.spec.demo.rows);
  });
});
