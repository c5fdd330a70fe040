/**
 * rebalanceCluster (`rebalance-<cluster>`, `citusctl rebalance`): Citus's background rebalancer,
 * checked before it starts and followed to its end with per-move progress (workflows/followed-rebalance.ts).
 * From the UI: `{"cluster": "demo"}`.
 */
import type { RebalanceClusterInput } from '../common/inputs';
import type { RebalanceSnapshot } from '../common/rebalance';
import { acts } from './activity-proxies';
import { checkedInput } from './checked-input';
import { specFor } from './cluster-input';
import { followedRebalance } from './followed-rebalance';
import { trackProgress } from './progress-query';
import type { Progress } from '../common/progress';
import { tagWorkflow } from './tag-workflow';

/** `{"cluster": "demo"}` (optional `transferMode`); schema in common/inputs. */
export type { RebalanceClusterInput };

export interface RebalanceClusterResult {
  /** Every step's final state (see SetupClusterResult.progress). */
  progress?: Progress;
  cluster: string;
  jobs: number[];
  movesDone: number;
  bytesMoved: number;
  restarts: number;
  final?: RebalanceSnapshot;
}

export const REBALANCE_STEPS = ['validate', 'check', 'start', 'moves'] as const;

export async function rebalanceCluster(started: RebalanceClusterInput): Promise<RebalanceClusterResult> {
  const progress = trackProgress('rebalanceCluster', REBALANCE_STEPS);
  const { input, spec } = await progress.run('validate', async () => {
    const i = checkedInput('rebalanceCluster', started);
    const s = await specFor(i);
    await tagWorkflow(s.name);
    return { input: i, spec: s };
  });
  const transferMode = input.transferMode ?? 'auto';
  await progress.run(
    'check',
    () => acts.checkRebalanceReady({ spec, transferMode }),
    (r) => `${r.nodes} primaries ready for ${r.transferMode} moves`,
  );
  const r = await followedRebalance(progress, { start: 'start', moves: 'moves' }, { spec, transferMode });
  return {
    cluster: spec.name,
    jobs: r.jobs,
    movesDone: r.final?.movesDone ?? 0,
    bytesMoved: r.final?.bytesMoved ?? 0,
    restarts: r.restarts,
    ...(r.final ? { final: r.final } : {}),
    progress: progress.snapshot(),
  };
}
