/**
 * The switchover's critical section, in one activity because it must hold one pause throughout.
 * Worker group: one coordinator transaction pauses writes to the group
 * (citus_pause_node_within_txn), the target replays everything the old primary flushed, the old
 * primary is fenced, the target promoted, Citus pointed at it, commit (writes resume against the
 * new primary). Coordinator group: the same under a PgBouncer PAUSE (coordinator-switchover.ts).
 * No acknowledged write can be lost: none is acknowledged by the group between pause and resume.
 */
import { Context } from '@temporalio/activity';
import type { Client } from 'pg';
import { lsnToBigInt } from '../../common/failover-decisions';
import type { ClusterSpec } from '../../common/spec';
import { catchUpDecision, switchoverFenceReason } from '../../common/switchover-decisions';
import { PG_PORT, containerName } from '../../common/topology';
import { createCoordinatorSwitchover } from './coordinator-switchover';
import { replayLsn } from '../../lib/postgres';
import { asSuperuser } from '../pg-access';
import type { ActivityDeps } from '../deps';
import { containerState } from '../../lib/docker/docker-helpers';
import { classifyPgError, fatal, notReady } from '../../lib/errors';
import { createFailoverActivities } from './failover';
import { pollUntil, withHeartbeat } from '../heartbeat';
import { createMemberStateActivities } from '../member-state';
import type { SwitchoverInput, SwitchoverSectionResult } from './switchover-types';

export type { SwitchoverInput, SwitchoverSectionResult } from './switchover-types';

/** This activity's switchover run, for fence reasons that a later attempt can recognise. */
function runFenceReason(target: string): string | undefined {
  try {
    const run = Context.current().info.workflowExecution;
    return run ? switchoverFenceReason(run.workflowId, run.runId, target) : undefined;
  } catch {
    return undefined; // outside an activity (tests): the run is unknown
  }
}

export function createSwitchoverActivities(deps: ActivityDeps) {
  const f = createFailoverActivities(deps);
  const states = createMemberStateActivities(deps);
  const connect = <T>(spec: ClusterSpec, name: string, fn: (c: Client) => Promise<T>) => asSuperuser(deps, spec, name, fn);

  /**
   * Waits until target replayed everything oldPrimary flushed. Skips only when an earlier attempt
   * of this same switchover fenced and stopped the old primary; otherwise an unreadable position
   * fails the attempt (retryable).
   */
  async function waitReplayed(spec: ClusterSpec, oldPrimary: string, target: string, fenceReason: string | undefined): Promise<void> {
    let flushLsn: string | undefined;
    let readError: string | undefined;
    try {
      flushLsn = await f.flushLsn({ spec, member: oldPrimary });
    } catch (err) {
      readError = (err as Error).message;
    }
    const decision = flushLsn
      ? catchUpDecision({ oldPrimary, flushLsn, oldContainerRunning: true, oldState: undefined, fenceReason })
      : catchUpDecision({
          oldPrimary,
          flushLsn,
          readError,
          oldContainerRunning: (await containerState(deps.docker, containerName(spec.name, oldPrimary))) === 'running',
          oldState: (await states.readMemberStates({ spec, members: [oldPrimary] }))[oldPrimary],
          fenceReason,
        });
    if (decision.action === 'skip') return;
    if (decision.action === 'retry') throw notReady(`${decision.why}; not waiting blindly for ${target} to catch up`);
    const want = lsnToBigInt(decision.lsn);
    await pollUntil(
      () => connect(spec, target, async (c) => {
        const r = await replayLsn(c);
        return r && lsnToBigInt(r) >= want ? true : undefined;
      }),
      10_000,
      10,
    ).catch(() => {
      throw notReady(`${target} did not replay ${oldPrimary}'s flushed WAL (${decision.lsn}) in 10 s`);
    });
  }

  const coordinatorSwitchover = createCoordinatorSwitchover(deps, { waitReplayed, runFenceReason });

  async function workerSection(input: SwitchoverInput, fenceReason: string | undefined): Promise<SwitchoverSectionResult> {
    const { spec, oldPrimary, newPrimary } = input;
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
          await waitReplayed(spec, oldPrimary, newPrimary, fenceReason);
          await f.fenceMember({ spec, member: oldPrimary, reason: fenceReason });
          await f.promoteStandby({ spec, member: newPrimary, reason: `promoted by a switchover from ${oldPrimary}` });
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
      throw classifyPgError(err, `switchover ${oldPrimary} -> ${newPrimary}`);
    }
  }

  async function switchoverCriticalSection(input: SwitchoverInput): Promise<SwitchoverSectionResult> {
    const { spec, newPrimary } = input;
    return withHeartbeat(async () => {
      if (input.isCoordinatorGroup) return coordinatorSwitchover(input);
      const already = (await f.standbyPositions({ spec, members: [newPrimary] }))[0];
      if (already?.reachable && !already.inRecovery) return { pauseMs: 0, promoted: false, metadataUpdated: false };
      return workerSection(input, runFenceReason(newPrimary));
    });
  }

  return { switchoverCriticalSection };
}
