/**
 * The demo load's plan, pure: ids 1..rows in id-range batches, the rows a batch still lacks, and
 * the COPY text of those rows. The activity counts each range before it writes it, so a retry or a
 * rerun after a crash writes only what is missing (exactly once).
 */
import { InvariantError } from './workflow-failure';

export interface IdRange {
  from: number;
  to: number;
}

/** Ranges of at most `size` ids covering startAt..rows, in order. */
export function idBatches(rows: number, size: number, startAt = 1): IdRange[] {
  if (!Number.isInteger(size) || size < 1)
    throw new InvariantError(`batch size must be a positive integer, got ${size}`);
  const out: IdRange[] = [];
  for (let from = Math.max(1, startAt); from <= rows; from += size)
    out.push({ from, to: Math.min(rows, from + size - 1) });
  return out;
}

export const rangeSize = (r: IdRange): number => r.to - r.from + 1;

/** The ids of `range` not in `present` (ids outside the range are ignored), ascending. */
export function missingIds(range: IdRange, present: Iterable<number>): number[] {
  const have = new Set(present);
  const out: number[] = [];
  for (let id = range.from; id <= range.to; id++) if (!have.has(id)) out.push(id);
  return out;
}

/** The demo row of an id, as the earlier INSERT..SELECT wrote it: 'demo event ' || id. */
export const demoPayload = (id: number): string => `demo event ${id}`;

/**
 * COPY text-format lines (id TAB payload) for the ids, in chunks of `perChunk` lines, so a stream
 * can apply backpressure without one string per batch. The payload has no tab, newline or backslash.
 */
export function* demoCopyChunks(ids: Iterable<number>, perChunk = 2000): Generator<string> {
  let lines: string[] = [];
  for (const id of ids) {
    lines.push(`${id}\t${demoPayload(id)}\n`);
    if (lines.length >= perChunk) {
      yield lines.join('');
      lines = [];
    }
  }
  if (lines.length) yield lines.join('');
}

/** The ids of a range, lazily (a batch of a million ids is never an array). */
export function* idsOf(range: IdRange): Generator<number> {
  for (let id = range.from; id <= range.to; id++) yield id;
}
