/**
 * The rebalance runbook's activities on the coordinator: check what logical moves need, start
 * Citus's background rebalancer (or adopt the job already running: a retried start never makes a
 * second one) and follow the job, heartbeating, until it ends or has something new to report.
 */
import type { ClusterSpec } from '../../common/spec';
import { allPrimaries, type Primaries } from '../../common/topology';
import {
  bytesOf,
  changedEnough,
  isActive,
  isTerminal,
  taskCounts,
  TRANSFER_MODES,
  type RebalanceSnapshot,
  type TransferMode,
} from '../../common/rebalance';
import {
  cancelRebalanceJob,
  jobMoveBytes,
  latestRebalanceJob,
  logicalMoveSettings,
  readRebalanceJob,
  rebalanceProgress,
  startRebalanceJob,
  tablesWithoutReplicaIdentity,
} from '../../lib/postgres/rebalance';
import type { Client } from 'pg';
import type { ActivityDeps } from '../deps';
import { livePrimariesOf } from '../store';
import { fatal } from '../../lib/errors';
import { cancellable, sleep, withHeartbeat } from '../heartbeat';
import { onMember } from '../members/superuser';
import { Context } from '@temporalio/activity';

export interface RebalanceInput {
  spec: ClusterSpec;
  drainOnly?: boolean;
  transferMode?: TransferMode;
}

/** Citus runs each move as a background worker plus, for logical moves, a subscription's apply worker. */
const MIN_WORKER_PROCESSES = 8;

export function createRebalanceActivities(deps: ActivityDeps) {
  // Read at each attempt: a retry after a coordinator failover reaches the new coordinator.
  const livePrimaries = (spec: ClusterSpec): Promise<Primaries> => withHeartbeat(() => livePrimariesOf(deps, spec));
  const onCoordinator = async <T>(spec: ClusterSpec, what: string, fn: (c: Client) => Promise<T>): Promise<T> =>
    onMember(deps, spec, (await livePrimaries(spec)).coordinator, what, fn);

  /**
   * Refuses (non-retryable, naming what to do) when a move could not run: a primary without
   * wal_level=logical or with too few worker processes, or (transfer mode auto) tables whose
   * UPDATE/DELETE a logical move could not replicate.
   */
  async function checkRebalanceReady(input: RebalanceInput): Promise<{ nodes: number; transferMode: TransferMode }> {
    const { spec } = input;
    const mode = input.transferMode ?? 'auto';
    if (!TRANSFER_MODES.includes(mode))
      throw fatal('BadConfig', `transfer mode ${String(mode)}: use one of ${TRANSFER_MODES.join(', ')}`);
    return withHeartbeat(async () => {
      const primaries = await livePrimaries(spec);
      const problems: string[] = [];
      if (mode !== 'block_writes') {
        for (const member of allPrimaries(primaries)) {
          const s = await onMember(deps, spec, member, 'reading the settings', logicalMoveSettings);
          if (s.walLevel !== 'logical')
            problems.push(`${member} has wal_level=${s.walLevel} (logical moves need wal_level=logical and a restart)`);
          if (s.maxWorkerProcesses < MIN_WORKER_PROCESSES)
            problems.push(
              `${member} has max_worker_processes=${s.maxWorkerProcesses} (at least ${MIN_WORKER_PROCESSES})`,
            );
        }
      }
      if (mode === 'auto') {
        const tables = await onCoordinator(spec, 'replica identity check', tablesWithoutReplicaIdentity);
        if (tables.length) {
          problems.push(
            `tables without a primary key or replica identity: ${tables.join(', ')} (a logical move could not ` +
              `replicate their UPDATE/DELETE): add a primary key or \`ALTER TABLE ... REPLICA IDENTITY FULL\`, ` +
              'or rerun with --transfer-mode block_writes (writes to a shard wait while it moves) or ' +
              'force_logical (their UPDATE/DELETE fail during a move)',
          );
        }
      }
      if (problems.length) throw fatal('Refused', `rebalance refused, nothing was moved: ${problems.join('; ')}`);
      return { nodes: allPrimaries(primaries).length, transferMode: mode };
    });
  }

  /**
   * The job to follow: the one Citus runs already (started by an earlier attempt of this activity,
   * a crashed worker's, or anyone's), else a new one; null when Citus finds nothing to move.
   */
  async function startRebalance(input: RebalanceInput): Promise<{ jobId: number | null; adopted: boolean }> {
    const { spec } = input;
    return withHeartbeat(() =>
      onCoordinator(spec, 'starting the rebalance', async (c) => {
        const running = await latestRebalanceJob(c);
        if (running && isActive(running.state)) return { jobId: running.jobId, adopted: true };
        const jobId = await startRebalanceJob(c, {
          drainOnly: input.drainOnly ?? false,
          transferMode: input.transferMode ?? 'auto',
        });
        return { jobId, adopted: false };
      }),
    );
  }

  /**
   * Follows job `jobId`, polling twice a second and heartbeating the latest snapshot, until the job
   * ends, or the snapshot changed enough over `previous` to report (and `minMs` passed), or
   * `maxMs` passed. A retry on another worker picks the same job up again.
   */
  async function followRebalance(input: {
    spec: ClusterSpec;
    jobId: number;
    previous?: RebalanceSnapshot;
    minMs?: number;
    maxMs?: number;
  }): Promise<RebalanceSnapshot> {
    const { spec, jobId, previous } = input;
    const started = Date.now();
    const minMs = input.minMs ?? 1000;
    const maxMs = input.maxMs ?? 30_000;
    let ctx: Context | undefined;
    try {
      ctx = Context.current();
    } catch {
      ctx = undefined; // outside an activity (tests)
    }
    // Cancelled: reported at once (the workflow then stops the job with stopRebalance).
    return cancellable(() =>
      onCoordinator(spec, `following rebalance job ${jobId}`, async (c) => {
        // Sizes are read once per call (citus_shard_sizes asks every worker); done moves keep theirs.
        let sizes = await jobMoveBytes(c, jobId);
        let doneAtSizes = -1;
        for (;;) {
          const job = await readRebalanceJob(c, jobId);
          if (!job) throw fatal('Invariant', `rebalance job ${jobId} is not in pg_dist_background_job`);
          const rows = isTerminal(job.state) ? [] : await rebalanceProgress(c);
          const counts = taskCounts(job.tasks);
          if (sizes && doneAtSizes !== -1 && doneAtSizes !== counts.done) sizes = await jobMoveBytes(c, jobId);
          doneAtSizes = counts.done;
          const inFlight = bytesOf(rows.filter((r) => r.progress === 1)).moved;
          const snapshot: RebalanceSnapshot = {
            jobId,
            state: job.state,
            tasks: job.tasks,
            movesDone: counts.done,
            movesTotal: counts.total,
            bytesTotal: sizes?.total ?? 0,
            // Never backwards within a job: a move just finished is briefly neither in flight nor done.
            bytesMoved: sizes
              ? Math.min(
                  sizes.total,
                  job.state === 'finished'
                    ? sizes.total
                    : Math.max(sizes.done + inFlight, previous?.jobId === jobId ? previous.bytesMoved : 0),
                )
              : 0,
            current: rows
              .filter((r) => r.progress === 1)
              .map(({ shardId, table, source, target, status, bytes: b, targetBytes }) => ({
                shardId,
                table,
                source,
                target,
                status,
                bytes: b,
                targetBytes,
              })),
            errors: job.errors,
          };
          ctx?.heartbeat(snapshot);
          const elapsed = Date.now() - started;
          if (isTerminal(job.state) || elapsed >= maxMs || (elapsed >= minMs && changedEnough(previous, snapshot)))
            return snapshot;
          await sleep(500);
        }
      }),
    );
  }

  /** Cancels the job (the workflow following it was cancelled); moves already done stay. */
  async function stopRebalance(input: { spec: ClusterSpec; jobId: number }): Promise<{ cancelled: boolean }> {
    return withHeartbeat(async () => ({
      cancelled: await onCoordinator(input.spec, `cancelling rebalance job ${input.jobId}`, (c) =>
        cancelRebalanceJob(c, input.jobId),
      ),
    }));
  }

  return { checkRebalanceReady, startRebalance, followRebalance, stopRebalance };
}
