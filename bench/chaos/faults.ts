/**
 * The faults a chaos round injects, one per round. Faults that take a group's primary away also do
 * what an operator (later the monitor) does at once: run `citusctl failover <group>`. Everything
 * else is left to the generic repair (repair.ts).
 */
import { COORDINATOR } from '../lib/cluster';
import { etcdPrimaries } from '../lib/etcd';
import { observeGroup } from '../lib/health';
import { disconnectMember, reconnectMember } from '../lib/network';
import { now, sleep } from '../lib/util';
import { describeBreakdown, killWorkersMidFailover, takeoverBreakdown, waitForRun } from '../lib/worker-kill';
import type { RoundContext } from './round-context';

export const FAULT_KINDS = [
  'kill-worker-primary',
  'pause-worker-primary',
  'kill-standby',
  'kill-coordinator-primary',
  'stop-etcd',
  'kill-orchestrator',
  'remove-member',
  'partition-worker-primary',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultRecord {
  kind: FaultKind;
  /** What was hit, e.g. "g1-a (primary of g1)". */
  target: string;
  tFault: number;
  /** When the fault itself was over (container unpaused, etcd started again, CLI finished). */
  tFaultEnd: number;
  notes: string[];
}

const ORCHESTRATOR_STEPS = ['confirm-down', 'fence', 'promote', 'metadata', 'record', 'rejoin'] as const;
const ETCD_STOP_MS = 20_000;

async function primaryOf(ctx: RoundContext, group: string): Promise<string> {
  const v = await observeGroup(ctx.cluster, group);
  if (v.writable.length !== 1 || !v.writable[0])
    throw new Error(`${group} has ${v.writable.length} writable members before the fault`);
  return v.writable[0];
}

async function killAndFailover(ctx: RoundContext, kind: FaultKind, group: string): Promise<FaultRecord> {
  const victim = await primaryOf(ctx, group);
  const tFault = now();
  await ctx.docker(['kill', ctx.cluster.containerOf(victim)]);
  if (ctx.mode === 'commands') await ctx.run(['failover', group]);
  return { kind, target: `${victim} (primary of ${group})`, tFault, tFaultEnd: now(), notes: [] };
}

async function pauseWorkerPrimary(ctx: RoundContext): Promise<FaultRecord> {
  const group = ctx.rng.pick(ctx.cluster.spec.workers);
  const victim = await primaryOf(ctx, group);
  const pauseMs = ctx.rng.int(3000, 6000);
  const container = ctx.cluster.containerOf(victim);
  if (ctx.mode === 'monitor') {
    // The monitor sees a primary that hangs for seconds: it may fail over; unpaused, the old one must not write.
    const tFault = now();
    await ctx.docker(['pause', container]);
    await sleep(pauseMs);
    await ctx.docker(['unpause', container]).catch(() => undefined);
    return {
      kind: 'pause-worker-primary',
      target: `${victim} (primary of ${group})`,
      tFault,
      tFaultEnd: now(),
      notes: [`paused ${pauseMs} ms`],
    };
  }
  // As an operator (or a monitor) who sees the primary hang would: fail over. The freeze starts once
  // the workflow holds the group lock, so its probes meet a frozen primary; it lasts pauseMs.
  const failover = ctx.start(['failover', group]);
  await Promise.race([failover.waitForLine(/^\S+ lock\s+running/), failover.done]);
  const tFault = now();
  await ctx.docker(['pause', container]);
  await sleep(pauseMs);
  const state = await ctx.cluster.containerState(victim);
  const notes = [`paused ${pauseMs} ms once the failover held the lock; state at unpause time: ${state}`];
  if (state === 'paused') await ctx.docker(['unpause', container]).catch(() => undefined);
  await failover.done;
  return { kind: 'pause-worker-primary', target: `${victim} (primary of ${group})`, tFault, tFaultEnd: now(), notes };
}

async function killStandby(ctx: RoundContext): Promise<FaultRecord> {
  const group = ctx.rng.pick(ctx.cluster.groups());
  const primary = await primaryOf(ctx, group);
  const standbys = ctx.cluster.members(group).filter((m) => m.name !== primary);
  const victim = ctx.rng.pick(standbys).name;
  const tFault = now();
  await ctx.docker(['kill', ctx.cluster.containerOf(victim)]);
  return { kind: 'kill-standby', target: `${victim} (standby of ${group})`, tFault, tFaultEnd: now(), notes: [] };
}

async function stopEtcd(ctx: RoundContext): Promise<FaultRecord> {
  const container = ctx.cluster.containerOf('etcd');
  const tFault = now();
  await ctx.docker(['stop', '-t', '0', container]);
  await sleep(ETCD_STOP_MS);
  await ctx.docker(['start', container]);
  return { kind: 'stop-etcd', target: `etcd (${ETCD_STOP_MS / 1000} s)`, tFault, tFaultEnd: now(), notes: [] };
}

/**
 * Kills a worker primary, starts `citusctl failover`, kills that CLI (and its in-process worker) at
 * a chosen step, reruns it. With the monitor repairing: kills the worker process of the supervised
 * worker that runs the monitor's failover, as soon as the monitor has started it, as
 * bench/auto-failover's KILL_WORKER=failover does (bench/lib/worker-kill.ts); the standby worker
 * process takes over and the workflow resumes.
 */
async function killOrchestrator(ctx: RoundContext): Promise<FaultRecord> {
  if (ctx.mode === 'monitor') return killSupervisedWorker(ctx);
  const group = ctx.rng.pick(ctx.cluster.spec.workers);
  const step = ctx.rng.pick(ORCHESTRATOR_STEPS);
  const extraMs = ctx.rng.int(0, 300);
  const victim = await primaryOf(ctx, group);
  const tFault = now();
  await ctx.docker(['kill', ctx.cluster.containerOf(victim)]);
  const first = ctx.start(['failover', group]);
  // The CLI polls progress every 250 ms, so a short step may never show: the first line of this
  // step or of a later one (running or done) is the moment to kill.
  const later = ORCHESTRATOR_STEPS.slice(ORCHESTRATOR_STEPS.indexOf(step)).join('|');
  const seen = await Promise.race([
    first.waitForLine(new RegExp(`^\\S+ (${later})\\s+(running|done)`)),
    first.done.then(() => undefined),
  ]);
  const notes: string[] = [];
  if (seen !== undefined) {
    await sleep(extraMs);
    first.kill('SIGKILL');
    notes.push(`CLI (pid ${String(first.child.pid)}) killed ${extraMs} ms after "${seen.replace(/\s+/g, ' ').trim()}"`);
  } else {
    notes.push(`the CLI ended before step ${step} ran; nothing to kill`);
  }
  ctx.log(notes[0] ?? '');
  await first.done;
  await ctx.run(['failover', group]);
  return {
    kind: 'kill-orchestrator',
    target: `CLI at ${step} (failover of ${group}, ${victim} killed)`,
    tFault,
    tFaultEnd: now(),
    notes,
  };
}

async function killSupervisedWorker(ctx: RoundContext): Promise<FaultRecord> {
  const group = ctx.rng.pick(ctx.cluster.spec.workers);
  const victim = await primaryOf(ctx, group);
  const tFault = now();
  await ctx.docker(['kill', ctx.cluster.containerOf(victim)]);
  const notes: string[] = [];
  const id = `failover-${ctx.cluster.name}-${group}`;
  if (!ctx.temporal) throw new Error('kill-orchestrator with the monitor repairing needs the Temporal client');
  const kill = await killWorkersMidFailover({
    client: ctx.temporal,
    stateDir: ctx.cluster.stateDir,
    workflowId: id,
    since: tFault - 1000,
    target: 'failover',
  });
  notes.push(kill.note);
  ctx.log(kill.note);
  const tFaultEnd = now();
  if ('killed' in kill) {
    // Where the seconds after the kill went, once the failover has ended (the round's repair waits for it anyway).
    await waitFor(120_000, async () => ((await ctx.describeWorkflow(id))?.status === 'RUNNING' ? undefined : true));
    const breakdown = await takeoverBreakdown(ctx.temporal, id, kill).catch(() => undefined);
    if (breakdown) {
      notes.push(describeBreakdown(breakdown));
      ctx.log(describeBreakdown(breakdown));
    }
  } else if (!(await waitForRun(ctx.temporal, id, tFault - 1000, 1))) {
    notes.push(`the monitor started no failover of ${group}`);
  }
  return {
    kind: 'kill-orchestrator',
    target: `supervised worker (failover of ${group}, ${victim} killed)`,
    tFault,
    tFaultEnd,
    notes,
  };
}

async function waitFor<T>(timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T | undefined> {
  const until = now() + timeoutMs;
  while (now() < until) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    await sleep(100);
  }
  return undefined;
}

async function removeMember(ctx: RoundContext): Promise<FaultRecord> {
  const group = ctx.rng.pick(ctx.cluster.groups());
  const primary = await primaryOf(ctx, group);
  const victim = ctx.rng.pick(ctx.cluster.members(group)).name;
  const isPrimary = victim === primary;
  const tFault = now();
  await ctx.docker(['rm', '-f', ctx.cluster.containerOf(victim)]);
  if (isPrimary && ctx.mode === 'commands') await ctx.run(['failover', group]);
  return {
    kind: 'remove-member',
    target: `${victim} (${isPrimary ? 'primary' : 'standby'} of ${group})`,
    tFault,
    tFaultEnd: now(),
    notes: [],
  };
}

/**
 * How long a partitioned primary stays cut off: until another member is recorded primary (+ a little), at most this.
 */
const PARTITION_MAX_MS = 30_000;
const PARTITION_AFTER_PROMOTION_MS = 2000;

/**
 * `docker network disconnect` of a worker primary: its container runs, PostgreSQL stays alive,
 * nothing reaches it. As an operator would, a command-mode round runs `citusctl failover` at once;
 * with the monitor, nobody does. Reconnected (with its alias) once etcd names another primary, or after
 * PARTITION_MAX_MS: the split-brain watcher then sees whether the old primary takes writes again.
 */
async function partitionWorkerPrimary(ctx: RoundContext): Promise<FaultRecord> {
  const group = ctx.rng.pick(ctx.cluster.spec.workers);
  const victim = await primaryOf(ctx, group);
  const notes: string[] = [];
  const tFault = now();
  ctx.log(`docker network disconnect ${ctx.cluster.containerOf(victim)}`);
  await disconnectMember(ctx.cluster, victim);
  // Not awaited before the reconnect: the failover's last step (the old primary's rejoin) cannot
  // succeed while it is cut off, and retries until it can.
  const failover = ctx.mode === 'commands' ? ctx.start(['failover', group]) : undefined;
  try {
    const promoted = await waitFor(PARTITION_MAX_MS, async () => {
      const p = await etcdPrimaries(ctx.cluster);
      return p[group] && p[group] !== victim ? p[group] : undefined;
    });
    notes.push(
      promoted
        ? `${promoted} recorded primary ${Math.round(now() - tFault)} ms after the disconnect; ${victim}'s ` +
            `container ${await ctx.cluster.containerState(victim)} then`
        : `no other primary recorded within ${PARTITION_MAX_MS} ms`,
    );
    if (promoted) await sleep(PARTITION_AFTER_PROMOTION_MS);
  } finally {
    ctx.log(`docker network connect --alias ${victim} ${ctx.cluster.containerOf(victim)}`);
    await reconnectMember(ctx.cluster, victim);
  }
  await failover?.done;
  return {
    kind: 'partition-worker-primary',
    target: `${victim} (primary of ${group})`,
    tFault,
    tFaultEnd: now(),
    notes,
  };
}

export function inject(ctx: RoundContext, kind: FaultKind): Promise<FaultRecord> {
  switch (kind) {
    case 'kill-worker-primary':
      return killAndFailover(ctx, kind, ctx.rng.pick(ctx.cluster.spec.workers));
    case 'kill-coordinator-primary':
      return killAndFailover(ctx, kind, COORDINATOR);
    case 'pause-worker-primary':
      return pauseWorkerPrimary(ctx);
    case 'kill-standby':
      return killStandby(ctx);
    case 'stop-etcd':
      return stopEtcd(ctx);
    case 'kill-orchestrator':
      return killOrchestrator(ctx);
    case 'remove-member':
      return removeMember(ctx);
    case 'partition-worker-primary':
      return partitionWorkerPrimary(ctx);
  }
}
