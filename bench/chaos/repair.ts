/**
 * Lets the product repair the cluster with the commands it has, level-triggered like a monitor:
 * observe every group, pick the one next command, run it, observe again, until every group is
 * healthy (one writable primary, the one etcd names, every other member streaming from it) or the
 * budget runs out. Commands: `failover <group>` for a group without a writable primary, `up` when a
 * member's container is gone, `rejoin <member>` for a member that is stopped, or that has not been
 * streaming for a while after the last command. With the monitor repairing (CHAOS_REPAIR=monitor)
 * it only watches.
 */
import { etcdPrimaries } from '../lib/etcd';
import { groupProblems, observeGroup, describeGroup, type GroupView } from '../lib/health';
import { now, sleep } from '../lib/util';
import type { RoundContext } from './round-context';

export interface RepairResult {
  repaired: boolean;
  tHealthy?: number;
  /** Commands run, in order, with their outcome. */
  actions: string[];
  /** Why it is not healthy, at the end (empty when repaired). */
  problems: string[];
  /** Members that were not streaming 60 s after the last repair command ended. */
  streamingLate: string[];
  /** Split brains seen while observing (group: members). */
  splitBrains: string[];
  etcd?: Record<string, string | undefined>;
  views: GroupView[];
}

/** Grace before a running, in-recovery member that does not stream is rejoined. */
const REJOIN_GRACE_MS = 20_000;
/** Grace before a running member that does not answer at all is rejoined. */
const SILENT_GRACE_MS = 10_000;
export const STREAMING_DEADLINE_MS = 60_000;
const MAX_RUNS_PER_COMMAND = 3;

export async function repair(ctx: RoundContext, budgetMs: number, since: number): Promise<RepairResult> {
  const { cluster } = ctx;
  const deadline = now() + budgetMs;
  const actions: string[] = [];
  const splitBrains = new Set<string>();
  const streamingLate = new Set<string>();
  const runs = new Map<string, number>();
  let lastActionEnd = since;
  let lastProblems: string | undefined;
  for (;;) {
    const views = await Promise.all(cluster.groups().map((g) => observeGroup(cluster, g)));
    const etcd = await etcdPrimaries(cluster).catch(() => undefined);
    for (const v of views) if (v.writable.length > 1) splitBrains.add(`${v.group}: ${v.writable.join(', ')}`);
    const problems = views.flatMap((v) => groupProblems(v, etcd?.[v.group]));
    if (!etcd) problems.push('etcd does not answer');
    if (problems.join('; ') !== lastProblems) {
      lastProblems = problems.join('; ');
      ctx.log(
        problems.length
          ? `not healthy: ${lastProblems} [${views.map(describeGroup).join(' | ')}]`
          : `healthy [${views.map(describeGroup).join(' | ')}]`,
      );
    }
    if (!problems.length)
      return {
        repaired: true,
        tHealthy: now(),
        actions,
        problems,
        streamingLate: [...streamingLate],
        splitBrains: [...splitBrains],
        etcd,
        views,
      };
    if (now() > deadline)
      return {
        repaired: false,
        actions,
        problems,
        streamingLate: [...streamingLate],
        splitBrains: [...splitBrains],
        etcd,
        views,
      };

    const sinceAction = now() - lastActionEnd;
    const notStreaming = views.flatMap((v) =>
      v.writable.length === 1 ? v.members.filter((m) => m.name !== v.writable[0] && !v.streaming.includes(m.name)) : [],
    );
    if (sinceAction > STREAMING_DEADLINE_MS) for (const m of notStreaming) streamingLate.add(m.name);

    if (ctx.mode === 'monitor') {
      await sleep(1000); // the monitor repairs: only watch
      continue;
    }
    let command: string[] | undefined;
    const headless = views.find((v) => v.writable.length === 0);
    if (etcd && headless) command = ['failover', headless.group];
    else if (views.some((v) => v.members.some((m) => m.container === 'missing'))) command = ['up', '--no-monitor'];
    else {
      const stopped = notStreaming.find((m) => m.container !== 'running' && m.container !== 'paused');
      // A running member that does not answer (e.g. fenced, waiting
      // for a rejoin) gets a shorter grace than one that replays.
      const silent = notStreaming.find((m) => m.container === 'running' && m.role === 'down');
      const lagging = notStreaming.find((m) => m.container === 'running');
      if (stopped) command = ['rejoin', stopped.name];
      else if (silent && sinceAction > SILENT_GRACE_MS) command = ['rejoin', silent.name];
      else if (lagging && sinceAction > REJOIN_GRACE_MS) command = ['rejoin', lagging.name];
    }
    const key = command?.join(' ');
    if (command && key && (runs.get(key) ?? 0) < MAX_RUNS_PER_COMMAND) {
      runs.set(key, (runs.get(key) ?? 0) + 1);
      const r = await ctx.run(command);
      lastActionEnd = now();
      const res = r.doc.result ?? {};
      const outcome = typeof res.outcome === 'string' ? res.outcome : 'ok';
      actions.push(`${key}: ${r.doc.ok ? outcome : `FAILED (${String(r.doc.error ?? r.code)})`}`);
    } else {
      await sleep(1000);
    }
  }
}
