/**
 * Failover building blocks. Each checks before it acts, so a worker crash mid-failover resumes
 * safely: a promoted standby is not promoted twice, metadata already pointing at the new host is
 * left alone, a fenced member stays fenced.
 */
import { hostOfContainer, isMultiHost, peerPort } from '../../common/addressing';
import { unfenceBlockers, type ProbeResult, type UnfenceView } from '../../common/failover-decisions';
import type { ClusterSpec } from '../../common/spec';
import { containerName } from '../../common/topology';
import { isInRecovery } from '../../lib/postgres';
import {
  coordinatorNode,
  metadataSynced,
  requestMetadataSync,
  setCoordinatorHost,
  updateNode,
  workerPrimaryRows,
} from '../../lib/postgres/citus-nodes';
import { asSuperuser } from '../members/superuser';
import { fenceMember } from '../members/fence';
import { flushLsn, standbyPositions } from '../members/positions';
import { promoteStandby } from '../members/promote';
import type { ActivityDeps } from '../deps';
import { containerState } from '../../lib/docker/docker-helpers';
import { classifyPgError, fatal, notReady } from '../../lib/errors';
import { pollUntil, sleep, withHeartbeat } from '../heartbeat';
import { readMemberStates, setMemberState } from '../members/state';

export function createFailoverActivities(deps: ActivityDeps) {
  /**
   * Several probes, each a fresh connection + query; a stopped container counts as a failed probe.
   * `engine: false` (several hosts, the member's host does not answer): SQL only, from any worker.
   */
  async function probeMember(input: {
    spec: ClusterSpec;
    member: string;
    probes: number;
    intervalMs: number;
    engine?: boolean;
  }): Promise<ProbeResult[]> {
    return withHeartbeat(() => probes(input));
  }

  /**
   * A probe's own budget: a primary cut off by a network that drops its packets costs 1 s a probe,
   * not the connector's default 3 s (a refused or unresolvable one fails at once anyway).
   */
  const CONFIRM_PROBE_TIMEOUTS = { connectTimeoutMs: 1000, queryTimeoutMs: 2000 };

  async function probes(input: {
    spec: ClusterSpec;
    member: string;
    probes: number;
    intervalMs: number;
    engine?: boolean;
  }): Promise<ProbeResult[]> {
    const results: ProbeResult[] = [];
    for (let i = 0; i < input.probes; i++) {
      if (i) await sleep(input.intervalMs);
      const state =
        input.engine === false
          ? 'running'
          : await containerState(deps.docker, containerName(input.spec.name, input.member));
      if (state !== 'running') {
        // The engine's word is final: more probes would only lengthen the outage.
        results.push({ ok: false, detail: `container ${state}`, conclusive: true });
        break;
      }
      try {
        const rec = await asSuperuser(deps, input.spec, input.member, isInRecovery, CONFIRM_PROBE_TIMEOUTS);
        results.push({ ok: true, detail: rec ? 'answers (in recovery)' : 'answers as primary' });
      } catch (err) {
        results.push({ ok: false, detail: (err as Error).message });
      }
    }
    return results;
  }

  /**
   * What an un-fence must know of the group's other members: SQL, Docker, and (when unreachable) the
   * member state. With several hosts this worker's engine is the member's host's: a member elsewhere
   * has container `unknown` (never `absent`, which would let an unreachable one pass as stopped).
   */
  async function unfenceViews(spec: ClusterSpec, member: string, others: string[]): Promise<UnfenceView[]> {
    const here = (m: string) =>
      !isMultiHost(spec) || hostOfContainer(spec, m).name === hostOfContainer(spec, member).name;
    // Docker first: a container seen stopped and then answering is caught by the SQL look that follows.
    const containers = await Promise.all(
      others.map((m) =>
        here(m)
          ? containerState(deps.docker, containerName(spec.name, m)).catch(() => 'unknown' as const)
          : ('unknown' as const),
      ),
    );
    const positions = await standbyPositions(deps, { spec, members: others });
    const unreachable = positions.filter((p) => !p.reachable).map((p) => p.member);
    const recorded = unreachable.length
      ? await readMemberStates(deps, { spec, members: unreachable }).catch(() => ({}) as Record<string, null>)
      : {};
    return positions.map((p, i) => ({
      member: p.member,
      reachable: p.reachable,
      inRecovery: p.inRecovery,
      container: containers[i]!,
      state: recorded[p.member]?.state,
    }));
  }

  /**
   * Lifts a fence from the group's recorded primary after a failover that changed nothing else
   * (no candidate, or the candidate was lost): refuses while any other member of the group is, or
   * may be, writable (one that cannot be reached may have been promoted: unfenceBlockers), then
   * records it primary again and starts its container.
   */
  async function unfencePrimary(input: {
    spec: ClusterSpec;
    member: string;
    others: string[];
  }): Promise<{ started: boolean }> {
    const { spec, member } = input;
    return withHeartbeat(async () => {
      const blockers = unfenceBlockers(await unfenceViews(spec, member, input.others));
      if (blockers.length)
        throw fatal('Refused', `cannot unfence ${member}: ${blockers.map((b) => `${b.member} ${b.why}`).join('; ')}`);
      await setMemberState(deps, {
        spec,
        member,
        state: { state: 'primary', at: new Date().toISOString(), reason: 'unfenced: no other member took over' },
      });
      const name = containerName(spec.name, member);
      const cs = await containerState(deps.docker, name);
      if (cs === 'absent') return { started: false };
      await deps.docker
        .getContainer(name)
        .start()
        .catch((e: { statusCode?: number }) => {
          if (e.statusCode !== 304) throw e;
        });
      await pollUntil(
        () => asSuperuser(deps, spec, member, async (c) => ((await isInRecovery(c)) ? undefined : true)),
        60_000,
        200,
      ).catch((err: unknown) => {
        throw notReady(`${member} was unfenced but does not serve as a primary yet: ${(err as Error).message}`);
      });
      return { started: true };
    });
  }

  /**
   * citus_update_node for a worker group; a no-op when it already points there. Called once the
   * old primary is fenced: the transactions that hold locks on its shards can never commit, so they
   * are not waited for (lock_cooldown 0: Citus terminates the blocking backends at once, and their
   * clients retry against the new primary). Metadata sync to the workers is awaited separately.
   */
  async function pointCitusAt(input: {
    spec: ClusterSpec;
    coordinator: string;
    oldHost: string;
    newHost: string;
  }): Promise<{ updated: boolean; nodeId: number }> {
    return withHeartbeat(async () => {
      try {
        return await asSuperuser(deps, input.spec, input.coordinator, async (c) => {
          const rows = await workerPrimaryRows(
            c,
            [input.oldHost, input.newHost].map((h) => ({ host: h, port: peerPort(input.spec, h) })),
          );
          const current = rows.find((r) => r.host === input.newHost);
          if (current) return { updated: false, nodeId: current.nodeId };
          const old = rows.find((r) => r.host === input.oldHost);
          if (!old)
            throw fatal('Invariant', `pg_dist_node has neither ${input.oldHost} nor ${input.newHost} as a primary`);
          await updateNode(c, old.nodeId, input.newHost, peerPort(input.spec, input.newHost), true);
          return { updated: true, nodeId: old.nodeId };
        });
      } catch (err) {
        throw classifyPgError(err, `pointing Citus at ${input.newHost}`);
      }
    });
  }

  /**
   * The node change reaches metadata workers asynchronously: wait before anything else touches nodes.
   * Citus's maintenance daemon syncs on its own schedule (37-40 s measured on real Citus 13.2.2
   * after some failovers); when it has not synced within a second, ask for the sync now, once
   * (`start_metadata_sync_to_all_nodes()`, idempotent), and go on waiting either way.
   */
  async function waitMetadataSynced(input: {
    spec: ClusterSpec;
    coordinator: string;
    timeoutMs?: number;
  }): Promise<{ synced: boolean }> {
    return withHeartbeat(async () => {
      try {
        return await asSuperuser(deps, input.spec, input.coordinator, async (c) => {
          const soon = await pollUntil(async () => ((await metadataSynced(c)) ? true : undefined), 1_000, 100).catch(
            () => false,
          );
          if (soon) return { synced: true };
          await requestMetadataSync(c);
          return pollUntil(
            async () => ((await metadataSynced(c)) ? { synced: true } : undefined),
            input.timeoutMs ?? 120_000,
            100,
          );
        });
      } catch (err) {
        throw classifyPgError(err, 'waiting for Citus metadata sync');
      }
    });
  }

  /** After a coordinator failover the new coordinator's own metadata still names the old one. */
  async function pointCoordinatorAt(input: {
    spec: ClusterSpec;
    newCoordinator: string;
  }): Promise<{ updated: boolean }> {
    // On the critical proxy (short heartbeat timeout): citus_set_coordinator_host syncs metadata to the workers.
    return withHeartbeat(async () => {
      try {
        return await asSuperuser(deps, input.spec, input.newCoordinator, async (c) => {
          if ((await coordinatorNode(c))?.host === input.newCoordinator) return { updated: false };
          await setCoordinatorHost(c, input.newCoordinator, peerPort(input.spec, input.newCoordinator));
          return { updated: true };
        });
      } catch (err) {
        throw classifyPgError(err, `updating the coordinator host to ${input.newCoordinator}`);
      }
    });
  }

  return {
    probeMember,
    fenceMember: (input: { spec: ClusterSpec; member: string; reason?: string }) =>
      withHeartbeat(() => fenceMember(deps, input)),
    unfencePrimary,
    standbyPositions: (input: { spec: ClusterSpec; members: string[] }) =>
      withHeartbeat(() => standbyPositions(deps, input)),
    promoteStandby: (input: { spec: ClusterSpec; member: string; reason?: string }) =>
      withHeartbeat(() => promoteStandby(deps, input)),
    pointCitusAt,
    waitMetadataSynced,
    pointCoordinatorAt,
    flushLsn: (input: { spec: ClusterSpec; member: string }) => flushLsn(deps, input),
  };
}
