/**
 * Failover building blocks. Each checks before it acts, so a worker crash mid-failover resumes
 * safely: a promoted standby is not promoted twice, metadata already pointing at the new host is
 * left alone, a fenced member stays fenced.
 */
import type { Client } from 'pg';
import { unfenceBlockers, type ProbeResult, type StandbyPosition, type UnfenceView } from '../../common/failover-decisions';
import type { ClusterSpec } from '../../common/spec';
import { PG_PORT, containerName } from '../../common/topology';
import { PromotionTimeout, currentFlushLsn, isInRecovery, ping, preparedTransactionIds, promoteStandby as promoteNode, readPositions } from '../../lib/postgres';
import { asSuperuser } from '../pg-access';
import type { ActivityDeps } from '../deps';
import { containerState } from '../../lib/docker/docker-helpers';
import { classifyPgError, fatal, notReady } from '../../lib/errors';
import { pollUntil, sleep, withHeartbeat } from '../heartbeat';
import { createMemberStateActivities } from '../member-state';

export function createFailoverActivities(deps: ActivityDeps) {
  const onMember = <T>(spec: ClusterSpec, name: string, fn: (c: Client) => Promise<T>) => asSuperuser(deps, spec, name, fn);
  const states = createMemberStateActivities(deps);

  /** Several probes, each a fresh connection + query; a stopped container counts as a failed probe. */
  async function probeMember(input: { spec: ClusterSpec; member: string; probes: number; intervalMs: number }): Promise<ProbeResult[]> {
    return withHeartbeat(() => probes(input));
  }

  /**
   * A probe's own budget: a primary cut off by a network that drops its packets costs 1 s a probe,
   * not the connector's default 3 s (a refused or unresolvable one fails at once anyway).
   */
  const CONFIRM_PROBE_TIMEOUTS = { connectTimeoutMs: 1000, queryTimeoutMs: 2000 };

  async function probes(input: { spec: ClusterSpec; member: string; probes: number; intervalMs: number }): Promise<ProbeResult[]> {
    const results: ProbeResult[] = [];
    for (let i = 0; i < input.probes; i++) {
      if (i) await sleep(input.intervalMs);
      const state = await containerState(deps.docker, containerName(input.spec.name, input.member));
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
   * Fence: record the member as fenced in its volume (its bootstrap then never starts PostgreSQL,
   * whether the container is restarted, killed, or re-created on the same volume) and in etcd,
   * then stop the container and verify it no longer accepts connections.
   */
  async function fenceMember(input: { spec: ClusterSpec; member: string; reason?: string }): Promise<{ wasRunning: boolean }> {
    const name = containerName(input.spec.name, input.member);
    return withHeartbeat(async () => {
      const state = await containerState(deps.docker, name);
      await states.setMemberState({ spec: input.spec, member: input.member, state: { state: 'fenced', at: new Date().toISOString(), reason: input.reason ?? 'fenced by a failover' } });
      if (state === 'absent') return { wasRunning: false };
      const container = deps.docker.getContainer(name);
      // SIGKILL, also in a switchover: by then the target has replayed all the old primary flushed,
      // and a shutdown checkpoint would only lengthen the pause. Rejoin copes with the crash state.
      if (state === 'running') await container.kill().catch((e: { statusCode?: number }) => { if (e.statusCode !== 409) throw e; });
      await pollUntil(async () => ((await containerState(deps.docker, name)) === 'running' ? undefined : true), 10_000, 100);
      try {
        await onMember(input.spec, input.member, ping);
      } catch {
        return { wasRunning: state === 'running' };
      }
      throw fatal('Invariant', `${input.member} still accepts connections after fencing`);
    });
  }

  /** What an un-fence must know of the group's other members: SQL, Docker, and (when unreachable) the member state. */
  async function unfenceViews(spec: ClusterSpec, others: string[]): Promise<UnfenceView[]> {
    // Docker first: a container seen stopped and then answering is caught by the SQL look that follows.
    const containers = await Promise.all(others.map((m) => containerState(deps.docker, containerName(spec.name, m)).catch(() => 'unknown' as const)));
    const positions = await standbyPositions({ spec, members: others });
    const unreachable = positions.filter((p) => !p.reachable).map((p) => p.member);
    const recorded = unreachable.length ? await states.readMemberStates({ spec, members: unreachable }).catch(() => ({}) as Record<string, null>) : {};
    return positions.map((p, i) => ({ member: p.member, reachable: p.reachable, inRecovery: p.inRecovery, container: containers[i]!, state: recorded[p.member]?.state }));
  }

  /**
   * Lifts a fence from the group's recorded primary after a failover that changed nothing else
   * (no candidate, or the candidate was lost): refuses while any other member of the group is, or
   * may be, writable (one that cannot be reached may have been promoted: unfenceBlockers), then
   * records it primary again and starts its container.
   */
  async function unfencePrimary(input: { spec: ClusterSpec; member: string; others: string[] }): Promise<{ started: boolean }> {
    const { spec, member } = input;
    return withHeartbeat(async () => {
      const blockers = unfenceBlockers(await unfenceViews(spec, input.others));
      if (blockers.length) throw fatal('Refused', `cannot unfence ${member}: ${blockers.map((b) => `${b.member} ${b.why}`).join('; ')}`);
      await states.setMemberState({ spec, member, state: { state: 'primary', at: new Date().toISOString(), reason: 'unfenced: no other member took over' } });
      const name = containerName(spec.name, member);
      const cs = await containerState(deps.docker, name);
      if (cs === 'absent') return { started: false };
      await deps.docker.getContainer(name).start().catch((e: { statusCode?: number }) => { if (e.statusCode !== 304) throw e; });
      await pollUntil(() => onMember(spec, member, async (c) => ((await isInRecovery(c)) ? undefined : true)), 60_000, 200).catch((err: unknown) => {
        throw notReady(`${member} was unfenced but does not serve as a primary yet: ${(err as Error).message}`);
      });
      return { started: true };
    });
  }

  async function standbyPositions(input: { spec: ClusterSpec; members: string[] }): Promise<StandbyPosition[]> {
    return withHeartbeat(() => Promise.all(
      input.members.map(async (member) => {
        try {
          return { member, reachable: true, ...(await onMember(input.spec, member, readPositions)) };
        } catch {
          return { member, reachable: false, inRecovery: true, replayLsn: null, receiveLsn: null };
        }
      }),
    ));
  }

  /**
   * Promotes the member (lib/postgres promoteStandby), unless it is already out of recovery; records
   * it primary. `inDoubt`: the transactions PREPAREd on it by then, before Citus points at it: what
   * the old primary left between PREPARE and COMMIT PREPARED (resolveInDoubtTransactions).
   */
  async function promoteStandby(input: { spec: ClusterSpec; member: string; reason?: string }): Promise<{ promoted: boolean; inDoubt: string[] }> {
    return withHeartbeat(async () => {
      try {
        // Clears a stale synchronous_standby_names, replays what was received, promotes, waits.
        const result = await onMember(input.spec, input.member, async (c) => ({ ...(await promoteNode(c)), inDoubt: await preparedTransactionIds(c) }));
        await states.setMemberState({ spec: input.spec, member: input.member, state: { state: 'primary', at: new Date().toISOString(), reason: input.reason ?? 'promoted by a failover' } });
        return result;
      } catch (err) {
        if (err instanceof PromotionTimeout) throw notReady(`${input.member} ${err.message}`);
        throw classifyPgError(err, `promoting ${input.member}`);
      }
    });
  }

  /**
   * citus_update_node for a worker group; a no-op when it already points there. Called once the
   * old primary is fenced: the transactions that hold locks on its shards can never commit, so they
   * are not waited for (lock_cooldown 0: Citus terminates the blocking backends at once, and their
   * clients retry against the new primary). Metadata sync to the workers is awaited separately.
   */
  async function pointCitusAt(input: { spec: ClusterSpec; coordinator: string; oldHost: string; newHost: string }): Promise<{ updated: boolean; nodeId: number }> {
    return withHeartbeat(async () => {
      try {
        return await onMember(input.spec, input.coordinator, async (c) => {
          const rows = (
            await c.query<{ nodeid: number; nodename: string }>(
              "SELECT nodeid, nodename FROM pg_dist_node " +
                "WHERE nodename = ANY($1) AND nodeport = $2 AND noderole = 'primary' AND groupid <> 0",
              [[input.oldHost, input.newHost], PG_PORT],
            )
          ).rows;
          const current = rows.find((r) => r.nodename === input.newHost);
          if (current) return { updated: false, nodeId: current.nodeid };
          const old = rows.find((r) => r.nodename === input.oldHost);
          if (!old) throw fatal('Invariant', `pg_dist_node has neither ${input.oldHost} nor ${input.newHost} as a primary`);
          await c.query('SELECT citus_update_node($1, $2, $3, force => true, lock_cooldown => 0)', [old.nodeid, input.newHost, PG_PORT]);
          return { updated: true, nodeId: old.nodeid };
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
  async function waitMetadataSynced(input: { spec: ClusterSpec; coordinator: string; timeoutMs?: number }): Promise<{ synced: boolean }> {
    return withHeartbeat(async () => {
      try {
        return await onMember(input.spec, input.coordinator, async (c) => {
          const synced = async () => (await c.query<{ synced: boolean | null }>("SELECT bool_and(metadatasynced) AS synced FROM pg_dist_node " +
            "WHERE hasmetadata AND noderole = 'primary'")).rows[0]?.synced !== false;
          const soon = await pollUntil(async () => ((await synced()) ? true : undefined), 1_000, 100).catch(() => false);
          if (soon) return { synced: true };
          await c.query("SET statement_timeout = '10s'");
          // the daemon still syncs if this cannot
          await c.query('SELECT start_metadata_sync_to_all_nodes()').catch(() => undefined);
          await c.query('RESET statement_timeout');
          return pollUntil(async () => ((await synced()) ? { synced: true } : undefined), input.timeoutMs ?? 120_000, 100);
        });
      } catch (err) {
        throw classifyPgError(err, 'waiting for Citus metadata sync');
      }
    });
  }

  /** After a coordinator failover the new coordinator's own metadata still names the old one. */
  async function pointCoordinatorAt(input: { spec: ClusterSpec; newCoordinator: string }): Promise<{ updated: boolean }> {
    // On the critical proxy (short heartbeat timeout): citus_set_coordinator_host syncs metadata to the workers.
    return withHeartbeat(async () => {
      try {
        return await onMember(input.spec, input.newCoordinator, async (c) => {
          const row = (await c.query<{ nodename: string }>('SELECT nodename FROM pg_dist_node WHERE groupid = 0')).rows[0];
          if (row?.nodename === input.newCoordinator) return { updated: false };
          await c.query('SELECT citus_set_coordinator_host($1, $2)', [input.newCoordinator, PG_PORT]);
          return { updated: true };
        });
      } catch (err) {
        throw classifyPgError(err, `updating the coordinator host to ${input.newCoordinator}`);
      }
    });
  }

  /** The primary's flush LSN, to wait for a switchover target to replay everything. */
  async function flushLsn(input: { spec: ClusterSpec; member: string }): Promise<string> {
    return onMember(input.spec, input.member, currentFlushLsn);
  }

  return { probeMember, fenceMember, unfencePrimary, standbyPositions, promoteStandby, pointCitusAt, waitMetadataSynced, pointCoordinatorAt, flushLsn };
}
