/**
 * A Citus background rebalance job as citusctl follows it: the job's state, its moves (done of
 * total, bytes, the moves in flight) and the errors of failed tasks, read from
 * citus_rebalance_status() and get_rebalance_progress(). Pure: safe in workflows, unit-tested.
 */

/**
 * citus_rebalance_start's shard_transfer_mode: auto (logical; needs a replica identity), force_logical, block_writes.
 */
export type TransferMode = 'auto' | 'force_logical' | 'block_writes';
export const TRANSFER_MODES: readonly TransferMode[] = ['auto', 'force_logical', 'block_writes'];

/** pg_dist_background_job states (Citus 12+). */
export type RebalanceJobState =
  'scheduled' | 'running' | 'finished' | 'cancelling' | 'cancelled' | 'failing' | 'failed';

/** One shard move in flight (get_rebalance_progress, progress = 1). */
export interface ShardMove {
  shardId: number;
  table: string;
  source: string;
  target: string;
  /** Citus's phase: Setting Up, Copying Data, Catching Up, Creating Constraints, Final Catchup, ... */
  status: string;
  bytes: number;
  /** Bytes already on the target. */
  targetBytes: number;
}

export interface RebalanceSnapshot {
  jobId: number;
  state: RebalanceJobState;
  /** Background tasks by state (task_state_counts): one task per shard move. */
  tasks: Record<string, number>;
  movesDone: number;
  movesTotal: number;
  /** Bytes of the job's moves, once known (get_rebalance_progress lists every planned move). */
  bytesTotal: number;
  bytesMoved: number;
  current: ShardMove[];
  /** Messages of tasks in error (Citus retries them) or failed. */
  errors: string[];
}

export const TERMINAL_STATES: readonly RebalanceJobState[] = ['finished', 'cancelled', 'failed'];

export const isTerminal = (state: RebalanceJobState) => TERMINAL_STATES.includes(state);

/** The states in which a job is still Citus's business: a new one must not be started. */
export const isActive = (state: RebalanceJobState) => !isTerminal(state);

/** citus_rebalance_status()'s details.task_state_counts: total tasks and those done. */
export function taskCounts(counts: Record<string, number>): { done: number; total: number } {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return { done: counts.done ?? 0, total };
}

/** A progress row of get_rebalance_progress(): progress 0 waiting, 1 moving, 2 done. */
export interface ProgressRow {
  shardId: number;
  table: string;
  source: string;
  target: string;
  progress: number;
  status: string;
  bytes: number;
  targetBytes: number;
}

/**
 * Bytes of every planned move, and of the ones done or in flight
 * (a move in flight counts its target's size, capped at its own).
 */
export function bytesOf(rows: ProgressRow[]): { total: number; moved: number } {
  let total = 0;
  let moved = 0;
  for (const r of rows) {
    total += r.bytes;
    if (r.progress >= 2) moved += r.bytes;
    else if (r.progress === 1) moved += Math.min(r.targetBytes, r.bytes);
  }
  return { total, moved };
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

/**
 * One line for the progress query and the CLI: "4/12 moves,
 * 35.0/104.9 MB; moving 102012 events g1-a -> g3-a (Copying Data)".
 */
export function describeRebalance(s: RebalanceSnapshot): string {
  const parts = [`job ${s.jobId} ${s.state}: ${s.movesDone}/${s.movesTotal} moves`];
  if (s.bytesTotal > 0) parts[0] += `, ${mb(s.bytesMoved)}/${mb(s.bytesTotal)} MB`;
  for (const m of s.current)
    parts.push(
      `moving ${m.shardId} ${m.table} ${m.source} -> ${m.target} ` +
        `(${m.status}${m.bytes ? `, ${mb(Math.min(m.targetBytes, m.bytes))}/${mb(m.bytes)} MB` : ''})`,
    );
  if (s.errors.length) parts.push(`errors: ${s.errors.join(' | ')}`);
  return parts.join('; ');
}

/**
 * Whether `next` is worth reporting over `prev`: a new state, a move done, another move in
 * flight or another phase, a new error. Byte counts alone wait for the next report.
 */
export function changedEnough(prev: RebalanceSnapshot | undefined, next: RebalanceSnapshot): boolean {
  if (!prev) return true;
  if (prev.state !== next.state || prev.movesDone !== next.movesDone || prev.movesTotal !== next.movesTotal)
    return true;
  const key = (s: RebalanceSnapshot) => s.current.map((m) => `${m.shardId}:${m.status}`).join(',');
  return key(prev) !== key(next) || prev.errors.join('|') !== next.errors.join('|');
}
