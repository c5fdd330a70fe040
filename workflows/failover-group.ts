/**
 * failoverGroup (id `failover-<cluster>-<group>`): unplanned failover of a worker group or the
 * coordinator. Decide before acting: confirm the primary is down (several probes) and choose the
 * standby that received the most WAL; with none, change nothing (outcome no-candidate). Then
 * optionally wait for an operator's approval (and probe again), fence the old primary, promote the
 * candidate, record it in etcd at once, point Citus (or, for the coordinator, the coordinator's own
 * metadata and PgBouncer) at it, then rejoin the old primary as a standby when its container can run.
 */
import { patched, workflowInfo } from '@temporalio/workflow';
import { hostOfContainer, isMultiHost } from '../common/addressing';
import { backupsEnabled } from '../common/backup-records';
import { pickStandby, primaryIsDown } from '../common/failover-decisions';
import { hintVerdict } from '../common/host-loss';
import type { FailoverGroupInput } from '../common/inputs';
import { COORDINATOR_GROUP } from '../common/topology';
import { monitorWorkflowId } from '../common/workflow-ids';
import { acts, critical, longRunning } from './activity-proxies';
import { ApprovalGate } from './approval-gate';
import { describeRejoin, describeSilent, rejoinOthers, repointCoordinator, type RejoinReport } from './group-helpers';
import { groupOperation } from './group-operation';
import { promoteOrSettle, resolveInDoubt } from './failover-promotion';
import { earlyHostLook } from './early-host-look';
import { fenceOnItsHost, probeOnItsHost, type HostProbe } from './host-fence';

export { approveUpdate, type ApprovalInput } from './approval-gate';

/** Patch: the new primary pushes the old timeline's segments the archive lacks (none in failovers recorded before). */
const ARCHIVE_GAP = 'failover-archive-gap';

/** Patch: confirm-down overlaps choose, record overlaps metadata (a failover recorded before runs them in turn). */
const OVERLAPPED_STEPS = 'failover-overlapped-steps';

/** Patch: the monitor's lost host is looked at while the failover validates and locks (early-host-look.ts). */
const EARLY_LOOK = 'failover-early-host-look';

/**
 * `{"cluster": "demo", "group": "g1"}` (the CLI, the UI) or
 * `{spec, group, ...}` (the monitor); schema in common/inputs.
 */
export type { FailoverGroupInput };

/**
 * needs-operator: the promotion's answer never came and a member that may have been promoted cannot
 * be reached, so the old primary stays fenced (un-fencing could make two primaries); the detail says
 * what to run once the situation is known.
 */
export type FailoverOutcome =
  'failed-over' | 'primary-healthy' | 'no-candidate' | 'approval-timeout' | 'rejected' | 'needs-operator';

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

export const FAILOVER_STEPS = [
  'validate',
  'lock',
  'confirm-down',
  'choose',
  'approval',
  'fence',
  'promote',
  'record',
  'metadata',
  'in-doubt',
  'sync',
  'archive',
  'rejoin',
] as const;

export async function failoverGroup(started: FailoverGroupInput): Promise<FailoverGroupResult> {
  const approval = new ApprovalGate();
  const timeline: Record<string, number> = { started: Date.now() };
  // Used once, by the first confirmation (an approval's later one looks again).
  let early = patched(EARLY_LOOK) ? earlyHostLook(started) : undefined;
  const opening = {
    type: 'failoverGroup' as const,
    workflow: 'failoverGroup',
    steps: FAILOVER_STEPS,
    input: started,
    target: (i: FailoverGroupInput) => ({ group: i.group, candidates: i.candidates }),
    lock: (i: FailoverGroupInput) => ({ ttlSeconds: i.lockTtlSeconds, waitMs: i.lockWaitMs }),
    severalHosts: () => undefined,
  };
  return groupOperation(
    opening,
    async ({ spec, owner, progress, primaries, primary: oldPrimary, standbys, assertHeld }, input) => {
      const base = { group: input.group, oldPrimary, timeline, rejoined: [] as string[], notRejoined: [] as string[] };
      // Decide before acting: with no standby to promote, fencing would only make things worse.
      const eligible = input.candidates ? standbys.filter((s) => input.candidates!.includes(s)) : standbys;
      const restricted = (c: ReturnType<typeof pickStandby>) =>
        c.member || !input.candidates
          ? c
          : {
              member: null,
              reason:
                `${input.candidates.length ? `only ${input.candidates.join(', ')} were` : 'no standby was'} ` +
                `synchronous when ${oldPrimary} failed: ${c.reason}`,
            };
      const choose = async () => restricted(pickStandby(await critical.standbyPositions({ spec, members: eligible })));
      const chooseStep = () =>
        progress.run('choose', choose, (c) => (c.member ? `${c.member}: ${c.reason}` : c.reason));
      // Failovers started since: the choice's read-only look at the standbys overlaps the confirmation.
      const overlap = patched(OVERLAPPED_STEPS);
      // Several hosts: on the old primary's host, or by SQL from here when that host does not answer.
      const severalHosts = isMultiHost(spec);
      let silent: Pick<HostProbe, 'hostSilent' | 'reach'> = { hostSilent: false };
      // The monitor's word that the host is lost (common/host-loss.ts): only from the cluster's own monitor.
      const hint = severalHosts
        ? hintVerdict(input.hostLoss, {
            oldPrimary,
            host: hostOfContainer(spec, oldPrimary).name,
            parentId: workflowInfo().parent?.workflowId,
            monitorId: monitorWorkflowId(spec.name),
          })
        : undefined;
      let lostByMonitor = hint?.use ? { lostForMs: hint.lostForMs, startedAt: timeline.started! } : undefined;
      const confirmDown = async () => {
        if (!severalHosts) return critical.probeMember({ spec, member: oldPrimary, probes: 3, intervalMs: 200 });
        const begun = early?.member === oldPrimary && lostByMonitor ? await early.look : undefined;
        early = undefined;
        const r = begun ?? (await probeOnItsHost(spec, oldPrimary, !!lostByMonitor));
        silent = r;
        return r.probes;
      };
      const describeProbes = (p: Awaited<ReturnType<typeof confirmDown>>) =>
        [
          ...p.map((x) => x.detail),
          ...(input.hostLoss && hint && !hint.use ? [`the monitor's word on the host ${hint.why}`] : []),
        ].join('; ');
      const confirming = progress.run('confirm-down', confirmDown, describeProbes);
      const choosing = overlap ? chooseStep() : undefined;
      void choosing?.catch(() => undefined); // awaited below; a failure while confirming must not go unhandled
      const probes = await confirming;
      timeline.confirmedDown = Date.now();
      // The monitor's word on a lost host and one failed SQL probe of our own (host-fence.ts).
      if (!primaryIsDown(probes, lostByMonitor ? 2 : undefined)) {
        await choosing?.catch(() => undefined);
        return {
          ...base,
          outcome: 'primary-healthy' as const,
          detail: `${oldPrimary} answers; use switchover for a planned change`,
        };
      }

      let choice = await (choosing ?? chooseStep());
      const noCandidate = (reason: string) => ({
        ...base,
        outcome: 'no-candidate' as const,
        detail:
          `no standby of ${input.group} can be promoted (${reason}); nothing was changed: ${oldPrimary} stays ` +
          'the primary and serves again once its container runs',
      });
      if (!choice.member) return noCandidate(choice.reason);

      if (input.requireApproval ?? spec.requireFailoverApproval) {
        progress.start('approval');
        const decision = await approval.wait(input.approvalTimeout ?? '10m');
        if (!decision) {
          progress.fail('approval', 'timed out');
          return {
            ...base,
            outcome: 'approval-timeout' as const,
            detail: `no approval within ${input.approvalTimeout ?? '10m'}; nothing was changed`,
          };
        }
        if (!decision.approve) {
          progress.fail('approval', `rejected by ${decision.approver}`);
          return {
            ...base,
            outcome: 'rejected' as const,
            detail: `rejected by ${decision.approver}; nothing was changed`,
          };
        }
        progress.finish('approval', `approved by ${decision.approver}`);
        lostByMonitor = undefined; // the monitor's word is minutes old: the failover looks for itself
        // Minutes may have passed: the primary may be back, the candidate gone.
        if (!primaryIsDown(await confirmDown())) {
          return {
            ...base,
            outcome: 'primary-healthy' as const,
            detail: `${oldPrimary} answers again after the approval; nothing was changed`,
          };
        }
        choice = await choose();
        if (!choice.member) return noCandidate(choice.reason);
      } else {
        progress.skip('approval', 'not required');
      }
      const candidate = choice.member;

      await assertHeld();
      const fenceReason = `fenced by ${owner}: ${candidate} takes over`;
      if (severalHosts)
        await progress.run(
          'fence',
          () => fenceOnItsHost(spec, oldPrimary, fenceReason, silent, lostByMonitor),
          (f) => f.detail,
        );
      else await progress.run('fence', () => critical.fenceMember({ spec, member: oldPrimary, reason: fenceReason }));
      timeline.fenced = Date.now();
      // A lock lost since the fence (a worker stalled past the TTL) must not promote: another owner may act.
      await assertHeld();
      const promotion = await progress.run(
        'promote',
        () => promoteOrSettle({ spec, owner, group: input.group, oldPrimary, candidate, standbys, assertHeld }),
        (p) => p.detail,
      );
      if (promotion.outcome === 'no-candidate') return noCandidate(promotion.reason);
      if (promotion.outcome === 'needs-operator') {
        progress.fail('promote', promotion.detail);
        return { ...base, outcome: 'needs-operator' as const, detail: promotion.detail };
      }
      const newPrimary = candidate;
      timeline.promoted = Date.now();
      // etcd names the new primary at once: a crash from here on never leaves it naming a fenced member.
      const recording = progress.run(
        'record',
        () => acts.recordPrimaryChange({ spec, group: input.group, oldPrimary, newPrimary }),
        (r) => (r.recorded ? `etcd: ${newPrimary}` : 'already recorded'),
      );
      // Citus is pointed at the new primary while etcd records it (they do not depend on each other).
      if (!overlap) await recording;
      void recording.catch(() => undefined); // awaited below with the metadata step

      await assertHeld();
      const pointing = progress.run(
        'metadata',
        async () => {
          if (input.group === COORDINATOR_GROUP) {
            const silent = await repointCoordinator(spec, newPrimary);
            return `coordinator ${newPrimary}; PgBouncer re-pointed${describeSilent(silent)}`;
          }
          const r = await critical.pointCitusAt({
            spec,
            coordinator: primaries.coordinator,
            oldHost: oldPrimary,
            newHost: newPrimary,
          });
          return r.updated ? `node ${r.nodeId} -> ${newPrimary}` : 'already pointing there';
        },
        (d) => d,
      );
      await Promise.all([recording, pointing]);
      timeline.metadataUpdated = Date.now();
      const outageWindowMs = timeline.metadataUpdated - timeline.started!;
      // Transactions the old primary left PREPAREd hold their row locks on the new primary until
      // Citus resolves them: ask now rather than at its next 2PC recovery (up to a minute away).
      const coordinator = input.group === COORDINATOR_GROUP ? newPrimary : primaries.coordinator;
      await resolveInDoubt(progress, { spec, coordinator, member: newPrimary, gids: promotion.inDoubt });
      if (input.group === COORDINATOR_GROUP) progress.skip('sync', 'coordinator');
      else
        await progress.run(
          'sync',
          () => longRunning.waitMetadataSynced({ spec, coordinator: primaries.coordinator }),
          () => 'metadata synced to the workers',
        );
      await acts.recordPrimaryChange({
        spec,
        group: input.group,
        oldPrimary,
        newPrimary,
        event: { kind: 'failover', outageWindowMs, workflow: owner },
      });

      // Beside the rejoin: neither waits for the other, and writes already go to the new primary.
      const archiving =
        backupsEnabled(spec) && patched(ARCHIVE_GAP)
          ? progress.run(
              'archive',
              () => acts.closeArchiveGap({ spec, group: input.group, primary: newPrimary }),
              (r) =>
                r.pushed.length
                  ? `pushed ${r.pushed.length} segment(s) ${oldPrimary} had not archived`
                  : 'no gap in the archive',
            )
          : Promise.resolve(progress.skip('archive', backupsEnabled(spec) ? 'recorded before' : 'backups disabled'));
      void archiving.catch(() => undefined); // awaited below, after the rejoin
      let rejoin: RejoinReport = { streaming: [], failed: [] };
      if (input.rejoin ?? true) {
        rejoin = await progress.run(
          'rejoin',
          () => rejoinOthers(spec, newPrimary, [oldPrimary, ...standbys]),
          describeRejoin,
        );
      } else {
        progress.skip('rejoin', 'not requested');
      }
      // The failover is done either way: a gap left is health's named problem, not a failed failover.
      await archiving.catch(() => undefined);
      return {
        ...base,
        outcome: 'failed-over' as const,
        newPrimary,
        outageWindowMs,
        rejoined: rejoin.streaming,
        notRejoined: rejoin.failed,
        detail: `${oldPrimary} -> ${newPrimary}`,
      };
    },
  );
}
