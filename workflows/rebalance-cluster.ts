/**
 * rebalanceCluster (`rebalance-<cluster>`, `citusctl rebalance`): Citus's background rebalancer,
 * checked before it starts and followed to its end with per-move progress (workflows/followed-rebalance.ts).
 * From the UI: `{"cluster": "demo"}`.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import { ErrorTypes } from '../common/error-types';
import { TRANSFER_MODES, type RebalanceSnapshot, type TransferMode } from '../common/rebalance';
import { acts } from './activity-proxies';
import { specFor, type ClusterRef } from './cluster-input';
import { followedRebalance } from './followed-rebalance';
import { trackProgress } from './progress-query';
import { tagWorkflow } from './tag-workflow';

export interface RebalanceClusterInput extends ClusterRef {
  /** auto (default: logical moves, writes go on), force_logical, block_writes. */
  transferMode?: TransferMode;
}

export interface RebalanceClusterResult {
  cluster: string;
  jobs: number[];
  movesDone: number;
  bytesMoved: number;
  restarts: number;
  final?: RebalanceSnapshot;
}

export const REBALANCE_STEPS = ['validate', 'check', 'start', 'moves'] as const;

export async function rebalanceCluster(input: RebalanceClusterInput): Promise<RebalanceClusterResult> {
  const progress = trackProgress('rebalanceCluster', REBALANCE_STEPS);
  const spec = await progress.run('validate', async () => {
    const mode = input?.transferMode;
    if (mode !== undefined && !TRANSFER_MODES.includes(mode)) throw ApplicationFailure.nonRetryable(`transferMode ${JSON.stringify(mode)}: use one of ${TRANSFER_MODES.join(', ')}`, ErrorTypes.BadConfig);
    const s = await specFor(input);
    await tagWorkflow(s.name);
    return s;
  });
  const transferMode = input.transferMode ?? 'auto';
  await progress.run('check', () => acts.checkRebalanceReady({ spec, transferMode }), (r) => `${r.nodes} primaries ready for ${r.transferMode} moves`);
  const r = await followedRebalance(progress, { start: 'start', moves: 'moves' }, { spec, transferMode });
  return { cluster: spec.name, jobs: r.jobs, movesDone: r.final?.movesDone ?? 0, bytesMoved: r.final?.bytesMoved ?? 0, restarts: r.restarts, ...(r.final ? { final: r.final } : {}) };
}
