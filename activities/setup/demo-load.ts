/**
 * The demo data load: ids 1..rows written with COPY FROM STDIN in id-range batches, rows generated
 * here and streamed (no INSERT..SELECT pulled through the coordinator). Exactly once across
 * retries and reruns: each range is counted before it is written, and only the ids it lacks are
 * copied; one COPY is one transaction, so a batch is all there or not there; the primary key is
 * the backstop should two attempts ever race (the loser fails, is retried and counts again).
 */
import { Context } from '@temporalio/activity';
import type { Client } from 'pg';
import { demoCopyChunks, idBatches, idsOf, missingIds, rangeSize, type IdRange } from '../../common/demo-load';
import type { ClusterSpec } from '../../common/spec';
import type { Primaries } from '../../common/topology';
import { keepCitusConnections } from '../../lib/postgres/copy';
import { copyDemoRows, countIdsBetween, idsBetween } from '../../lib/postgres/demo-rows';
import type { ActivityDeps } from '../deps';
import { classifyPgError, fatal } from '../../lib/errors';
import { cancellable } from '../heartbeat';
import { asSuperuser } from '../members/superuser';

/** Ids per COPY: large enough that per-statement cost (Citus: a 2PC over the shard connections) stays small. */
export const DEMO_BATCH_SIZE = 100_000;

interface LoadHeartbeat {
  /** The first id of the next batch: every batch before it is committed. */
  next: number;
  progress: string;
}

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // called outside an activity (tests)
  }
}

export function createDemoLoadActivities(deps: ActivityDeps) {
  /** Loads ids 1..rows of the demo table exactly once (see the module comment). */
  async function loadDemoData(input: {
    spec: ClusterSpec;
    primaries: Primaries;
    batchSize?: number;
  }): Promise<{ inserted: number; total: number }> {
    const { spec } = input;
    const rows = spec.demo.rows;
    const table = spec.demo.table;
    const ctx = activityContext();
    // Batches before `next` were committed by an earlier attempt (its last heartbeat): not counted again.
    const resumed = ctx?.info.heartbeatDetails as Partial<LoadHeartbeat> | undefined;
    const batches = idBatches(
      rows,
      input.batchSize ?? DEMO_BATCH_SIZE,
      typeof resumed?.next === 'number' ? resumed.next : 1,
    );
    let last: LoadHeartbeat | undefined;
    const beat = (d?: LoadHeartbeat) => {
      if (d) last = d;
      ctx?.heartbeat(last);
    };
    // A batch can outlast the heartbeat interval on a loaded machine: repeat the last details meanwhile.
    const timer = ctx ? setInterval(() => beat(), 1000) : undefined;
    // Cancelled (the workflow was): the COPY in flight is failed, so its batch is all there or not.
    const load = (signal?: AbortSignal) =>
      asSuperuser(deps, spec, input.primaries.coordinator, async (c) => {
        const count = (r: IdRange) => countIdsBetween(c, table, r.from, r.to);
        const before = await count({ from: 1, to: rows });
        if (before === rows) return { inserted: 0, total: rows };
        beat({ next: batches[0]?.from ?? rows + 1, progress: `rows 0/${rows}` });
        // The shard connections of one COPY serve the next (Citus closes all but one per worker otherwise).
        await keepCitusConnections(c, spec.demo.shardCount);
        for (const batch of batches) {
          signal?.throwIfAborted();
          await loadBatch(c, table, batch, await count(batch), signal);
          beat({ next: batch.to + 1, progress: `rows ${batch.from}-${batch.to} of ${rows}` });
        }
        const total = await count({ from: 1, to: rows });
        if (total !== rows) throw fatal('Invariant', `demo table holds ${total} of ids 1..${rows} after loading`);
        // Counted, not summed from COPY's row counts: a concurrent attempt's rows are not ours.
        return { inserted: total - before, total };
      });
    try {
      return await cancellable(async (signal) => {
        try {
          return await load(signal);
        } catch (err) {
          throw classifyPgError(err, `data load on ${input.primaries.coordinator}`);
        }
      });
    } finally {
      clearInterval(timer);
    }
  }

  return { loadDemoData };
}

/** One range: nothing when full, the whole range when empty, else only the ids it lacks. One COPY. */
async function loadBatch(
  c: Client,
  table: string,
  batch: IdRange,
  present: number,
  signal?: AbortSignal,
): Promise<void> {
  if (present >= rangeSize(batch)) return;
  let ids: Iterable<number> = idsOf(batch);
  if (present > 0) {
    ids = missingIds(batch, await idsBetween(c, table, batch.from, batch.to));
  }
  await copyDemoRows(c, table, demoCopyChunks(ids), signal);
}
