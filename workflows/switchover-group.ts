/**
 * switchoverGroup (id `switchover-<cluster>-<group>`): planned change of a group's primary with
 * writes held while the target catches up and is promoted: for a worker group by Citus's pause
 * within a coordinator transaction, for the coordinator by a PgBouncer PAUSE (clients' transactions
 * wait, none fails). Zero acknowledged writes lost by construction. etcd names the new primary
 * right after the switch; the old primary rejoins as a standby.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import { ErrorTypes } from '../common/error-types';
import { pickStandby } from '../common/failover-decisions';
import type { SwitchoverGroupInput } from '../common/inputs';
import { COORDINATOR_GROUP } from '../common/topology';
import { acts, critical, longRunning } from './activity-proxies';
import { describeRejoin, rejoinOthers, repointCoordinator } from './group-helpers';
import { groupOperation } from './group-operation';
import { forContainer } from './host-routing';

/** `{"cluster": "demo", "group": "g1"}` (optional `to`); schema in common/inputs. */
export type { SwitchoverGroupInput };

export interface SwitchoverGroupResult {
  group: string;
  oldPrimary: string;
  newPrimary: string;
  /** Writes to the group were held this long (pause to commit). */
  pauseMs: number;
  rejoined: string[];
  notRejoined: string[];
  detail: string;
}

export const SWITCHOVER_STEPS = ['validate', 'lock', 'choose', 'switch', 'record', 'metadata', 'rejoin'] as const;

export async function switchoverGroup(started: SwitchoverGroupInput): Promise<SwitchoverGroupResult> {
  const opening = {
    type: 'switchoverGroup' as const,
    workflow: 'switchoverGroup',
    steps: SWITCHOVER_STEPS,
    input: started,
    target: (i: SwitchoverGroupInput) => ({ group: i.group, to: i.to }),
    // The coordinator's switchover pauses PgBouncer, one per host there: not across hosts yet.
    severalHosts: (_i: SwitchoverGroupInput, group: string) =>
      group === COORDINATOR_GROUP ? `a switchover of the coordinator group (failover works)` : undefined,
  };
  return groupOperation(
    opening,
    async ({ spec, owner, progress, primaries, primary: oldPrimary, standbys, assertHeld }, input) => {
      const isCoordinatorGroup = input.group === COORDINATOR_GROUP;
      if (input.to === oldPrimary)
        throw ApplicationFailure.nonRetryable(
          `${input.to} is already the primary of ${input.group}`,
          ErrorTypes.BadConfig,
        );
      const target = await progress.run(
        'choose',
        async () => {
          const choice = pickStandby(await critical.standbyPositions({ spec, members: standbys }), input.to);
          if (!choice.member)
            throw ApplicationFailure.nonRetryable(
              `cannot switch over ${input.group}: ${choice.reason}`,
              ErrorTypes.NoCandidate,
            );
          return choice.member;
        },
        (m) => m,
      );
      await assertHeld();
      const section = await progress.run(
        'switch',
        () =>
          // On the old primary's host: the section fences it through that host's engine.
          forContainer(spec, oldPrimary).critical.switchoverCriticalSection({
            spec,
            coordinator: primaries.coordinator,
            oldPrimary,
            newPrimary: target,
            isCoordinatorGroup,
          }),
        (r) => `writes held ${r.pauseMs} ms`,
      );
      // etcd names the new primary at once: a crash from here on never leaves it naming a fenced member.
      await progress.run(
        'record',
        () => acts.recordPrimaryChange({ spec, group: input.group, oldPrimary, newPrimary: target }),
        (r) => (r.recorded ? `etcd: ${target}` : 'already recorded'),
      );
      await progress.run(
        'metadata',
        async () => {
          if (isCoordinatorGroup) {
            // PgBouncer was re-pointed inside the pause; this converges (and checks) it after a crash.
            await repointCoordinator(spec, target); // one host only: refused above with several
            return section.metadataUpdated
              ? 'PgBouncer re-pointed inside the pause; coordinator metadata updated'
              : 'coordinator and PgBouncer re-pointed';
          }
          let detail = 'updated inside the pause';
          if (!section.metadataUpdated) {
            // A retry after a crash past the promotion: converge with force.
            const r = await critical.pointCitusAt({
              spec,
              coordinator: primaries.coordinator,
              oldHost: oldPrimary,
              newHost: target,
            });
            detail = r.updated ? 'updated' : 'already pointing there';
          }
          // The change reaches the metadata workers asynchronously: wait before anything else touches nodes.
          await longRunning.waitMetadataSynced({ spec, coordinator: primaries.coordinator });
          return detail;
        },
        (d) => d,
      );
      await acts.recordPrimaryChange({
        spec,
        group: input.group,
        oldPrimary,
        newPrimary: target,
        event: { kind: 'switchover', pauseMs: section.pauseMs, workflow: owner },
      });
      const r = await progress.run(
        'rejoin',
        () => rejoinOthers(spec, target, [oldPrimary, ...standbys]),
        describeRejoin,
      );
      return {
        group: input.group,
        oldPrimary,
        newPrimary: target,
        pauseMs: section.pauseMs,
        rejoined: r.streaming,
        notRejoined: r.failed,
        detail: `${oldPrimary} -> ${target}`,
      };
    },
  );
}
