/**
 * Citus runbook activities on the coordinator. Each reads the catalog before acting, because the
 * Citus functions are not all idempotent (create_distributed_table errors when repeated).
 * The statements are in lib/postgres (citus-nodes.ts, citus-tables.ts).
 */
import { peerPort } from '../../common/addressing';
import type { Client } from 'pg';
import type { ClusterSpec } from '../../common/spec';
import type { Primaries } from '../../common/topology';
import { APP_USER } from '../../common/topology';
import { onMember as onMemberOf } from '../members/superuser';
import type { ActivityDeps } from '../deps';
import { fatal } from '../../lib/errors';
import { withHeartbeat } from '../heartbeat';
import { addNode, coordinatorNode, nodeRegistration, setCoordinatorHost } from '../../lib/postgres/citus-nodes';
import {
  dropPublicTableIfExists,
  ensureDistributedDemoTable,
  otherUserTables,
  shardPlacements,
  tablesPresent,
} from '../../lib/postgres/citus-tables';

export type { Primaries };

export interface ShardSpread {
  /** Worker primary -> number of the demo table's shard placements it holds (metadata and on disk). */
  perWorker: Record<string, { placements: number; tablesPresent: number }>;
  shardCount: number;
}

export function createCitusActivities(deps: ActivityDeps) {
  const onMember = <T>(spec: ClusterSpec, member: string, what: string, fn: (c: Client) => Promise<T>) =>
    onMemberOf(deps, spec, member, what, fn);

  /** --clean: drops the demo table (its shards go with it). Refuses when other tables exist unless force. */
  async function cleanUp(input: {
    spec: ClusterSpec;
    primaries: Primaries;
    force: boolean;
  }): Promise<{ dropped: boolean; otherTables: string[] }> {
    const { spec } = input;
    return withHeartbeat(() =>
      onMember(spec, input.primaries.coordinator, 'clean-up', async (c) => {
        const otherTables = await otherUserTables(c, spec.demo.table);
        if (otherTables.length && !input.force) {
          throw fatal(
            'Refused',
            `clean-up refused: tables other than the demo table exist (${otherTables.join(', ')}); rerun with ` +
              '--force to clean anyway (they are left alone)',
          );
        }
        return { dropped: await dropPublicTableIfExists(c, spec.demo.table), otherTables };
      }),
    );
  }

  /**
   * citus_set_coordinator_host, then citus_add_node per worker primary; existing rows are checked, not re-added.
   * Heartbeats: citus_add_node syncs metadata and can outlast the heartbeat timeout on a busy machine.
   */
  async function registerNodes(input: {
    spec: ClusterSpec;
    primaries: Primaries;
  }): Promise<{ added: string[]; nodeIds: Record<string, number> }> {
    const { spec, primaries } = input;
    return withHeartbeat(() =>
      onMember(spec, primaries.coordinator, 'node registration', async (c) => {
        const coord = await coordinatorNode(c);
        const coordPort = peerPort(spec, primaries.coordinator);
        if (!coord || coord.host !== primaries.coordinator || coord.port !== coordPort)
          await setCoordinatorHost(c, primaries.coordinator, coordPort);
        const added: string[] = [];
        const nodeIds: Record<string, number> = {};
        for (const [group, host] of Object.entries(primaries.workers)) {
          const node = await nodeRegistration(c, host, peerPort(spec, host));
          if (node) {
            // citus_add_node would return this id even for an inactive or secondary row: check the row.
            if (node.role !== 'primary' || !node.active) {
              throw fatal(
                'Invariant',
                `worker ${host} (group ${group}) is registered as ` +
                  `${node.role}${node.active ? '' : ', inactive'}; fix pg_dist_node before rerunning`,
              );
            }
            nodeIds[host] = node.nodeId;
            continue;
          }
          nodeIds[host] = await addNode(c, host, peerPort(spec, host));
          added.push(host);
        }
        return { added, nodeIds };
      }),
    );
  }

  /** Creates and distributes the demo table unless pg_dist_partition already has it. */
  async function distributeDemoTable(input: {
    spec: ClusterSpec;
    primaries: Primaries;
  }): Promise<{ distributed: boolean }> {
    const { spec } = input;
    return withHeartbeat(() =>
      onMember(spec, input.primaries.coordinator, 'distribution', (c) =>
        ensureDistributedDemoTable(c, spec.demo.table, spec.demo.shardCount, APP_USER),
      ),
    );
  }

  /**
   * Every worker primary holds shards of the demo table: in pg_dist_placement and as real tables.
   * allowEmpty: a worker with no placement at all passes (added after distribution, it gets its
   * shards from a rebalance); a placement without its table never does.
   */
  async function checkShards(input: {
    spec: ClusterSpec;
    primaries: Primaries;
    allowEmpty?: boolean;
  }): Promise<ShardSpread> {
    const { spec, primaries } = input;
    return withHeartbeat(async () => {
      const placements = await onMember(spec, primaries.coordinator, 'shard check', (c) =>
        shardPlacements(c, spec.demo.table),
      );
      const perWorker: ShardSpread['perWorker'] = {};
      let shardCount = 0;
      for (const host of Object.values(primaries.workers)) {
        const shards = placements.find((r) => r.host === host)?.shards ?? [];
        const present = shards.length ? await onMember(spec, host, 'shard check', (c) => tablesPresent(c, shards)) : 0;
        perWorker[host] = { placements: shards.length, tablesPresent: present };
        shardCount += shards.length;
      }
      const empty = Object.entries(perWorker).filter(
        ([, v]) => (v.placements === 0 && !input.allowEmpty) || v.tablesPresent < v.placements,
      );
      if (empty.length) {
        throw fatal(
          'Invariant',
          'workers without (all of) their shards: ' +
            `${empty.map(([h, v]) => `${h} (${v.tablesPresent}/${v.placements})`).join(', ')}`,
        );
      }
      return { perWorker, shardCount };
    });
  }

  return { cleanUp, registerNodes, distributeDemoTable, checkShards };
}
