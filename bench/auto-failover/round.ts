/**
 * One round of the self-healing bench: `docker kill` of a group's primary under the numbered
 * writers, and nothing else: the monitor detects it, runs failoverGroup, and restarts and rejoins
 * the killed member. Measured: detection (fault -> the monitor's failover workflow starts), the
 * client write outage, lost acknowledged writes, and the time until the killed member streams again.
 */
import { Client, Connection } from '@temporalio/client';
import { waitGroupHealthy, observeGroup } from '../lib/health';
import { etcdPrimaries } from '../lib/etcd';
import { loadavg, now, sleep } from '../lib/util';
import { figures, saveAcks, withWriters, type RoundResult, type ScenarioContext } from '../failover/scenarios';
import {
  describeBreakdown,
  killWorkersMidFailover,
  takeoverBreakdown,
  waitForReplacement,
  type KillReport,
  type KillTarget,
  type TakeoverBreakdown,
} from '../lib/worker-kill';

const REPAIR_BUDGET_MS = 180_000;

export interface AutoContext extends ScenarioContext {
  temporalAddress: string;
  /** KILL_WORKER: SIGKILL worker processes of the supervised worker once the monitor has started the failover. */
  killWorker?: KillTarget;
  /** One line per round about the kill and the takeover (the summary log). */
  note: (line: string) => void;
}

export interface FailoverRun {
  startTime: number;
  result?: { outcome?: string; newPrimary?: string; outageWindowMs?: number; timeline?: Record<string, number> };
}

/** The latest run of the group's failover workflow that started after `since`, once it closed. */
export async function failoverRunAfter(
  client: Client,
  id: string,
  since: number,
  until: number,
): Promise<FailoverRun | undefined> {
  while (now() < until) {
    const d = await client.workflow
      .getHandle(id)
      .describe()
      .catch(() => undefined);
    if (d && d.startTime.getTime() >= since && d.status.name !== 'RUNNING') {
      const result =
        d.status.name === 'COMPLETED'
          ? ((await client.workflow.getHandle(id, d.runId).result()) as FailoverRun['result'])
          : undefined;
      return { startTime: d.startTime.getTime(), result };
    }
    await sleep(200);
  }
  return undefined;
}

export async function autoFailoverRound(ctx: AutoContext, group: string, i: number): Promise<RoundResult> {
  const { primary: victim } = await waitGroupHealthy(ctx.cluster, group);
  const connection = await Connection.connect({ address: ctx.temporalAddress });
  const client = new Client({ connection });
  const kind = group === 'coordinator' ? 'auto-coordinator' : 'auto-worker';
  const tag = `${kind}${i}`;
  let tFault = 0;
  let newPrimaryAt: number | undefined;
  let run: FailoverRun | undefined;
  let streamingAt: number | undefined;
  let kill: KillReport | undefined;
  let replaced: { polls?: number; standby?: number } = {};
  let takeover: TakeoverBreakdown | undefined;
  try {
    const r = await withWriters(ctx, group !== 'coordinator', async () => {
      tFault = now();
      await ctx.cluster.docker(['kill', ctx.cluster.containerOf(victim)]);
      const until = tFault + REPAIR_BUDGET_MS;
      const workflowId = `failover-${ctx.cluster.name}-${group}`;
      // The controller dies as soon as the monitor has started the failover (watched in parallel).
      const killing = ctx.killWorker
        ? killWorkersMidFailover({
            client,
            stateDir: ctx.cluster.stateDir,
            workflowId,
            since: tFault - 1000,
            target: ctx.killWorker,
          }).then(async (k) => {
            ctx.note(`${tag}: ${k.note}`);
            if ('killed' in k) {
              kill = k;
              replaced = await waitForReplacement(ctx.cluster.stateDir, k);
            }
          })
        : Promise.resolve();
      // etcd names another member: the monitor's failover promoted it.
      while (now() < until && !newPrimaryAt) {
        const p = await etcdPrimaries(ctx.cluster).catch(() => ({}) as Record<string, string | undefined>);
        if (p[group] && p[group] !== victim) newPrimaryAt = now();
        else await sleep(100);
      }
      run = await failoverRunAfter(client, workflowId, tFault - 1000, until);
      await killing;
      if (kill) {
        takeover = await takeoverBreakdown(client, workflowId, kill).catch(() => undefined);
        if (takeover) ctx.note(`${tag}: ${describeBreakdown(takeover)}`);
      }
      // The killed member restarted and rejoined by the monitor: it streams from the new primary.
      while (now() < until && !streamingAt) {
        const v = await observeGroup(ctx.cluster, group).catch(() => undefined);
        if (v && v.writable.length === 1 && v.streaming.includes(victim)) streamingAt = now();
        else await sleep(500);
      }
      return {
        tFault,
        cli: { args: [], code: 0, signal: null, doc: {}, tSpawn: tFault, tExit: now(), stderr: '', junk: [] },
      };
    });
    saveAcks(ctx, tag, r.ws, { tFault, newPrimaryAt, streamingAt, run, kill, replaced, takeover });
    const res = run?.result;
    const tl = res?.timeline ?? {};
    const ok =
      res?.outcome === 'failed-over' &&
      newPrimaryAt !== undefined &&
      streamingAt !== undefined &&
      (!ctx.killWorker || kill !== undefined);
    return {
      kind: 'failover',
      round: i,
      ok,
      error: ok
        ? undefined
        : `outcome ${String(res?.outcome)}, new primary ${newPrimaryAt ? 'recorded' : 'never recorded'}, ` +
          `${victim} ${streamingAt ? 'streams' : 'never streamed again'}` +
          `${ctx.killWorker && !kill ? ', no worker was killed' : ''}`,
      from: victim,
      to: res?.newPrimary,
      writers: await figures(r.ws, tFault, r.cli.tExit, true),
      parts: {
        'detection: fault -> monitor starts failover': run ? run.startTime - tFault : undefined,
        'fault -> confirmed down': tl.confirmedDown !== undefined ? tl.confirmedDown - tFault : undefined,
        'fault -> etcd names the new primary': newPrimaryAt !== undefined ? newPrimaryAt - tFault : undefined,
        ...(ctx.killWorker
          ? {
              'failover started -> worker(s) killed': kill ? kill.killedAt - kill.failoverStartedAt : undefined,
              'kill -> etcd names the new primary':
                kill && newPrimaryAt !== undefined ? newPrimaryAt - kill.killedAt : undefined,
              'kill -> another worker takes up the failover': takeover?.firstWorkAfterKillMs,
              "kill -> dead worker's activity runs again": takeover?.retriedActivities.find((a) =>
                /died|timeout/i.test(a.failure),
              )?.retriedAfterKillMs,
              'workflow task timeouts after the kill (total wait)': takeover
                ? takeover.workflowTaskTimeouts.reduce((t, w) => t + w.waitedMs, 0)
                : undefined,
              'longest workflow task of the failover': takeover?.longestWorkflowTaskMs,
              'kill -> another worker process polls':
                kill && replaced.polls !== undefined ? replaced.polls - kill.killedAt : undefined,
              'kill -> a new standby process is loaded':
                kill && replaced.standby !== undefined ? replaced.standby - kill.killedAt : undefined,
            }
          : {}),
        'workflow outageWindowMs (started -> metadata)': res?.outageWindowMs,
        'fault -> killed member streams again': streamingAt !== undefined ? streamingAt - tFault : undefined,
      },
      load: loadavg(),
    };
  } finally {
    await connection.close();
  }
}
