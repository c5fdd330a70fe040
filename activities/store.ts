/**
 * The cluster's etcd state for an activity: the store over the worker's cached etcd client, and the live primaries it
 * records.
 */
import { describeTarget } from '../lib/etcd-auth';
import { etcdTargetOf } from '../lib/etcd-connector';
import type { ClusterSpec } from '../common/spec';
import { groupsOf, type Primaries } from '../common/topology';
import { createClusterStore, type ClusterStore } from '../lib/cluster-store';
import { notReady } from '../lib/errors';
import type { ActivityDeps } from './deps';
import { pollUntil } from './heartbeat';

export const storeOf = (deps: Pick<ActivityDeps, 'etcd'>, spec: ClusterSpec): ClusterStore =>
  createClusterStore(deps.etcd.client(spec), spec.name);

/** The live primary of each group: etcd's record when it names a member of the group, else the spec's first member. */
export async function livePrimariesOf(deps: Pick<ActivityDeps, 'etcd'>, spec: ClusterSpec): Promise<Primaries> {
  const store = storeOf(deps, spec);
  const groups = groupsOf(spec);
  const live: Record<string, string> = {};
  try {
    await pollUntil(async () => {
      for (const g of groups) {
        const v = await store.livePrimary(g.group);
        live[g.group] = v && spec.members.some((m) => m.name === v && m.group === g.group) ? v : g.primary.name;
      }
      return true;
    }, 20_000);
  } catch (err) {
    throw notReady(`etcd at ${describeTarget(etcdTargetOf(spec))} is not reachable: ${(err as Error).message}`);
  }
  const [coord, ...workers] = groups;
  return {
    coordinator: live[coord!.group]!,
    workers: Object.fromEntries(workers.map((g) => [g.group, live[g.group]!])),
  };
}
