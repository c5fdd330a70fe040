/** Streaming standbys: one physical slot per standby, a fast-checkpoint base backup, a streaming check. */
import type { ClusterSpec } from '../../common/spec';
import type { Client } from 'pg';
import { containerName, slotName } from '../../common/topology';
import { isInRecovery, setCommitWaitsFor, slotReplication } from '../../lib/postgres';
import { asSuperuser } from '../members/superuser';
import type { ActivityDeps } from '../deps';
import { containerState, execIn } from '../../lib/docker/docker-helpers';
import { classifyPgError, fatal, notReady } from '../../lib/errors';
import { pollUntil, withHeartbeat } from '../heartbeat';
import { readVolumeState, writeEtcdState } from '../members/state';
import { ensureSlot } from './slots';
import type { FollowResult } from '../../common/standby-follow';

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
  const onMember = <T>(spec: ClusterSpec, name: string, fn: (c: Client) => Promise<T>) =>
    asSuperuser(deps, spec, name, fn);

  /**
   * Slot on the primary (if absent), then the base backup inside the standby (a no-op once seeded).
   * A standby that already has a member state is left as it is and its state reported
   * (`existingState`): one that is not a standby (fenced by a failover, or a former primary) cannot
   * simply follow, and the workflow rebuilds it (rejoinMember).
   */
  async function followPrimary(input: StandbyPair): Promise<FollowResult> {
    const { spec, standby, primary } = input;
    const slot = slotName(standby);
    return withHeartbeat(async () => {
      await ensureSlot(deps, spec, primary, slot);
      const name = containerName(spec.name, standby);
      if ((await containerState(deps.docker, name)) !== 'running')
        throw notReady(`standby container ${name} is not running`);
      const r = await execIn(deps.docker, name, ['sh', '/citusctl/seed-standby.sh', primary, slot]);
      if (r.exitCode === 3) {
        const state = await readVolumeState(deps, spec, standby);
        return { seeded: false, slot, existingState: state?.state ?? null };
      }
      if (r.exitCode !== 0) {
        const msg = `base backup of ${standby} from ${primary} failed: ${r.stderr.trim() || r.stdout.trim()}`;
        if (/password authentication failed|no pg_hba.conf entry/.test(r.stderr)) throw fatal('Auth', msg);
        throw notReady(msg);
      }
      await writeEtcdState(deps, spec, standby, {
        state: 'standby',
        at: new Date().toISOString(),
        reason: `seeded from ${primary}`,
        primary,
        slot,
      });
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
          if (!(await onMember(spec, standby, isInRecovery)))
            throw fatal('Invariant', `${standby} is not in recovery: it is not a standby`);
          const row = await onMember(spec, primary, (c) => slotReplication(c, slot));
          if (row?.state !== 'streaming') return undefined;
          return {
            standby,
            primary,
            slot,
            state: row.state,
            lagBytes: row.lagBytes,
            synchronous: row.syncState === 'sync' || row.syncState === 'quorum',
          };
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
  async function configureDurability(input: {
    spec: ClusterSpec;
    primary: string;
    standbys: string[];
  }): Promise<{ synchronousStandbyNames: string }> {
    const { spec, primary, standbys } = input;
    return withHeartbeat(async () => {
      try {
        return {
          synchronousStandbyNames: await onMember(spec, primary, (c) =>
            setCommitWaitsFor(c, spec.durability === 'synchronous', standbys),
          ),
        };
      } catch (err) {
        throw classifyPgError(err, `durability settings on ${primary}`);
      }
    });
  }

  return { followPrimary, checkReplication, configureDurability };
}
