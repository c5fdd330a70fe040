/**
 * Killing the controller mid-failover, for bench/auto-failover (KILL_WORKER=…) and bench/chaos
 * (kill-orchestrator with the monitor repairing): wait until the monitor has started the group's
 * failover workflow, then SIGKILL worker processes of the supervised worker, by pid:
 *   'failover'  the worker process that runs the failover: the one whose identity holds its
 *               current activity, else the one that ran its last workflow task (a crash of the
 *               process doing the work; what a second worker process is there for);
 *   'all'       every worker process the supervisor runs (a crash that takes all of them: the
 *               supervisor's restart is on the path).
 * Then, from the failover's own history, where the seconds went (takeoverBreakdown).
 */
import type { Client } from '@temporalio/client';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { now, sleep } from './util';

export const KILL_TARGETS = ['failover', 'all'] as const;
export type KillTarget = (typeof KILL_TARGETS)[number];

export function killTarget(v: string | undefined): KillTarget | undefined {
  if (v === undefined || v === '' || v === 'none') return undefined;
  if (!(KILL_TARGETS as readonly string[]).includes(v))
    throw new Error(`KILL_WORKER must be one of ${KILL_TARGETS.join(', ')} (or none): ${v}`);
  return v as KillTarget;
}

const IDENTITY = /^citusctl-worker@(\d+)$/;
export const pidOfIdentity = (identity: string | null | undefined): number | undefined => {
  const m = IDENTITY.exec(identity ?? '');
  return m ? Number(m[1]) : undefined;
};

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The supervisor's pid from `<state>/worker/supervisor.json`, while it runs. */
export function supervisorPid(stateDir: string): number | undefined {
  try {
    const pid = (
      JSON.parse(fs.readFileSync(path.join(stateDir, 'worker', 'supervisor.json'), 'utf8')) as { pid?: number }
    ).pid;
    return pid && alive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The supervisor's child processes (its worker processes), from /proc. */
export function workerPids(stateDir: string): number[] {
  const sup = supervisorPid(stateDir);
  if (!sup) return [];
  try {
    const tasks = fs.readdirSync(`/proc/${sup}/task`);
    const kids = tasks.flatMap((t) =>
      fs.readFileSync(`/proc/${sup}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    );
    return [...new Set(kids)].filter(alive).sort((a, b) => a - b);
  } catch {
    return [];
  }
}

export interface FailoverRunRef {
  runId: string;
  startTime: number;
}

/** The first run of the workflow that started at or after `since`. */
export async function waitForRun(
  client: Client,
  workflowId: string,
  since: number,
  timeoutMs: number,
): Promise<FailoverRunRef | undefined> {
  const until = now() + timeoutMs;
  while (now() < until) {
    const d = await client.workflow
      .getHandle(workflowId)
      .describe()
      .catch(() => undefined);
    if (d && d.startTime.getTime() >= since) return { runId: d.runId, startTime: d.startTime.getTime() };
    await sleep(50);
  }
  return undefined;
}

type HistoryEvent = NonNullable<
  Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>['events']
>[number];
const eventMs = (e: HistoryEvent): number => {
  const t = e.eventTime;
  return t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0;
};

/** The pid of the worker that holds the failover: its running activity's worker, else its last workflow task's. */
async function pidRunningFailover(client: Client, workflowId: string, runId: string): Promise<number | undefined> {
  const handle = client.workflow.getHandle(workflowId, runId);
  const d = await handle.describe();
  for (const a of d.raw.pendingActivities ?? []) {
    const pid = pidOfIdentity(a.lastWorkerIdentity);
    if (pid && alive(pid)) return pid;
  }
  const events = (await handle.fetchHistory()).events ?? [];
  for (let i = events.length - 1; i >= 0; i--) {
    const pid = pidOfIdentity(events[i]?.workflowTaskStartedEventAttributes?.identity);
    if (pid) return pid;
  }
  return undefined;
}

export interface KillReport {
  target: KillTarget;
  runId: string;
  /** When the monitor's failover workflow started (server clock, the same host). */
  failoverStartedAt: number;
  killedAt: number;
  killed: number[];
  /** Worker processes running right before the kill. */
  before: number[];
  note: string;
}

/**
 * Waits for the failover run that started after `since`, picks the victims and SIGKILLs them.
 * Undefined with a reason when there was nothing to kill.
 */
export async function killWorkersMidFailover(opts: {
  client: Client;
  stateDir: string;
  workflowId: string;
  since: number;
  target: KillTarget;
  timeoutMs?: number;
}): Promise<KillReport | { note: string }> {
  const run = await waitForRun(opts.client, opts.workflowId, opts.since, opts.timeoutMs ?? 20_000);
  if (!run)
    return { note: `no run of ${opts.workflowId} started within ${Math.round((opts.timeoutMs ?? 20_000) / 1000)} s` };
  const before = workerPids(opts.stateDir);
  let victims: number[];
  if (opts.target === 'all') {
    victims = before;
  } else {
    let pid: number | undefined;
    const until = now() + 5_000;
    while (!pid && now() < until) {
      pid = await pidRunningFailover(opts.client, opts.workflowId, run.runId).catch(() => undefined);
      if (!pid) await sleep(20);
    }
    victims = pid ? [pid] : [];
  }
  if (!victims.length)
    return { note: `no worker process to kill (supervisor children: ${before.join(', ') || 'none'})` };
  for (const pid of victims) process.kill(pid, 'SIGKILL');
  const killedAt = now();
  return {
    target: opts.target,
    runId: run.runId,
    failoverStartedAt: run.startTime,
    killedAt,
    killed: victims,
    before,
    note:
      `SIGKILL ${victims.join(', ')} ` +
      `(${opts.target === 'all' ? 'every worker process' : 'the worker running the failover'}; of ` +
      `${before.join(', ')}) ${Math.round(killedAt - run.startTime)} ms after ${opts.workflowId} started`,
  };
}

/** Pids of the worker processes that poll now: the records they write once polling (`<state>/worker/worker*.json`). */
export function pollingWorkerPids(stateDir: string): number[] {
  const dir = path.join(stateDir, 'worker');
  try {
    return fs
      .readdirSync(dir)
      .filter((f) => /^worker.*\.json$/.test(f))
      .map((f) => {
        try {
          return (JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { pid?: number }).pid;
        } catch {
          return undefined;
        }
      })
      .filter((p): p is number => !!p && alive(p));
  } catch {
    return [];
  }
}

/** The supervisor's standby worker process (loaded, not polling), from supervisor.json. */
export function standbyPid(stateDir: string): number | undefined {
  try {
    const pid = (
      JSON.parse(fs.readFileSync(path.join(stateDir, 'worker', 'supervisor.json'), 'utf8')) as { standbyPid?: number }
    ).standbyPid;
    return pid && alive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * When the killed worker was replaced: another process polls (`polls`),
 * and a new standby is loaded (`standby`, with a standby supervisor).
 */
export async function waitForReplacement(
  stateDir: string,
  report: KillReport,
  timeoutMs = 60_000,
): Promise<{ polls?: number; standby?: number }> {
  const out: { polls?: number; standby?: number } = {};
  const until = now() + timeoutMs;
  while (now() < until && (out.polls === undefined || out.standby === undefined)) {
    if (out.polls === undefined && pollingWorkerPids(stateDir).some((p) => !report.killed.includes(p)))
      out.polls = now();
    const s = standbyPid(stateDir);
    if (out.standby === undefined && s && !report.before.includes(s)) out.standby = now();
    await sleep(50);
  }
  return out;
}

/**
 * Where the seconds after the kill went, read from the failover's history (event times are the server's, same host).
 */
export interface TakeoverBreakdown {
  /** Kill -> the first workflow task or activity another worker process started. */
  firstWorkAfterKillMs?: number;
  /** Identities of the workers that took over. */
  takenOverBy: string[];
  /** Activities that were running on a killed worker: name, how they ended there (last failure), kill -> retried. */
  retriedActivities: { name: string; attempt: number; failure: string; retriedAfterKillMs: number }[];
  /**
   * Workflow tasks that timed out after the kill: sticky queue
   * (schedule-to-start) or in flight (start-to-close), with their wait.
   */
  workflowTaskTimeouts: { type: string; waitedMs: number }[];
  /**
   * The longest workflow task of the run (started -> completed):
   * what a short workflow task timeout must leave room for.
   */
  longestWorkflowTaskMs: number;
}

export async function takeoverBreakdown(
  client: Client,
  workflowId: string,
  report: KillReport,
): Promise<TakeoverBreakdown> {
  const events = (await client.workflow.getHandle(workflowId, report.runId).fetchHistory()).events ?? [];
  const killed = new Set(report.killed.map((p) => `citusctl-worker@${p}`));
  const byId = new Map(events.map((e) => [String(e.eventId), e]));
  const out: TakeoverBreakdown = {
    takenOverBy: [],
    retriedActivities: [],
    workflowTaskTimeouts: [],
    longestWorkflowTaskMs: 0,
  };
  for (const e of events) {
    const completed = e.workflowTaskCompletedEventAttributes;
    const startedTask = completed ? byId.get(String(completed.startedEventId)) : undefined;
    if (startedTask) out.longestWorkflowTaskMs = Math.max(out.longestWorkflowTaskMs, eventMs(e) - eventMs(startedTask));
    const t = eventMs(e);
    if (t < report.killedAt - 50) continue;
    const identity =
      e.workflowTaskStartedEventAttributes?.identity ?? e.activityTaskStartedEventAttributes?.identity ?? undefined;
    if (identity && !killed.has(identity)) {
      out.firstWorkAfterKillMs ??= t - report.killedAt;
      if (!out.takenOverBy.includes(identity)) out.takenOverBy.push(identity);
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started && (started.attempt ?? 1) > 1) {
      const scheduled = byId.get(String(started.scheduledEventId))?.activityTaskScheduledEventAttributes;
      out.retriedActivities.push({
        name: scheduled?.activityType?.name ?? '?',
        attempt: started.attempt ?? 0,
        failure: started.lastFailure?.message ?? '?',
        retriedAfterKillMs: t - report.killedAt,
      });
    }
    const timedOut = e.workflowTaskTimedOutEventAttributes;
    if (timedOut) {
      const scheduled = byId.get(String(timedOut.scheduledEventId));
      const type =
        timedOut.timeoutType === 2
          ? 'schedule-to-start (sticky queue)'
          : timedOut.timeoutType === 1
            ? 'start-to-close (task in flight)'
            : `timeout type ${String(timedOut.timeoutType)}`;
      out.workflowTaskTimeouts.push({ type, waitedMs: scheduled ? t - eventMs(scheduled) : NaN });
    }
  }
  return out;
}

export const describeBreakdown = (b: TakeoverBreakdown): string =>
  [
    'first work by another worker ' +
      `${b.firstWorkAfterKillMs === undefined ? 'n/a' : `${Math.round(b.firstWorkAfterKillMs)} ms`} after the ` +
      `kill (${b.takenOverBy.join(', ') || 'nobody'})`,
    ...b.retriedActivities.map(
      (a) =>
        `activity ${a.name} attempt ${a.attempt} started ${Math.round(a.retriedAfterKillMs)} ms after the kill ` +
        `(before: ${a.failure})`,
    ),
    ...b.workflowTaskTimeouts.map((w) => `workflow task timed out: ${w.type} after ${Math.round(w.waitedMs)} ms`),
    `longest workflow task ${Math.round(b.longestWorkflowTaskMs)} ms`,
  ].join('; ');
