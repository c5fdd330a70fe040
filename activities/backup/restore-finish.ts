/**
 * After the restored cluster's setup: Citus's metadata names members by their network alias, the
 * same names in the new cluster's own network, so it points at the new members already; this
 * checks it (citus_check_cluster_node_health: every node reaches every node) and resolves the
 * two-phase commits that were prepared but not decided at the restore point
 * (recover_prepared_transactions: commits what the coordinator recorded as committed, aborts the rest).
 */
import type { ClusterSpec } from '../../common/spec';
import { notReady } from '../../lib/errors';
import type { ActivityDeps } from '../deps';
import { withHeartbeat } from '../heartbeat';
import { onMember } from '../members/superuser';

export interface NodeHealth {
  from: string;
  to: string;
  ok: boolean;
}

export interface RestoreFinish {
  /** Prepared transactions recover_prepared_transactions() committed or aborted. */
  recoveredTransactions: number;
  nodeHealth: NodeHealth[];
}

export function createRestoreFinishActivities(deps: ActivityDeps) {
  async function finishRestore(input: { spec: ClusterSpec; coordinator: string }): Promise<RestoreFinish> {
    return withHeartbeat(() =>
      onMember(deps, input.spec, input.coordinator, 'finishing the restore', async (c) => {
        const recovered = await c.query<{ n: number }>('SELECT recover_prepared_transactions() AS n');
        const health = await c.query<{ from_nodename: string; to_nodename: string; result: boolean }>(
          'SELECT from_nodename, to_nodename, result FROM citus_check_cluster_node_health()',
        );
        const nodeHealth = health.rows.map((r) => ({
          from: r.from_nodename,
          to: r.to_nodename,
          ok: r.result === true,
        }));
        const bad = nodeHealth.filter((h) => !h.ok);
        if (bad.length)
          throw notReady(
            `restored cluster ${input.spec.name}: Citus nodes that cannot reach each other: ` +
              bad.map((h) => `${h.from} -> ${h.to}`).join(', '),
          );
        return { recoveredTransactions: Number(recovered.rows[0]?.n ?? 0), nodeHealth };
      }),
    );
  }
  return { finishRestore };
}
