/**
 * etcd holds the topology (from the spec) and the live state (who is primary per group).
 * Setup writes live state only where none exists: after a failover etcd, not the spec, is the truth.
 */
import type { ClusterSpec } from '../common/spec';
import { etcdPrefix, groupsOf } from '../common/topology';
import type { Primaries } from './citus';
import type { ActivityDeps } from './deps';
import { fatal, notReady } from './errors';
import { pollUntil, withHeartbeat } from './heartbeat';

export const topologyKey = (cluster: string) => `${etcdPrefix(cluster)}/topology`;
export const primaryKey = (cluster: string, group: string) => `${etcdPrefix(cluster)}/groups/${group}/primary`;
export const lastFailoverKey = (cluster: string, group: string) => `${etcdPrefix(cluster)}/groups/${group}/last-failover`;
export const eventKey = (cluster: string, group: string, id: string) => `${etcdPrefix(cluster)}/events/${group}/${id}`;

export function topologyDocument(spec: ClusterSpec) {
  return {
    cluster: spec.name,
    durability: spec.durability,
    groups: groupsOf(spec).map((g) => ({ group: g.group, coordinator: g.isCoordinator, members: [g.primary, ...g.standbys].map((m) => ({ name: m.name, hostPort: m.port })) })),
    pgbouncer: { hostPort: spec.pgbouncer.port, poolMode: spec.pgbouncer.poolMode },
    demo: spec.demo,
  };
}

export function createEtcdActivities(deps: ActivityDeps) {
  /** The live primary of each group: etcd's record when there is one, else the spec's first member. */
  async function readLivePrimaries(spec: ClusterSpec): Promise<Primaries> {
    return withHeartbeat(async () => {
      const etcd = deps.etcd.client(spec);
      const groups = groupsOf(spec);
      const live: Record<string, string> = {};
      try {
        await pollUntil(async () => {
          for (const g of groups) {
            const v = await etcd.get(primaryKey(spec.name, g.group)).string();
            live[g.group] = v && spec.members.some((m) => m.name === v && m.group === g.group) ? v : g.primary.name;
          }
          return true;
        }, 20_000);
      } catch (err) {
        throw notReady(`etcd on 127.0.0.1:${spec.etcd.port} is not reachable: ${(err as Error).message}`);
      }
      const [coord, ...workers] = groups;
      return { coordinator: live[coord!.group]!, workers: Object.fromEntries(workers.map((g) => [g.group, live[g.group]!])) };
    });
  }

  /** Topology put only when it differs; live primaries created only when absent. */
  async function publishToEtcd(input: { spec: ClusterSpec; primaries: Primaries }): Promise<{ written: string[] }> {
    const { spec, primaries } = input;
    return withHeartbeat(async () => {
      const etcd = deps.etcd.client(spec);
      const written: string[] = [];
      const doc = JSON.stringify(topologyDocument(spec));
      if ((await etcd.get(topologyKey(spec.name)).string()) !== doc) {
        await etcd.put(topologyKey(spec.name)).value(doc);
        written.push(topologyKey(spec.name));
      }
      const entries: Array<[string, string]> = [['coordinator', primaries.coordinator], ...Object.entries(primaries.workers)];
      for (const [group, member] of entries) {
        const key = primaryKey(spec.name, group);
        const r = await etcd.if(key, 'Create', '==', 0).then(etcd.put(key).value(member)).commit();
        if (r.succeeded) written.push(key);
      }
      return { written };
    });
  }

  /**
   * Records a new primary (only over the old one or itself: a compare-and-set, so a stale
   * orchestrator cannot overwrite a newer decision) and, when given, the event (keyed by the
   * workflow, so a retry writes it once) and the group's last failover.
   */
  async function recordPrimaryChange(input: { spec: ClusterSpec; group: string; oldPrimary: string; newPrimary: string; event?: Record<string, unknown> & { workflow?: string } }): Promise<{ recorded: boolean }> {
    const { spec, group } = input;
    return withHeartbeat(async () => {
      const etcd = deps.etcd.client(spec);
      const key = primaryKey(spec.name, group);
      const current = await etcd.get(key).string();
      let recorded = false;
      if (current !== input.newPrimary) {
        const txn = current === null ? etcd.if(key, 'Create', '==', 0) : etcd.if(key, 'Value', '==', input.oldPrimary);
        const r = await txn.then(etcd.put(key).value(input.newPrimary)).commit();
        if (!r.succeeded) throw fatal('Conflict', `etcd says ${current} is the primary of ${group}, not ${input.oldPrimary}: another orchestrator acted`);
        recorded = true;
      }
      if (input.event) {
        const doc = JSON.stringify({ at: new Date().toISOString(), group, from: input.oldPrimary, to: input.newPrimary, ...input.event });
        const id = (input.event.workflow ?? new Date().toISOString()).replace(/[^A-Za-z0-9_.-]/g, '_');
        await etcd.put(eventKey(spec.name, group, id)).value(doc);
        await etcd.put(lastFailoverKey(spec.name, group)).value(doc);
      }
      return { recorded };
    });
  }

  return { readLivePrimaries, publishToEtcd, recordPrimaryChange };
}
