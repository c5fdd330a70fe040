/** Streaming standbys: one physical slot per standby, a fast-checkpoint base backup, a streaming check. */
import type { ClusterSpec } from '../../common/spec';
import type { Client } from 'pg';
import { containerName, slotName } from '../../common/topology';
import { anyOneOf, isInRecovery, setSynchronousStandbyNames, slotReplication, streamingStandbys } from '../../lib/postgres';
import { asSuperuser } from '../pg-access';
import type { ActivityDeps } from '../deps';
import { containerState, execIn } from '../../lib/docker/docker-helpers';
import { classifyPgError, fatal, notReady } from '../../lib/errors';
import { pollUntil, withHeartbeat } from '../heartbeat';
import { readVolumeState, writeEtcdState } from '../member-state';
import { createRejoinActivities } from './rejoin';
import { ensureSlot } from './slots';

export interface StandbyPair {
  spec: ClusterSpec;
  standby: string;
  primary: string;
}

export interface ReplicationStatus {
  standby: string;
  primary: string;
  slot: string;
  state: string;
  lagBytes: number;
  synchronous: boolean;
}

export function createReplicationActivities(deps: ActivityDeps) {
  const rejoin = createRejoinActivities(deps);
  const onMember = <T>(spec: ClusterSpec, name: string, fn: (c: Client) => Promise<T>) => asSuperuser(deps, spec, name, fn);

  /** Slot on the primary (if absent), then the base backup inside the standby (a no-op once seeded). */
  async function followPrimary(input: StandbyPair): Promise<{ seeded: boolean; slot: string }> {
    const { spec, standby, primary } = input;
    const slot = slotName(standby);
    return withHeartbeat(async () => {
      await ensureSlot(deps, spec, primary, slot);
      const name = containerName(spec.name, standby);
      if ((await containerState(deps.docker, name)) !== 'running') throw notReady(`standby container ${name} is not running`);
      const r = await execIn(deps.docker, name, ['sh', '/citusctl/seed-standby.sh', primary, slot]);
      if (r.exitCode === 3) {
        // Already has a member state. A member fenced by a failover (or one that was a primary)
        // cannot simply follow: rebuild it through rejoin, which obeys and updates the state.
        const state = await readVolumeState(deps, spec, standby);
        if (state?.state !== 'standby') await rejoin.rejoinMember({ spec, member: standby, primary });
        return { seeded: false, slot };
      }
      if (r.exitCode !== 0) {
        const msg = `base backup of ${standby} from ${primary} failed: ${r.stderr.trim() || r.stdout.trim()}`;
        if (/password authentication failed|no pg_hba.conf entry/.test(r.stderr)) throw fatal('Auth', msg);
        throw notReady(msg);
      }
      await writeEtcdState(deps, spec, standby, { state: 'standby', at: new Date().toISOString(), reason: `seeded from ${primary}`, primary, slot });
      return { seeded: true, slot };
    });
  }

  /** Waits until the standby streams from its primary through its own slot. */
  async function checkReplication(input: StandbyPair & { timeoutMs?: number }): Promise<ReplicationStatus> {
    const { spec, standby, primary } = input;
    const slot = slotName(standby);
    return withHeartbeat(async () => {
      try {
        return await pollUntil(async () => {
          if (!(await onMember(spec, standby, isInRecovery))) throw fatal('Invariant', `${standby} is not in recovery: it is not a standby`);
          const row = await onMember(spec, primary, (c) => slotReplication(c, slot));
          if (row?.state !== 'streaming') return undefined;
          return { standby, primary, slot, state: row.state, lagBytes: row.lagBytes, synchronous: row.syncState === 'sync' || row.syncState === 'quorum' };
        }, input.timeoutMs ?? 60_000);
      } catch (err) {
        throw classifyPgError(err, `replication of ${standby} from ${primary}`);
      }
    });
  }

  /**
   * Durability: in synchronous mode the primary commits only once one of its standbys has the WAL.
   * The standby's application_name is its cluster_name (= member name), set by the bootstrap.
   */
  async function configureDurability(input: { spec: ClusterSpec; primary: string; standbys: string[] }): Promise<{ synchronousStandbyNames: string }> {
    const { spec, primary, standbys } = input;
    return withHeartbeat(async () => {
      try {
        return await onMember(spec, primary, async (c) => {
          // Only standbys that stream now: naming one that does not would block every commit.
          const streaming = await streamingStandbys(c);
          const live = standbys.filter((s) => streaming.includes(s));
          const wanted = spec.durability === 'synchronous' ? anyOneOf(live) : '';
          await setSynchronousStandbyNames(c, wanted);
          return { synchronousStandbyNames: wanted };
        });
      } catch (err) {
        throw classifyPgError(err, `durability settings on ${primary}`);
      }
    });
  }

  return { followPrimary, checkReplication, configureDurability };
}
