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

const REPAIR_BUDGET_MS = 180_000;

export interface AutoContext extends ScenarioContext {
  temporalAddress: string;
}

export interface FailoverRun {
  startTime: number;
  result?: { outcome?: string; newPrimary?: string; outageWindowMs?: number; timeline?: Record<string, number> };
}

/** The latest run of the group's failover workflow that started after `since`, once it closed. */
export async function failoverRunAfter(client: Client, id: string, since: number, until: number): Promise<FailoverRun | undefined> {
  while (now() < until) {
    const d = await client.workflow.getHandle(id).describe().catch(() => undefined);
    if (d && d.startTime.getTime() >= since && d.status.name !== 'RUNNING') {
      const result = d.status.name === 'COMPLETED' ? ((await client.workflow.getHandle(id, d.runId).result()) as FailoverRun['result']) : undefined;
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
  try {
    const r = await withWriters(ctx, group !== 'coordinator', async () => {
      tFault = now();
      await ctx.cluster.docker(['kill', ctx.cluster.containerOf(victim)]);
      const until = tFault + REPAIR_BUDGET_MS;
      // etcd names another member: the monitor's failover promoted it.
      while (now() < until && !newPrimaryAt) {
        const p = await etcdPrimaries(ctx.cluster).catch(() => ({}) as Record<string, string | undefined>);
        if (p[group] && p[group] !== victim) newPrimaryAt = now();
        else await sleep(100);
      }
      run = await failoverRunAfter(client, `failover-${ctx.cluster.name}-${group}`, tFault - 1000, until);
      // The killed member restarted and rejoined by the monitor: it streams from the new primary.
      while (now() < until && !streamingAt) {
        const v = await observeGroup(ctx.cluster, group).catch(() => undefined);
        if (v && v.writable.length === 1 && v.streaming.includes(victim)) streamingAt = now();
        else await sleep(500);
      }
      return { tFault, cli: { args: [], code: 0, signal: null, doc: {}, tSpawn: tFault, tExit: now(), stderr: '', junk: [] } };
    });
    saveAcks(ctx, tag, r.ws, { tFault, newPrimaryAt, streamingAt, run });
    const res = run?.result;
    const tl = res?.timeline ?? {};
    const ok = res?.outcome === 'failed-over' && newPrimaryAt !== undefined && streamingAt !== undefined;
    return {
      kind: 'failover',
      round: i,
      ok,
      error: ok ? undefined : `outcome ${String(res?.outcome)}, new primary ${newPrimaryAt ? 'recorded' : 'never recorded'}, ${victim} ${streamingAt ? 'streams' : 'never streamed again'}`,
      from: victim,
      to: res?.newPrimary,
      writers: await figures(r.ws, tFault, r.cli.tExit, true),
      parts: {
        'detection: fault -> monitor starts failover': run ? run.startTime - tFault : undefined,
        'fault -> confirmed down': tl.confirmedDown !== undefined ? tl.confirmedDown - tFault : undefined,
        'fault -> etcd names the new primary': newPrimaryAt !== undefined ? newPrimaryAt - tFault : undefined,
        'workflow outageWindowMs (started -> metadata)': res?.outageWindowMs,
        'fault -> killed member streams again': streamingAt !== undefined ? streamingAt - tFault : undefined,
      },
      load: loadavg(),
    };
  } finally {
    await connection.close();
  }
}
