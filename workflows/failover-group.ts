/**
 * failoverGroup (id `failover-<cluster>-<group>`): unplanned failover of a worker group or the
 * coordinator. Confirm the primary is down (several probes), optionally wait for an operator's
 * approval, fence it, promote the most advanced standby, point Citus (or, for the coordinator,
 * the coordinator's own metadata and PgBouncer) at it, record it in etcd, then rejoin the old
 * primary as a standby when its container can run.
 */
import { condition, defineQuery, defineUpdate, setHandler, workflowInfo, ApplicationFailure } from '@temporalio/workflow';
import { pickStandby, primaryIsDown } from '../common/failover-decisions';
import { ProgressTracker, type Progress } from '../common/progress';
import type { ClusterSpecInput } from '../common/spec';
import { COORDINATOR_GROUP } from '../common/topology';
import { acts, critical, validation } from './activity-proxies';
import { describeRejoin, groupMembers, rejoinOthers, type RejoinReport } from './group-helpers';
import { withGroupLock } from './group-lock';

export interface FailoverGroupInput {
  spec: ClusterSpecInput;
  group: string;
  /** Default: the spec's requireFailoverApproval. */
  requireApproval?: boolean;
  /** How long to wait for approval, e.g. '10m'. */
  approvalTimeout?: string;
  /** Rejoin the old primary as a standby when possible (default true). */
  rejoin?: boolean;
}

export type FailoverOutcome = 'failed-over' | 'primary-healthy' | 'approval-timeout' | 'rejected';

export interface FailoverGroupResult {
  outcome: FailoverOutcome;
  group: string;
  oldPrimary: string;
  newPrimary?: string;
  /** From the start of the failover to Citus/PgBouncer pointing at the new primary. */
  outageWindowMs?: number;
  timeline: Record<string, number>;
  rejoined: string[];
  /** Members that could not rejoin, with the reason. */
  notRejoined: string[];
  detail: string;
}

export interface ApprovalInput {
  approver: string;
  approve: boolean;
  comment?: string;
}

export const FAILOVER_STEPS = ['validate', 'lock', 'confirm-down', 'approval', 'fence', 'promote', 'metadata', 'record', 'rejoin'] as const;
export const failoverProgressQuery = defineQuery<Progress>('progress');
export const approveUpdate = defineUpdate<string, [ApprovalInput]>('approve');

export async function failoverGroup(input: FailoverGroupInput): Promise<FailoverGroupResult> {
  const progress = new ProgressTracker('failoverGroup', FAILOVER_STEPS, () => Date.now());
  setHandler(failoverProgressQuery, () => progress.snapshot());
  let awaitingApproval = false;
  let decision: ApprovalInput | undefined;
  setHandler(
    approveUpdate,
    (a) => {
      decision = a;
      return `${a.approve ? 'approved' : 'rejected'} by ${a.approver}`;
    },
    {
      validator: (a) => {
        if (!awaitingApproval || decision !== undefined) throw new Error('this failover is not waiting for approval');
        if (!a || typeof a.approver !== 'string' || !a.approver.trim()) throw new Error('approver is required');
        if (typeof a.approve !== 'boolean') throw new Error('approve must be true or false');
      },
    },
  );

  const timeline: Record<string, number> = { started: Date.now() };
  const spec = await progress.run('validate', () => validation.validateSpec(input.spec));
  groupMembers(spec, undefined, input.group); // an unknown group fails before the lock
  const owner = `${workflowInfo().workflowId}/${workflowInfo().runId}`;

  progress.start('lock');
  return withGroupLock(spec, input.group, owner, async (assertHeld) => {
    progress.finish('lock', owner);
    // Read under the lock: another orchestrator may have changed the group just before.
    const primaries = await acts.readLivePrimaries(spec);
    const { oldPrimary, standbys } = groupMembers(spec, primaries, input.group);
    const base = { group: input.group, oldPrimary, timeline, rejoined: [] as string[], notRejoined: [] as string[] };
    const probes = await progress.run('confirm-down', () => critical.probeMember({ spec, member: oldPrimary, probes: 3, intervalMs: 200 }), (p) => p.map((x) => x.detail).join('; '));
    timeline.confirmedDown = Date.now();
    if (!primaryIsDown(probes)) {
      return { ...base, outcome: 'primary-healthy' as const, detail: `${oldPrimary} answers; use switchover for a planned change` };
    }

    if (input.requireApproval ?? spec.requireFailoverApproval) {
      progress.start('approval');
      awaitingApproval = true;
      const decided = await condition(() => decision !== undefined, input.approvalTimeout ?? '10m').catch((err: unknown) => {
        throw ApplicationFailure.nonRetryable(`approvalTimeout ${String(input.approvalTimeout)}: ${String(err)}`, 'BadConfig');
      });
      awaitingApproval = false;
      if (!decided) {
        progress.fail('approval', 'timed out');
        return { ...base, outcome: 'approval-timeout' as const, detail: `no approval within ${input.approvalTimeout ?? '10m'}; nothing was changed` };
      }
      if (!decision!.approve) {
        progress.fail('approval', `rejected by ${decision!.approver}`);
        return { ...base, outcome: 'rejected' as const, detail: `rejected by ${decision!.approver}; nothing was changed` };
      }
      progress.finish('approval', `approved by ${decision!.approver}`);
    } else {
      progress.skip('approval', 'not required');
    }

    await assertHeld();
    await progress.run('fence', () => critical.fenceMember({ spec, member: oldPrimary }));
    timeline.fenced = Date.now();
    const newPrimary = await progress.run('promote', async () => {
      const positions = await critical.standbyPositions({ spec, members: standbys });
      const choice = pickStandby(positions);
      if (!choice.member) throw ApplicationFailure.nonRetryable(`no standby can be promoted in ${input.group}: ${choice.reason}`, 'NoCandidate');
      await critical.promoteStandby({ spec, member: choice.member });
      return choice.member;
    }, (m) => m);
    timeline.promoted = Date.now();

    await assertHeld();
    await progress.run('metadata', async () => {
      if (input.group === COORDINATOR_GROUP) {
        await critical.pointCoordinatorAt({ spec, newCoordinator: newPrimary });
        await critical.initPgBouncer({ spec, coordinator: newPrimary });
        return `coordinator ${newPrimary}; PgBouncer re-pointed`;
      }
      const r = await critical.pointCitusAt({ spec, coordinator: primaries.coordinator, oldHost: oldPrimary, newHost: newPrimary });
      return r.updated ? `node ${r.nodeId} -> ${newPrimary}` : 'already pointing there';
    }, (d) => d);
    timeline.metadataUpdated = Date.now();
    const outageWindowMs = timeline.metadataUpdated - timeline.started!;

    await progress.run('record', () => acts.recordPrimaryChange({ spec, group: input.group, oldPrimary, newPrimary, event: { kind: 'failover', outageWindowMs, workflow: owner } }));

    let rejoin: RejoinReport = { streaming: [], failed: [] };
    if (input.rejoin ?? true) {
      rejoin = await progress.run('rejoin', () => rejoinOthers(spec, newPrimary, [oldPrimary, ...standbys]), describeRejoin);
    } else {
      progress.skip('rejoin', 'not requested');
    }
    return { ...base, outcome: 'failed-over' as const, newPrimary, outageWindowMs, rejoined: rejoin.streaming, notRejoined: rejoin.failed, detail: `${oldPrimary} -> ${newPrimary}` };
  });
}
