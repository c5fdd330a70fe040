/**
 * After the restored cluster's setup: Citus's metadata names members by their network alias, the
 * same names in the new cluster's own network, so it points at the new members already; this
 * checks it (citus_check_cluster_node_health: every node reaches every node) and resolves the
 * two-phase commits that were prepared but not decided at the restore point
 * (recover_prepared_transactions: commits what the coordinator recorded as committed, aborts the rest).
 */
import type { ClusterSpec } from '../../common/spec';
import { notReady } from '../../lib/errors';
import { citusNodeHealth } from '../../lib/postgres/health-queries';
import { recoverPreparedTransactions } from '../../lib/postgres/two-phase';
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
        const recovered = await recoverPreparedTransactions(c);
        const nodeHealth = (await citusNodeHealth(c)).map((r) => ({ from: r.from, to: r.to, ok: r.result === true }));
        const bad = nodeHealth.filter((h) => !h.ok);
        if (bad.length)
          throw notReady(
            `restored cluster ${input.spec.name}: Citus nodes that cannot reach each other: ` +
              bad.map((h) => `${h.from} -> ${h.to}`).join(', '),
          );
        return { recoveredTransactions: recovered, nodeHealth };
      }),
    );
  }
  return { finishRestore };
}
