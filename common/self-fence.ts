/**
 * Self-fencing of a primary whose host is cut off, decided by the host's worker (worker/self-fence-loop.ts)
 * from what it sees on its own host: the last time it reached an etcd quorum, whether it still reaches
 * the other hosts, and which members on its host were primaries when it last read etcd. Pure and
 * table-tested (test/unit/self-fence.test.ts).
 *
 * Patroni demotes a primary that cannot renew its leader key; its `failsafe_mode` keeps the primary up
 * through a DCS outage as long as it reaches every other member. Here the deadline is half a second,
 * shorter than etcd's own leader election, so "every other host" would not do: when a host dies with
 * the etcd leader on it, the surviving hosts lose etcd for a second or two AND miss the dead host, and
 * would stop their own primaries. So a host fences only from the minority side: it reaches neither
 * etcd nor, with itself, a majority of the hosts (with three: none of the other two). A host that
 * still reaches a majority is watching an etcd outage or another host's loss, not its own isolation,
 * and leaves its primaries alone; one host (today's default) never fences at all: nobody else could
 * promote a standby.
 *
 * The deadline. The loop last reached etcd at `lastOk`, no later than the fault. Its rounds run back
 * to back, each at most `probeTimeoutMs` of probing plus `probeIntervalMs` of sleep, so the first
 * round that sees `now - lastOk >= fenceAfterMs` ends by lastOk + fenceAfterMs + probeIntervalMs +
 * probeTimeoutMs, and the container is dead `stopBudgetMs` later. Hence
 *
 *   fenceAfterMs = SELF_FENCE_WINDOW_MS - probeIntervalMs - probeTimeoutMs - stopBudgetMs   (1200-150-250-300 = 500 ms)
 *
 * stops the primary within SELF_FENCE_WINDOW_MS of the loop's last etcd read. A failover that
 * cannot reach the host waits that long (and a margin) from its peers' first sight of the loss
 * before it counts the primary fenced (common/host-silence.ts); a reachable host's primary is
 * stopped by its worker. A blip shorter than 500 ms never fences; a longer cut-off of this host from
 * etcd AND every other host does, whether or not the monitor goes on to fail over (then the monitor
 * finds the primary's container exited and fails over at once, as for a crash). Patroni's default
 * TTL is 30 s: this trades a fence on a half-second isolation for a write outage of seconds.
 * Synchronous replication is the first fence: an isolated primary cannot acknowledge a commit without
 * its standby on another host. This one also covers asynchronous groups and keeps the old primary
 * from serving reads or rejoining writable when the network comes back.
 */

import { parseEndpoint } from './hosts';

export interface SelfFenceTimings {
  /** Sleep between the loop's rounds. */
  probeIntervalMs: number;
  /** Deadline of each round's probes (etcd and the peers, in parallel). */
  probeTimeoutMs: number;
  /** What a stop through the host's own engine may take (`docker kill` over the local socket). */
  stopBudgetMs: number;
}

export const SELF_FENCE_TIMINGS: SelfFenceTimings = { probeIntervalMs: 150, probeTimeoutMs: 250, stopBudgetMs: 300 };

/** From the loop's last etcd read to its primary's stop, at most (see the arithmetic above). */
export const SELF_FENCE_WINDOW_MS = 1200;

/** Below this, an etcd blip of a couple of rounds would fence: timings that leave less are refused. */
export const MIN_FENCE_AFTER_MS = 400;

/**
 * How long the host may go without etcd (and every other host) before it stops its primaries: the
 * window less one round and a stop (see the arithmetic above). Throws when the timings leave less
 * than MIN_FENCE_AFTER_MS, since then either blips fence or the fence comes late.
 */
export function fenceAfterMs(loop: SelfFenceTimings = SELF_FENCE_TIMINGS, windowMs = SELF_FENCE_WINDOW_MS): number {
  const d = windowMs - loop.probeIntervalMs - loop.probeTimeoutMs - loop.stopBudgetMs;
  if (d < MIN_FENCE_AFTER_MS)
    throw new Error(
      `self-fence: the window (${windowMs} ms) leaves ${d} ms after a round ` +
        `(${loop.probeIntervalMs} + ${loop.probeTimeoutMs} ms) and a stop (${loop.stopBudgetMs} ms); ` +
        `at least ${MIN_FENCE_AFTER_MS} ms are needed not to fence on an etcd blip`,
    );
  return d;
}

/** A member running on this host that etcd last named its group's primary. */
export interface LocalPrimary {
  member: string;
  group: string;
  /** Members of its group on other hosts: with none, nobody can be promoted, so no second primary can exist. */
  othersElsewhere: number;
}

export interface SelfFenceInput {
  enabled: boolean;
  /** Hosts of the spec, this one included. */
  hostCount: number;
  now: number;
  /** When the loop started: the reference while etcd has not been reached since. */
  startedAt: number;
  /** End of the last round that read etcd with a quorum; undefined: none since the loop started. */
  lastEtcdOkAt: number | undefined;
  /** Whether the latest round reached etcd. */
  etcdOk: boolean;
  /** Every other host -> whether the latest round reached it. */
  peers: Record<string, boolean>;
  /** Running members of this host named primary in the last etcd read. */
  primaries: LocalPrimary[];
  /** Members this loop already stopped (not stopped twice). */
  fenced: readonly string[];
  fenceAfterMs: number;
}

export type SelfFenceDecision =
  | { action: 'nothing'; reason: string }
  | { action: 'wait'; reason: string; fenceAt: number }
  | { action: 'fence'; members: string[]; reason: string };

/** What the host's worker does about its primaries this round. */
export function selfFenceDecision(i: SelfFenceInput): SelfFenceDecision {
  if (!i.enabled) return { action: 'nothing', reason: 'self-fencing is off' };
  if (i.hostCount < 2) return { action: 'nothing', reason: 'one host: an etcd outage never stops its primaries' };
  if (i.etcdOk) return { action: 'nothing', reason: 'etcd reached' };
  const peers = Object.entries(i.peers);
  const lost = peers.filter(([, up]) => !up).map(([h]) => h);
  const reached = peers.filter(([, up]) => up).map(([h]) => h);
  if (peers.length && !lost.length)
    return {
      action: 'nothing',
      reason: `etcd unreachable but every other host reachable (${reached.join(', ')}): etcd's outage`,
    };
  if (2 * (reached.length + 1) > i.hostCount)
    return {
      action: 'nothing',
      reason:
        `etcd and ${lost.join(', ')} unreachable, but with ${reached.join(', ')} this host is in the majority: ` +
        "etcd's election or another host's loss, not this host cut off",
    };
  const since = i.lastEtcdOkAt ?? i.startedAt;
  const cut = `etcd and ${lost.length ? lost.join(', ') : 'every other host'} unreachable for ${i.now - since} ms`;
  const todo = i.primaries.filter((p) => !i.fenced.includes(p.member));
  const fenceable = todo.filter((p) => p.othersElsewhere > 0);
  if (!fenceable.length) {
    const why = todo.length
      ? `no member of ${todo.map((p) => p.group).join(', ')} on another host to promote`
      : i.primaries.length
        ? 'its primaries already stopped'
        : 'no primary on this host';
    return { action: 'nothing', reason: `${cut}; ${why}` };
  }
  const fenceAt = since + i.fenceAfterMs;
  if (i.now < fenceAt) return { action: 'wait', reason: `${cut}; fence at ${i.fenceAfterMs} ms`, fenceAt };
  return {
    action: 'fence',
    members: fenceable.map((p) => p.member),
    reason: `${cut} (>= ${i.fenceAfterMs} ms): a standby elsewhere may be promoted`,
  };
}

/** A member of the spec and the host placement put it on. */
export interface PlacedMember {
  name: string;
  group: string;
  host: string;
}

/**
 * The members running on this host (`running`, by their containers) that etcd named their group's
 * primary (`primaries`: group -> member, from the last read), each with how many members of its group
 * the spec places on other hosts.
 */
export function localPrimaries(
  running: readonly string[],
  primaries: Record<string, string>,
  members: readonly PlacedMember[],
  host: string,
): LocalPrimary[] {
  return members
    .filter((m) => running.includes(m.name) && primaries[m.group] === m.name)
    .map((m) => ({
      member: m.name,
      group: m.group,
      othersElsewhere: members.filter((o) => o.group === m.group && o.name !== m.name && o.host !== host).length,
    }));
}

/** Where the self-fence loop looks for another host: a PostgreSQL member placed there, or its engine's port. */
export interface PeerTarget {
  host: string;
  kind: 'postgres' | 'engine';
  address: string;
  port: number;
}

/**
 * Each other host's targets: its members at <host address>:<member port> (as the other hosts reach
 * them), then its engine's TCP port for a tcp:// or ssh:// endpoint. A host answers when any target does.
 */
export function peerTargets(
  hosts: ReadonlyArray<{ name: string; address: string; endpoint: string }>,
  members: ReadonlyArray<PlacedMember & { port: number }>,
  self: string,
): PeerTarget[] {
  const out: PeerTarget[] = [];
  for (const h of hosts) {
    if (h.name === self) continue;
    for (const m of members)
      if (m.host === h.name) out.push({ host: h.name, kind: 'postgres', address: h.address, port: m.port });
    const engine = parseEndpoint(h.endpoint);
    if (engine.ok && engine.endpoint.kind !== 'unix')
      out.push({ host: h.name, kind: 'engine', address: engine.endpoint.host, port: engine.endpoint.port });
  }
  return out;
}
