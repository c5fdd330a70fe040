/**
 * The failover's look at, and fence of, an old primary on several hosts. Both run on the member's
 * host queue (its engine is there). A host whose worker takes neither within the schedule-to-start
 * timeout does not answer: the look falls back to SQL from the shared queue, and the fence counts
 * as done only once the host's peers have lost it for the self-fence deadline (common/host-silence.ts);
 * while they still reach it, the fence is refused and nothing was changed.
 */
import { ApplicationFailure, patched, sleep } from '@temporalio/workflow';
import { hostOfContainer } from '../common/addressing';
import { ErrorTypes } from '../common/error-types';
import type { ProbeResult } from '../common/failover-decisions';
import {
  HOST_SILENCE_MARGIN_MS,
  foldHostLoss,
  hostSilenceDecision,
  lostSinceWithHint,
  nextLookInMs,
  lookDecidesAfterMs,
  selfFenceDoneAfterMs,
  type HostReach,
} from '../common/host-silence';
import { SHORT_WAIT_MAX_MS } from '../common/short-wait';
import type { ClusterSpec } from '../common/spec';
import { critical } from './activity-proxies';
import { forContainer, neverStarted } from './host-routing';

/** Patch: a look that saw the host lost until its self-fence decided ends the looking (common/host-silence.ts). */
const DECIDED_FENCE = 'host-fence-decided';

/**
 * Patch: the waits for the self-fence deadline run in a worker (activities/failover/short-wait.ts):
 * a workflow timer fires up to a second late, which made a lost host's fence wait 1 s for 100 ms.
 */
const PRECISE_WAITS = 'host-fence-precise-waits';

/** Waits `ms`: in a worker when short (failovers since the patch), else on a workflow timer. */
function waitFor(ms: number): Promise<void> {
  if (!patched(PRECISE_WAITS) || ms > SHORT_WAIT_MAX_MS) return sleep(ms);
  return ms > 0 ? critical.shortWait({ ms: Math.ceil(ms) }) : Promise.resolve();
}

export interface HostProbe {
  probes: ProbeResult[];
  /** The member's host took no step in time. */
  hostSilent: boolean;
  /** Its peers' word on the host meanwhile (`at`: when it came, on the workflow's clock). */
  reach?: HostReach;
}

/** The peers' word on the host, stamped when it came (the cut, if any, was there by then). */
async function observeReach(spec: ClusterSpec, host: string): Promise<HostReach> {
  const r = await critical.observeHostReach({ spec, host });
  return { ...r, at: Date.now() };
}

/**
 * Three probes of the member on its host's engine and SQL; SQL only from here when its host does not
 * answer. Beside them, from the shared queue, the same probes by SQL alone and the peers' word on
 * the host: a silent host costs the schedule-to-start timeout once, not that and then the rest.
 * `lostByMonitor` (the cluster's monitor found the host lost): its queue is not tried at all.
 */
export async function probeOnItsHost(
  spec: ClusterSpec,
  member: string,
  lostByMonitor = false,
  /** Ask the peers this much later (an early look: so that their answer comes once the loss is old enough). */
  reachAfterMs = 0,
): Promise<HostProbe> {
  // Told by the monitor, whose own probes failed for seconds: one more by SQL confirms (a failed one costs 1 s).
  const probe = { spec, member, probes: lostByMonitor ? 1 : 3, intervalMs: 200 };
  const host = hostOfContainer(spec, member).name;
  const [onHost, bySql, reach] = await Promise.allSettled([
    lostByMonitor ? Promise.resolve(undefined) : forContainer(spec, member).critical.probeMember(probe),
    critical.probeMember({ ...probe, engine: false }),
    reachAfterMs > 0 ? waitFor(reachAfterMs).then(() => observeReach(spec, host)) : observeReach(spec, host),
  ]);
  if (onHost.status === 'fulfilled' && onHost.value) return { probes: onHost.value, hostSilent: false };
  if (onHost.status === 'rejected' && !neverStarted(onHost.reason)) throw onHost.reason;
  if (bySql.status === 'rejected') throw bySql.reason;
  return {
    probes: [
      { ok: false, detail: `host ${host} ${lostByMonitor ? 'lost (the monitor)' : 'does not answer'}` },
      ...bySql.value,
    ],
    hostSilent: true,
    ...(reach.status === 'fulfilled' ? { reach: reach.value } : {}),
  };
}

export interface HostFence {
  /** stopped: by its host's engine; self-fenced: its host is lost and its own loop stopped it. */
  how: 'stopped' | 'self-fenced';
  detail: string;
}

/**
 * Fences the member on its host; when that host does not answer (or did not, `hostSilent`), waits
 * until its self-fence has surely stopped it (or refuses: non-retryable Refused, nothing changed)
 * and records the fence in etcd.
 */
export async function fenceOnItsHost(
  spec: ClusterSpec,
  member: string,
  reason: string,
  silent: { hostSilent: boolean; reach?: HostReach } = { hostSilent: false },
  /** The monitor's word (common/host-loss.ts), trusted by the caller: the loss began lostForMs before startedAt. */
  hint?: { lostForMs: number; startedAt: number },
): Promise<HostFence> {
  const { hostSilent } = silent;
  // A host silent a moment ago is not asked again: its peers' word decides (and they see it if it is back).
  if (!hostSilent)
    try {
      await forContainer(spec, member).critical.fenceMember({ spec, member, reason });
      return { how: 'stopped', detail: `${member} stopped` };
    } catch (err) {
      if (!neverStarted(err)) throw err;
    }
  const host = hostOfContainer(spec, member).name;
  const fencedAfterMs = selfFenceDoneAfterMs() + HOST_SILENCE_MARGIN_MS;
  // The workflow's clock for every instant compared (the observer's may differ).
  let lostSince = silent.reach ? lostSinceWithHint(silent.reach, hint) : undefined;
  const record = (why: string) =>
    critical.recordMemberStateInEtcd({
      spec,
      member,
      state: { state: 'fenced', at: new Date().toISOString(), reason: `${reason} (${why})` },
    });
  // Failovers since: a look that saw the host lost long enough that its loop decided ends the looking.
  const decidedAfterMs = patched(DECIDED_FENCE) ? lookDecidesAfterMs() : undefined;
  // The first look may already suffice (the loss dated by the monitor): decided as of that look.
  let reach = silent.reach;
  if (reach) {
    const now = decidedAfterMs === undefined ? reach.at : Date.now();
    const d = hostSilenceDecision({ reach, lostSince, now, fencedAfterMs, decidedAfterMs });
    if (d.action === 'fenced') {
      await record(d.reason);
      return { how: 'self-fenced', detail: d.reason };
    }
    if (d.action === 'wait' && !d.lookAgain) await waitFor(d.waitMs);
    else reach = undefined;
  }
  for (;;) {
    if (!reach) {
      reach = await observeReach(spec, host);
      lostSince = foldHostLoss(lostSince, reach);
    }
    const d = hostSilenceDecision({ reach, lostSince, now: Date.now(), fencedAfterMs, decidedAfterMs });
    if (d.action === 'refuse')
      throw ApplicationFailure.nonRetryable(
        `cannot fence ${member}: ${d.reason}; nothing was changed`,
        ErrorTypes.Refused,
      );
    if (d.action === 'fenced') {
      await record(d.reason);
      return { how: 'self-fenced', detail: d.reason };
    }
    if (d.lookAgain) {
      // The look takes about a second: started early, it answers at about the deadline.
      await waitFor(nextLookInMs(d.waitMs));
      reach = undefined;
    } else await waitFor(d.waitMs);
  }
}
