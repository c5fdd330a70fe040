/**
 * A failover on several hosts whose old primary's host does not answer: its worker took no fence
 * within the host queue's schedule-to-start timeout. Nobody can `docker kill` that primary, so it
 * counts as fenced only when the host's own self-fence (common/self-fence.ts) has surely stopped it:
 * the host's peers have not reached it, continuously, for at least the self-fence deadline.
 *
 * The arithmetic. The host's self-fence loop last reached etcd (and its peers) at `lastOk`, no later
 * than the fault; the peers first saw it gone at `lostSince`, no earlier than the fault. Its stop is
 * done by lastOk + fenceAfterMs + one round + stopBudgetMs = lastOk + SELF_FENCE_WINDOW_MS
 * (self-fence.ts), hence by lostSince + SELF_FENCE_WINDOW_MS. A margin covers the two clocks' rates
 * and a slow round. Only durations on one clock (the workflow's) are compared.
 *
 * A host its peers still reach is not cut off: its worker is down, not the host, so its self-fence
 * never fires and its primary may still serve: refused (the failover changes nothing). Pure and
 * table-tested (test/unit/host-silence.test.ts); safe in workflows.
 */
import { SELF_FENCE_TIMINGS, SELF_FENCE_WINDOW_MS, fenceAfterMs, type SelfFenceTimings } from './self-fence';

/** The peers' word on a host: cut (some answered, none reached it), reached (one did), unknown (none asked). */
export type HostReachVerdict = 'cut' | 'reached' | 'unknown';

export interface HostReach {
  host: string;
  verdict: HostReachVerdict;
  /**
   * When the observation was made (epoch ms). The failover stamps it with its own clock when the
   * answer came: a cut seen by then was there by then.
   */
  at: number;
  detail: string;
}

/**
 * About how long a look at the host's peers takes when it is lost (their check's 1 s timeout,
 * activities/monitor/monitor-peer-view.ts, and the round trips): the next look starts this much
 * before the deadline, so its answer, stamped when it comes, lands at about the deadline.
 */
export const HOST_LOOK_LEAD_MS = 1000;

/** When to start the next look while the decision says wait `waitMs` (looks at least 200 ms apart). */
export const nextLookInMs = (waitMs: number): number => Math.min(waitMs, Math.max(200, waitMs - HOST_LOOK_LEAD_MS));

/** Past the self-fence deadline by this much before a silent host's primary counts as fenced. */
export const HOST_SILENCE_MARGIN_MS = 400;

/** How long after its peers lost a host its self-fence has surely stopped its primaries. */
export function selfFenceDoneAfterMs(
  loop: SelfFenceTimings = SELF_FENCE_TIMINGS,
  windowMs: number = SELF_FENCE_WINDOW_MS,
): number {
  return fenceAfterMs(loop, windowMs) + loop.probeIntervalMs + loop.probeTimeoutMs + loop.stopBudgetMs;
}

/**
 * How long after its peers lost a host its self-fence has surely decided to stop its primaries (the
 * round that saw the deadline has ended; the stop itself follows within stopBudgetMs, through the
 * host's own engine, whatever the network does next).
 */
export function selfFenceDecidedAfterMs(
  loop: SelfFenceTimings = SELF_FENCE_TIMINGS,
  windowMs: number = SELF_FENCE_WINDOW_MS,
): number {
  return fenceAfterMs(loop, windowMs) + loop.probeIntervalMs + loop.probeTimeoutMs;
}

/** How long a look must have seen the host lost for the fence to count on it: the decision's time plus the margin. */
export const lookDecidesAfterMs = (): number => selfFenceDecidedAfterMs() + HOST_SILENCE_MARGIN_MS;

export interface HostSilenceInput {
  /** The latest observation of the host by its peers. */
  reach: HostReach;
  /** Start of the run of `cut` observations the latest belongs to (undefined: the latest is not cut). */
  lostSince: number | undefined;
  now: number;
  /** selfFenceDoneAfterMs() plus HOST_SILENCE_MARGIN_MS unless a test says otherwise. */
  fencedAfterMs: number;
  /**
   * selfFenceDecidedAfterMs() plus the margin: once a look has seen the host lost this long, its
   * loop has decided to stop its primaries, and the rest is only waiting for fencedAfterMs (no look
   * must end after it). Unset (failovers recorded before): every wait looks again.
   */
  decidedAfterMs?: number;
}

export type HostSilenceDecision =
  | { action: 'fenced'; reason: string }
  | { action: 'wait'; waitMs: number; lookAgain: boolean; reason: string }
  | { action: 'refuse'; reason: string };

/** Start of the run of cut observations: kept while every observation says cut, ended by any other. */
export function foldHostLoss(prev: number | undefined, reach: HostReach): number | undefined {
  if (reach.verdict !== 'cut') return undefined;
  return prev === undefined ? reach.at : Math.min(prev, reach.at);
}

/** Whether the silent host's primary counts as fenced now, later, or never (see the header). */
export function hostSilenceDecision(i: HostSilenceInput): HostSilenceDecision {
  const { host, verdict, detail } = i.reach;
  if (verdict === 'reached')
    return {
      action: 'refuse',
      reason: `host ${host}'s worker does not answer but its peers reach it (${detail}): its self-fence is not running`,
    };
  if (verdict === 'unknown' || i.lostSince === undefined)
    return { action: 'refuse', reason: `nobody can tell whether host ${host} is cut off (${detail})` };
  const lostFor = i.now - i.lostSince;
  const seenFor = i.reach.at - i.lostSince;
  const decided = i.decidedAfterMs === undefined ? lostFor >= i.fencedAfterMs : seenFor >= i.decidedAfterMs;
  if (decided && lostFor >= i.fencedAfterMs)
    return {
      action: 'fenced',
      reason:
        `host ${host} lost by its peers for ${lostFor} ms (>= ${i.fencedAfterMs} ms): ` +
        'its self-fence stopped its primaries',
    };
  if (decided)
    return {
      action: 'wait',
      waitMs: i.fencedAfterMs - lostFor,
      lookAgain: false,
      reason:
        `host ${host} lost by its peers for ${seenFor} ms: ` +
        `its self-fence stops its primaries by ${i.fencedAfterMs} ms`,
    };
  const seenBy = i.decidedAfterMs ?? i.fencedAfterMs;
  return {
    action: 'wait',
    waitMs: Math.max(0, seenBy - lostFor),
    lookAgain: true,
    reason: `host ${host} lost by its peers for ${seenFor} ms; looked at again until ${seenBy} ms`,
  };
}

/**
 * The peers' word on a host from their views of its members (common/peer-view.ts) and whether this
 * machine reached any of its ports: reached when anyone reached anything of it, cut when some peer
 * answered and none did, unknown when nobody could be asked.
 */
export function hostReachVerdict(
  views: ReadonlyArray<{ reached: readonly string[]; cut: readonly string[] }>,
  controllerReached: boolean,
): HostReachVerdict {
  if (controllerReached || views.some((v) => v.reached.length)) return 'reached';
  return views.some((v) => v.cut.length) ? 'cut' : 'unknown';
}

/**
 * Start of the loss from the failover's first look (`reach`, stamped on its clock) and, when the
 * cluster's monitor handed it (common/host-loss.ts), from how long the peers had lost the host
 * before the failover started at `startedAt`: the earlier of the two, both no earlier than the loss.
 */
export function lostSinceWithHint(
  reach: HostReach,
  hint: { lostForMs: number; startedAt: number } | undefined,
): number | undefined {
  const own = foldHostLoss(undefined, reach);
  if (own === undefined || !hint) return own;
  return Math.min(own, hint.startedAt - hint.lostForMs);
}
