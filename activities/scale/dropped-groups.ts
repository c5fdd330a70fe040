/**
 * `up` with a spec that no longer lists a worker group: allowed only once that group left Citus
 * (`citusctl drain <group>` removes it). A group still registered is refused before anything is
 * created, naming the drain; the spec stored at the last setup says which groups there were.
 */
import type { ClusterSpec } from '../../common/spec';
import { parseSpec } from '../../common/spec';
import { readClusterSpec } from '../../lib/cluster-spec-file';
import { workerNodes } from '../../lib/postgres/rebalance';
import { stateDir } from '../../lib/state-dir';
import type { ActivityDeps } from '../deps';
import { livePrimariesOf } from '../store';
import { fatal } from '../../lib/errors';
import { withHeartbeat } from '../heartbeat';
import { asSuperuser } from '../members/superuser';

export function createDroppedGroupActivities(deps: ActivityDeps) {
  async function refuseDroppedGroups(input: { spec: ClusterSpec }): Promise<{ dropped: string[] }> {
    const { spec } = input;
    return withHeartbeat(async () => {
      const raw = await readClusterSpec(stateDir(deps.env), spec.name);
      if (raw === undefined) return { dropped: [] }; // a new cluster
      let stored: ClusterSpec;
      try {
        stored = parseSpec(raw);
      } catch {
        return { dropped: [] }; // an unreadable stored spec says nothing about groups
      }
      const dropped = stored.workers.filter((g) => !spec.workers.includes(g));
      if (!dropped.length) return { dropped };
      const hosts = (g: string) => stored.members.filter((m) => m.group === g).map((m) => m.name);
      let nodes;
      try {
        const { coordinator } = await withHeartbeat(() => livePrimariesOf(deps, stored));
        nodes = await asSuperuser(deps, stored, coordinator, workerNodes);
      } catch (err) {
        throw fatal(
          'Refused',
          `the spec leaves out ${dropped.join(', ')}, which the last setup of ${spec.name} had, and whether ` +
            `Citus still holds them could not be checked (${(err as Error).message}): bring the cluster up with ` +
            `its stored spec, then \`citusctl drain <group>\` each group before leaving it out`,
        );
      }
      const still = dropped
        .map((g) => ({ g, node: nodes.find((n) => hosts(g).includes(n.host)) }))
        .filter((x) => x.node !== undefined);
      if (still.length) {
        const held = still.map((x) => `${x.g} (Citus node ${x.node!.host}, ${x.node!.placements} shard placements)`);
        throw fatal(
          'Refused',
          'up refused, nothing was changed: the spec leaves out ' +
            `${held.join(', ')}; ` +
            `run \`citusctl drain ${still[0]!.g}\` first (it moves the shards away and removes the group), then ` +
            'leave it out of the spec',
        );
      }
      return { dropped };
    });
  }

  return { refuseDroppedGroups };
}
