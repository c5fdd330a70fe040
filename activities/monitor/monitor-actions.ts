/**
 * What the monitor does by itself (it never fences or promotes: failovers and rejoins are their own
 * workflows): start a stopped standby's container, switch a group's commit between synchronous and
 * asynchronous and record it, and keep the maintenance state in etcd. Each checks before it acts.
 */
import type { MaintenanceRecord } from '../../common/monitor-status';
import type { DurabilityRecord } from '../../common/monitor-observation';
import type { ClusterSpec } from '../../common/spec';
import { containerName } from '../../common/topology';
import type { ActivityDeps } from '../deps';
import { classifyPgError, fatal, notReady } from '../../lib/errors';
import { withHeartbeat } from '../heartbeat';
import { isInRecovery, setCommitWaitsFor, setSynchronousStandbyNames } from '../../lib/postgres';
import { asSuperuser } from '../members/superuser';
import { storeOf } from '../store';

export function createMonitorActionActivities(deps: ActivityDeps) {
  /** docker start of a member's stopped container (its bootstrap obeys its member state: a fenced one stays down). */
  async function restartMember(input: {
    spec: ClusterSpec;
    member: string;
  }): Promise<{ started: boolean; state: string }> {
    const name = containerName(input.spec.name, input.member);
    if (!input.spec.members.some((m) => m.name === input.member))
      throw fatal('BadConfig', `unknown member ${input.member}`);
    // docker start returns once the container runs: seconds on a busy engine, past the 10 s heartbeat timeout.
    return withHeartbeat(async () => {
      const info = await deps.docker
        .getContainer(name)
        .inspect()
        .catch((e: { statusCode?: number }) => {
          if (e.statusCode === 404) return undefined;
          throw e;
        });
      if (!info) throw fatal('Refused', `container ${name} does not exist: \`citusctl up\` re-creates it`);
      if (info.State.Running) return { started: false, state: info.State.Paused ? 'paused' : 'running' };
      await deps.docker
        .getContainer(name)
        .start()
        .catch((e: { statusCode?: number }) => {
          if (e.statusCode !== 304) throw e; // 304: already started
        });
      return { started: true, state: 'running' };
    });
  }

  /**
   * Synchronous: name the group's standbys that stream now (configureDurability, which never names
   * one that does not). Async: synchronous_standby_names = ''. Then record it in etcd (best effort:
   * commits that no longer block matter more than the record; the next change writes it again).
   */
  async function setGroupDurability(input: {
    spec: ClusterSpec;
    group: string;
    primary: string;
    mode: 'synchronous' | 'async';
    reason: string;
  }): Promise<DurabilityRecord & { recorded: boolean }> {
    const { spec, group, primary } = input;
    return withHeartbeat(async () => {
      const standbys = spec.members.filter((m) => m.group === group && m.name !== primary).map((m) => m.name);
      let names: string;
      if (input.mode === 'synchronous') {
        // The spec's durability decides, as in setup's configureDurability.
        names = await asSuperuser(deps, spec, primary, (c) =>
          setCommitWaitsFor(c, spec.durability === 'synchronous', standbys),
        ).catch((err: unknown) => {
          throw classifyPgError(err, `durability settings on ${primary}`);
        });
      } else {
        names = '';
        await asSuperuser(deps, spec, primary, async (c) => {
          if (await isInRecovery(c)) throw fatal('Refused', `${primary} is in recovery: not the primary`);
          await setSynchronousStandbyNames(c, '');
        }).catch((err: unknown) => {
          throw err instanceof Error && 'nonRetryable' in err
            ? err
            : notReady(`async commit on ${primary}: ${(err as Error).message}`);
        });
      }
      const named = names ? standbys.filter((s) => names.includes(`"${s}"`)) : [];
      const record: DurabilityRecord = {
        primary,
        mode: named.length ? 'synchronous' : 'async',
        standbys: named,
        at: new Date().toISOString(),
        reason: input.reason,
      };
      const recorded = await storeOf(deps, spec)
        .writeDurability(group, record)
        .then(
          () => true,
          () => false,
        );
      return { ...record, recorded };
    });
  }

  async function recordMaintenance(input: {
    spec: ClusterSpec;
    maintenance: MaintenanceRecord;
  }): Promise<MaintenanceRecord> {
    return withHeartbeat(async () => {
      try {
        await storeOf(deps, input.spec).writeMaintenance(input.maintenance);
      } catch (err) {
        throw notReady(`recording maintenance in etcd: ${(err as Error).message}`);
      }
      return input.maintenance;
    });
  }

  /** The stored maintenance state (none: not paused). */
  async function readMaintenance(input: { spec: ClusterSpec }): Promise<MaintenanceRecord | null> {
    let v: Partial<MaintenanceRecord> | null;
    try {
      v = (await withHeartbeat(() => storeOf(deps, input.spec).readMaintenance())) as Partial<MaintenanceRecord> | null;
    } catch (err) {
      throw notReady(`reading maintenance from etcd: ${(err as Error).message}`);
    }
    if (v === null) return null;
    return {
      cluster: v.cluster === true,
      groups: Array.isArray(v.groups) ? v.groups.filter((g): g is string => typeof g === 'string') : [],
      at: String(v.at ?? ''),
      ...(v.by ? { by: v.by } : {}),
      ...(v.reason ? { reason: v.reason } : {}),
    };
  }

  return { restartMember, setGroupDurability, recordMaintenance, readMaintenance };
}
