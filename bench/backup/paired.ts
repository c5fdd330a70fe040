/**
 * Timing two ways of doing the same job pair by pair (A then B, B then A, alternating), so a ratio
 * holds when the shared machine's speed drifts: per pair A's and B's wall time and A/B, then the
 * medians. bench/backup times `citusctl backup` against pgBackRest run by hand this way; the
 * restore bench (`citusctl restore` against a hand `pgbackrest restore`) can call the same.
 */
import { median } from '../lib/util';

export interface PairTiming {
  round: number;
  /** Which ran first this round. */
  first: 'A' | 'B';
  aMs: number;
  bMs: number;
  ratio: number;
}

export interface PairedResult {
  pairs: PairTiming[];
  medianAMs: number | undefined;
  medianBMs: number | undefined;
  /** The median of the per-pair ratios A/B (not the ratio of the medians). */
  medianRatio: number | undefined;
}

/** Wall time of fn in ms. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/**
 * `rounds` pairs of a and b, alternating which goes first; `between` runs (untimed) before every
 * timed run (e.g. a settle pause, a checkpoint), `onPair` after each pair (a log line).
 */
export async function pairedTimes(
  rounds: number,
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
  opts: { between?: () => Promise<unknown>; onPair?: (p: PairTiming) => void } = {},
): Promise<PairedResult> {
  const pairs: PairTiming[] = [];
  for (let round = 1; round <= rounds; round++) {
    const first = round % 2 === 1 ? 'A' : 'B';
    let aMs = 0;
    let bMs = 0;
    for (const side of first === 'A' ? (['A', 'B'] as const) : (['B', 'A'] as const)) {
      await opts.between?.();
      if (side === 'A') aMs = await timed(a);
      else bMs = await timed(b);
    }
    const p: PairTiming = { round, first, aMs, bMs, ratio: aMs / bMs };
    pairs.push(p);
    opts.onPair?.(p);
  }
  return {
    pairs,
    medianAMs: median(pairs.map((p) => p.aMs)),
    medianBMs: median(pairs.map((p) => p.bMs)),
    medianRatio: median(pairs.map((p) => p.ratio)),
  };
}
