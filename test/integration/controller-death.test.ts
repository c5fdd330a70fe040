/**
 * The controller dies, the healing goes on: `citusctl up` starts the supervised worker, which runs
 * an active worker process (polling) and a standby one (loaded, not polling). Then worker processes
 * are SIGKILLed by hand, as a crash would:
 *  - the active worker, while the monitor's probe runs on it: the standby takes over (no restart),
 *    the supervisor hands the probe back to Temporal (WorkerLost; the monitor a few seconds after
 *    the failovers) and starts a new standby;
 *  - the worker running the monitor's failover of g1, as soon as the monitor has started it (g1's
 *    primary killed just before): the failover completes on the other worker process, and every
 *    group ends with exactly one writable member, the one etcd and pg_dist_node name.
 * No timing is asserted (bench/auto-failover measures it). Ports 31970-31979; embedded Temporal on 32371.
 * Needs: `npm run build`, Docker, the temporal CLI (TEMPORAL_CLI_PATH) and the images.
 */
import { describe, expect, it, jest } from '@jest/globals';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { layout, makeCluster, withMonitor, alive } from './support/cluster';
import { monitorSeesOk, upClusterForFile } from './support/up-cluster';
import {
  cliJson,
  connectOutcome,
  distNodesOn,
  expectStreaming,
  killMember,
  livePrimaries,
  memberLogTails,
  waitFor,
} from './support/failover';

jest.setTimeout(10 * 60_000);

const TEMPORAL_PORT = 32371;
const c = withMonitor(
  makeCluster(
    {
      ...layout({
        name: 'it-death',
        basePort: 31970,
        temporalPort: TEMPORAL_PORT,
        rows: 100,
        shardCount: 4,
        coordinatorStandby: false,
        workers: ['g1'],
      }),
      metrics: { port: 31977 },
    },
    TEMPORAL_PORT,
  ),
);
const MONITOR = `monitor-${c.name}`;
const FAILOVER = `failover-${c.name}-g1`;
const identityPid = (identity: string | null | undefined) =>
  Number(/^citusctl-worker@(\d+)$/.exec(identity ?? '')?.[1] ?? NaN);
const readRecord = <T>(file: string): T | undefined => {
  try {
    return JSON.parse(fs.readFileSync(path.join(c.stateDir, 'worker', file), 'utf8')) as T;
  } catch {
    return undefined;
  }
};
const activePid = () => readRecord<{ pid: number }>('worker.json')?.pid;
const standbyPid = () => readRecord<{ standbyPid?: number }>('supervisor.json')?.standbyPid;

describe('the supervised worker dies: a standby takes over and the failover completes', () => {
  const t = upClusterForFile(c, {
    ready: { what: 'the monitor to probe the cluster', until: (t) => monitorSeesOk(t, 'g1') },
  });
  /** Identities polling a task queue (workflow and activity pollers). */
  const pollers = async (taskQueue: string) => {
    const ids = new Set<string>();
    for (const taskQueueType of [1, 2]) {
      const r = await t.client.workflowService.describeTaskQueue({
        namespace: 'default',
        taskQueue: { name: taskQueue },
        taskQueueType,
      });
      for (const p of r.pollers ?? []) if (p.identity) ids.add(p.identity);
    }
    return ids;
  };
  const standbyReady = (notPid?: number) =>
    waitFor(
      'a standby worker process',
      async () => {
        const pid = standbyPid();
        return pid && pid !== notPid && alive(pid) ? pid : undefined;
      },
      120_000,
      200,
    );

  it(
    'the active worker is SIGKILLed: the loaded standby polls in its place and the probe it ran is handed back ' +
      '(WorkerLost), not left to its heartbeat timeout',
    async () => {
      const standby = await standbyReady();
      const active = activePid()!;
      expect(alive(active)).toBe(true);
      expect(standby).not.toBe(active);
      const st = await cliJson<{ controlPlane: { worker: { workerPid: number; standbyPid?: number } } }>(c, ['status']);
      expect(st.controlPlane.worker).toMatchObject({ workerPid: active, standbyPid: standby });
      // The standby is loaded but polls nothing: only the active worker's identity polls.
      const polling = await pollers((await t.client.workflow.getHandle(MONITOR).describe()).taskQueue);
      expect(polling.has(`citusctl-worker@${active}`)).toBe(true);
      expect(polling.has(`citusctl-worker@${standby}`)).toBe(false);
      const probe = async () =>
        (await t.client.workflow.getHandle(MONITOR).describe()).raw.pendingActivities?.find(
          (a) => a.activityType?.name === 'monitorProbe',
        );
      await waitFor(
        'the probe to run on the active worker',
        async () => ((await probe())?.lastWorkerIdentity === `citusctl-worker@${active}` ? true : undefined),
        60_000,
        200,
      );

      process.kill(active, 'SIGKILL');
      // The standby took over (no new process had to start), and a new standby follows.
      await waitFor('the standby to poll', async () => (activePid() === standby ? true : undefined), 60_000, 100);
      const next = await standbyReady(standby);
      expect(next).not.toBe(active);
      // The supervisor failed the dead worker's probe attempt (WorkerLost): the retry says so.
      const retried = await waitFor(
        'the probe to run on the new active worker',
        async () => {
          const p = await probe();
          return p?.lastWorkerIdentity === `citusctl-worker@${standby}` ? p : undefined;
        },
        60_000,
        200,
      );
      expect(
        retried.lastFailure?.applicationFailureInfo?.type ?? retried.lastFailure?.cause?.applicationFailureInfo?.type,
      ).toBe('WorkerLost');
      expect(retried.lastFailure?.message).toContain(`citusctl-worker@${active}`);
      await waitFor('the monitor to probe again', () => monitorSeesOk(t, 'g1'), 60_000, 500);
    },
  );

  it('the worker running the failover is SIGKILLed once it started: the failover completes, one primary', async () => {
    await standbyReady();
    const before = await livePrimaries(c);
    const victim = before.g1!;
    const survivor = victim === 'g1-a' ? 'g1-b' : 'g1-a';
    const tKill = Date.now();
    await killMember(c, victim);
    const run = await waitFor(
      'the monitor to start the failover',
      async () => {
        const d = await t.client.workflow
          .getHandle(FAILOVER)
          .describe()
          .catch(() => undefined);
        return d && d.startTime.getTime() >= tKill - 1000 ? d : undefined;
      },
      60_000,
      50,
    );
    // The worker holding the failover: its running activity's, else its last workflow task's.
    const holder = await waitFor(
      'the worker running the failover',
      async () => {
        const d = await t.client.workflow.getHandle(FAILOVER, run.runId).describe();
        const fromActivity = (d.raw.pendingActivities ?? [])
          .map((a) => identityPid(a.lastWorkerIdentity))
          .find((p) => alive(p));
        if (fromActivity) return { pid: fromActivity, status: d.status.name };
        const events = (await t.client.workflow.getHandle(FAILOVER, run.runId).fetchHistory()).events ?? [];
        const fromTask = events
          .map((e) => identityPid(e.workflowTaskStartedEventAttributes?.identity))
          .filter((p) => alive(p))
          .at(-1);
        return fromTask ? { pid: fromTask, status: d.status.name } : undefined;
      },
      30_000,
      20,
    );
    process.kill(holder.pid, 'SIGKILL');
    console.log(`[controller-death] ${FAILOVER} (${holder.status}) : worker ${holder.pid} SIGKILLed`);
    expect(holder.status).toBe('RUNNING'); // killed mid-failover, not after it

    const result = (await t.client.workflow.getHandle(FAILOVER, run.runId).result()) as {
      outcome: string;
      newPrimary?: string;
      timeline: Record<string, number>;
    };
    expect(result).toMatchObject({ outcome: 'failed-over', newPrimary: survivor });
    // Another worker process finished it: the history names a second identity.
    const events = (await t.client.workflow.getHandle(FAILOVER, run.runId).fetchHistory()).events ?? [];
    const identities = new Set(
      events
        .map((e) => e.workflowTaskStartedEventAttributes?.identity ?? e.activityTaskStartedEventAttributes?.identity)
        .filter((x): x is string => !!x),
    );
    expect(identities.has(`citusctl-worker@${holder.pid}`)).toBe(true);
    expect([...identities].some((i) => i !== `citusctl-worker@${holder.pid}`)).toBe(true);
    const handedBack = events
      .filter((e) => e.activityTaskStartedEventAttributes?.lastFailure)
      .map((e) => e.activityTaskStartedEventAttributes?.lastFailure?.message);
    const taskTimeouts = events.filter((e) => e.workflowTaskTimedOutEventAttributes).length;
    console.log(
      `[controller-death] after the kill: retried activities' last failures ${JSON.stringify(handedBack)}, ` +
        `workflow task timeouts ${taskTimeouts}`,
    );

    // Exactly one writable member per group, and it is the one etcd and Citus name.
    await waitFor(
      `${victim} to stream from ${survivor}`,
      async () => ((await connectOutcome(c, victim)).inRecovery === true ? true : undefined),
      180_000,
      500,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await memberLogTails(c)}`);
    });
    await expectStreaming(c, victim, survivor);
    const primaries = await livePrimaries(c);
    expect(primaries.g1).toBe(survivor);
    for (const group of ['coordinator', 'g1']) {
      const members = c.spec.members.filter((m) => m.group === group).map((m) => m.name);
      const writable: string[] = [];
      for (const m of members) if ((await connectOutcome(c, m)).inRecovery === false) writable.push(m);
      expect({ group, writable }).toEqual({ group, writable: [primaries[group]] });
    }
    const nodes = await distNodesOn(c, 'coord-a');
    expect(nodes.filter((n) => n.noderole === 'primary' && n.groupid !== 0).map((n) => n.nodename)).toEqual([survivor]);
  });
});
