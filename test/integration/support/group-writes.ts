/**
 * After a fault under numbered writers: which acknowledged rows a worker group holds, and the
 * longest time without an acknowledgement from the fault on (how long writes stopped), as the
 * several-hosts tests and bench/host-failover compute them.
 */
import type { Client } from 'pg';

/**
 * The ids of `table` (only those of `ids`, when given) whose shard real Citus places on a node named
 * in `nodes` (a group's members). The Citus test double places nothing (it routes no query): none.
 */
export async function idsPlacedOn(
  c: Client,
  table: string,
  nodes: readonly string[],
  ids?: readonly number[],
): Promise<Set<number>> {
  const rows = ids ? `unnest($2::bigint[]) AS w(id)` : `${table} w`;
  const r = await c.query<{ id: string }>(
    `SELECT w.id FROM ${rows} JOIN pg_dist_placement p ` +
      `ON p.shardid = get_shard_id_for_distribution_column('${table}', w.id) ` +
      'JOIN pg_dist_node n USING (groupid) WHERE n.nodename = ANY($1)',
    ids ? [nodes, ids] : [nodes],
  );
  return new Set(r.rows.map((x) => Number(x.id)));
}

/**
 * The longest gap between consecutive acknowledgements at or after `from` (from itself counting as
 * the first: a row in flight at the fault may still be acknowledged just after it), and when that
 * gap ended (writes resumed). A gap still open at the last acknowledgement is not seen: stop the
 * writers only once writes resumed.
 */
export function longestGapFrom(ackTimes: readonly number[], from: number): { gapMs: number; endsAt: number } {
  const times = [from, ...ackTimes.filter((t) => t >= from).sort((a, b) => a - b)];
  let best = { gapMs: 0, endsAt: from };
  for (let i = 1; i < times.length; i++)
    if (times[i]! - times[i - 1]! > best.gapMs) best = { gapMs: times[i]! - times[i - 1]!, endsAt: times[i]! };
  return best;
}
