/**
 * etcd holds the topology (from the spec) and the live state (who is primary per group).
 * Setup writes live state only where none exists: after a failover etcd, not the spec, is the truth.
 */
import { primaryKey, topologyKey } from '../../common/etcd-keys';
import type { ClusterSpec } from '../../common/spec';
import { groupsOf } from '../../common/topology';
import type { Primaries } from './citus';
import type { ActivityDeps } from '../deps';
import { fatal } from '../../lib/errors';
import { withHeartbeat } from '../heartbeat';
import { livePrimariesOf, storeOf } from '../store';

export function topologyDocument(spec: ClusterSpec) {
  return {
    cluster: spec.name,
    durability: spec.durability,
    groups: groupsOf(spec).map((g) => ({
      group: g.group,
      coordinator: g.isCoordinator,
      members: [g.primary, ...g.standbys].map((m) => ({ name: m.name, hostPort: m.port })),
    })),
    pgbouncer: { hostPort: spec.pgbouncer.port, poolMode: spec.pgbouncer.poolMode },
    demo: spec.demo,
  };
}

export function createEtcdActivities(deps: ActivityDeps) {
  /** The live primary of each group: etcd's record when there is one, else the spec's first member. */
  const readLivePrimaries = (spec: ClusterSpec): Promise<Primaries> => withHeartbeat(() => livePrimariesOf(deps, spec));

  /** Topology put only when it differs; live primaries created only when absent. */
  async function publishToEtcd(input: { spec: ClusterSpec; primaries: Primaries }): Promise<{ written: string[] }> {
    const { spec, primaries } = input;
    return withHeartbeat(async () => {
      const store = storeOf(deps, spec);
      const written: string[] = [];
      if (await store.publishTopology(topologyDocument(spec))) written.push(topologyKey(spec.name));
      const entries: Array<[string, string]> = [
        ['coordinator', primaries.coordinator],
        ...Object.entries(primaries.workers),
      ];
      for (const [group, member] of entries) {
        if (await store.createPrimaryIfAbsent(group, member)) written.push(primaryKey(spec.name, group));
      }
      return { written };
    });
  }

  /**
   * Records a new primary (only over the old one or itself: a compare-and-set, so a stale
   * orchestrator cannot overwrite a newer decision) and, when given, the event (keyed by the
   * workflow, so a retry writes it once) and the group's last failover.
   */
  async function recordPrimaryChange(input: {
    spec: ClusterSpec;
    group: string;
    oldPrimary: string;
    newPrimary: string;
    event?: Record<string, unknown> & { workflow?: string };
  }): Promise<{ recorded: boolean }> {
    const { spec, group } = input;
    return withHeartbeat(async () => {
      const store = storeOf(deps, spec);
      const current = await store.livePrimary(group);
      let recorded = false;
      if (current !== input.newPrimary) {
        if (await store.swapPrimary(group, current === null ? null : input.oldPrimary, input.newPrimary))
          recorded = true;
        else {
          // A swap that lost the race to the same change (an earlier attempt of this step, still
          // running after a false heartbeat timeout) is done; any other value is someone else's.
          const after = await store.livePrimary(group);
          if (after !== input.newPrimary)
            throw fatal(
              'Conflict',
              `etcd says ${after} is the primary of ${group}, not ${input.oldPrimary}: another orchestrator acted`,
            );
        }
      }
      if (input.event) {
        const doc = {
          at: new Date().toISOString(),
          group,
          from: input.oldPrimary,
          to: input.newPrimary,
          ...input.event,
        };
        // Keyed by the workflow, so a retry writes the event once (etcd-keys makes the id key-safe).
        await store.recordEvent(group, input.event.workflow ?? new Date().toISOString(), doc);
        deps.metrics?.primaryChanged(spec.name, group, input.event);
      }
      return { recorded };
    });
  }

  return { readLivePrimaries, publishToEtcd, recordPrimaryChange };
}
