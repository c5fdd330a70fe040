/**
 * The switchover's critical section, in one activity because it must hold one pause throughout.
 * Worker group: one coordinator transaction pauses writes to the group
 * (citus_pause_node_within_txn), the target replays everything the old primary flushed, the old
 * primary is fenced, the target promoted, Citus pointed at it, commit (writes resume against the
 * new primary). Coordinator group: the same under a PgBouncer PAUSE (coordinator-switchover.ts).
 * No acknowledged write can be lost: none is acknowledged by the group between pause and resume.
 */
import { peerPort } from '../../common/addressing';
import { Context } from '@temporalio/activity';
import { lsnToBigInt } from '../../common/lsn';
import type { ClusterSpec } from '../../common/spec';
import { catchUpDecision, switchoverFenceReason } from '../../common/switchover-decisions';
import { containerName } from '../../common/topology';
import { coordinatorSwitchover } from './coordinator-switchover';
import { replayLsn } from '../../lib/postgres';
import { pauseNodeWithinTxn, primaryNodeId, updateNode } from '../../lib/postgres/citus-nodes';
import { inTransaction } from '../../lib/postgres/transaction';
import { asSuperuser } from '../members/superuser';
import type { ActivityDeps } from '../deps';
import { containerState } from '../../lib/docker/docker-helpers';
import { classifyPgError, fatal, notReady } from '../../lib/errors';
import { pollUntil, withHeartbeat } from '../heartbeat';
import { fenceMember } from '../members/fence';
import { flushLsn as readFlushLsn, standbyPositions } from '../members/positions';
import { promoteStandby } from '../members/promote';
import { readMemberStates } from '../members/state';
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
  /**
   * Waits until target replayed everything oldPrimary flushed. Skips only when an earlier attempt
   * of this same switchover fenced and stopped the old primary; otherwise an unreadable position
   * fails the attempt (retryable).
   */
  async function waitReplayed(
    spec: ClusterSpec,
    oldPrimary: string,
    target: string,
    fenceReason: string | undefined,
  ): Promise<void> {
    let flushLsn: string | undefined;
    let readError: string | undefined;
    try {
      flushLsn = await readFlushLsn(deps, { spec, member: oldPrimary });
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
          oldState: (await readMemberStates(deps, { spec, members: [oldPrimary] }))[oldPrimary],
          fenceReason,
        });
    if (decision.action === 'skip') return;
    if (decision.action === 'retry') throw notReady(`${decision.why}; not waiting blindly for ${target} to catch up`);
    const want = lsnToBigInt(decision.lsn);
    await pollUntil(
      () =>
        asSuperuser(deps, spec, target, async (c) => {
          const r = await replayLsn(c);
          return r && lsnToBigInt(r) >= want ? true : undefined;
        }),
      10_000,
      10,
    ).catch(() => {
      throw notReady(`${target} did not replay ${oldPrimary}'s flushed WAL (${decision.lsn}) in 10 s`);
    });
  }

  const helpers = { waitReplayed, runFenceReason };

  async function workerSection(
    input: SwitchoverInput,
    fenceReason: string | undefined,
  ): Promise<SwitchoverSectionResult> {
    const { spec, oldPrimary, newPrimary } = input;
    try {
      return await asSuperuser(deps, spec, input.coordinator, async (c) => {
        const nodeId = await primaryNodeId(c, oldPrimary, peerPort(input.spec, oldPrimary));
        if (nodeId === undefined) throw fatal('Invariant', `pg_dist_node has no primary row for ${oldPrimary}`);
        // Writes to the group are held while this transaction lives: bound it.
        let t0 = Date.now();
        await inTransaction(c, '15s', async () => {
          t0 = Date.now();
          await pauseNodeWithinTxn(c, nodeId);
          await waitReplayed(spec, oldPrimary, newPrimary, fenceReason);
          await fenceMember(deps, { spec, member: oldPrimary, reason: fenceReason });
          await promoteStandby(deps, {
            spec,
            member: newPrimary,
            reason: `promoted by a switchover from ${oldPrimary}`,
          });
          await updateNode(c, nodeId, newPrimary, peerPort(input.spec, newPrimary), false);
        });
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
      if (input.isCoordinatorGroup) return coordinatorSwitchover(deps, helpers, input);
      const already = (await standbyPositions(deps, { spec, members: [newPrimary] }))[0];
      if (already?.reachable && !already.inRecovery) return { pauseMs: 0, promoted: false, metadataUpdated: false };
      return workerSection(input, runFenceReason(newPrimary));
    });
  }

  return { switchoverCriticalSection };
}
