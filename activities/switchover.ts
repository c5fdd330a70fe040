/**
 * The switchover's critical section, in one activity because it must hold one coordinator
 * transaction throughout: pause writes to the group (citus_pause_node_within_txn), wait until the
 * target replayed everything the old primary flushed, stop the old primary, promote the target,
 * point Citus at it, commit (writes resume against the new primary). No acknowledged write can be
 * lost: none is acknowledged by the group between the pause and the commit.
 */
import type { Client } from 'pg';
import { lsnToBigInt } from '../common/failover-decisions';
import type { ClusterSpec } from '../common/spec';
import { PG_PORT } from '../common/topology';
import { asSuperuser } from './pg-access';
import type { ActivityDeps } from './deps';
import { classifyPgError, fatal, notReady } from './errors';
import { createFailoverActivities } from './failover';
import { pollUntil, withHeartbeat } from './heartbeat';

export interface SwitchoverInput {
  spec: ClusterSpec;
  coordinator: string;
  oldPrimary: string;
  newPrimary: string;
  /** The coordinator group has no Citus pause: PgBouncer is re-pointed by the workflow afterwards. */
  isCoordinatorGroup: boolean;
}

export function createSwitchoverActivities(deps: ActivityDeps) {
  const f = createFailoverActivities(deps);
  const connect = <T>(spec: ClusterSpec, name: string, fn: (c: Client) => Promise<T>) => asSuperuser(deps, spec, name, fn);

  async function waitReplayed(spec: ClusterSpec, oldPrimary: string, target: string): Promise<void> {
    let lsn: string | undefined;
    try {
      lsn = await f.flushLsn({ spec, member: oldPrimary });
    } catch {
      return; // already stopped by an earlier attempt (fast shutdown sends all WAL to the standbys)
    }
    const want = lsnToBigInt(lsn);
    await pollUntil(
      () => connect(spec, target, async (c) => {
        const r = (await c.query<{ l: string | null }>('SELECT pg_last_wal_replay_lsn()::text AS l')).rows[0]?.l;
        return r && lsnToBigInt(r) >= want ? true : undefined;
      }),
      10_000,
      10,
    );
  }

  async function switchoverCriticalSection(input: SwitchoverInput): Promise<{ pauseMs: number; promoted: boolean; metadataUpdated: boolean }> {
    const { spec, oldPrimary, newPrimary } = input;
    return withHeartbeat(async () => {
      const already = (await f.standbyPositions({ spec, members: [newPrimary] }))[0];
      if (already?.reachable && !already.inRecovery) return { pauseMs: 0, promoted: false, metadataUpdated: false };
      if (input.isCoordinatorGroup) {
        const t0 = Date.now();
        await waitReplayed(spec, oldPrimary, newPrimary);
        await f.fenceMember({ spec, member: oldPrimary });
        await f.promoteStandby({ spec, member: newPrimary });
        return { pauseMs: Date.now() - t0, promoted: true, metadataUpdated: false };
      }
      try {
        return await connect(spec, input.coordinator, async (c) => {
          const node = (
            await c.query<{ nodeid: number }>("SELECT nodeid FROM pg_dist_node WHERE nodename = $1 AND nodeport = $2 AND noderole = 'primary'", [oldPrimary, PG_PORT])
          ).rows[0];
          if (!node) throw fatal('Invariant', `pg_dist_node has no primary row for ${oldPrimary}`);
          await c.query('BEGIN');
          // Writes to the group are held while this transaction lives: bound it.
          await c.query("SET LOCAL statement_timeout = '15s'");
          const t0 = Date.now();
          try {
            await c.query('SELECT citus_pause_node_within_txn($1)', [node.nodeid]);
            await waitReplayed(spec, oldPrimary, newPrimary);
            await f.fenceMember({ spec, member: oldPrimary });
            await f.promoteStandby({ spec, member: newPrimary });
            await c.query('SELECT citus_update_node($1, $2, $3)', [node.nodeid, newPrimary, PG_PORT]);
            await c.query('COMMIT');
          } catch (err) {
            await c.query('ROLLBACK').catch(() => undefined);
            throw err;
          }
          return { pauseMs: Date.now() - t0, promoted: true, metadataUpdated: true };
        });
      } catch (err) {
        if ((err as { type?: string }).type) throw err;
        if ((err as Error).message?.includes('condition not met')) throw notReady(`${newPrimary} did not catch up with ${oldPrimary} in 10 s`);
        throw classifyPgError(err, `switchover ${oldPrimary} -> ${newPrimary}`);
      }
    });
  }

  return { switchoverCriticalSection };
}
