/** Small helpers shared by the benchmarks: clock, sleep, statistics, a log that also goes to a file. */
import * as fs from 'node:fs';

/** Epoch milliseconds with sub-millisecond resolution (same clock as Date.now()). */
export const now = (): number => performance.timeOrigin + performance.now();
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const numbers = (xs: readonly (number | undefined)[]): number[] =>
  xs.filter((x): x is number => typeof x === 'number' && !Number.isNaN(x));

export function median(xs: readonly (number | undefined)[]): number | undefined {
  const a = numbers(xs).sort((p, q) => p - q);
  if (!a.length) return undefined;
  const mid = Math.floor(a.length / 2);
  return a.length % 2 ? a[mid] : ((a[mid - 1] ?? 0) + (a[mid] ?? 0)) / 2;
}

export function max(xs: readonly (number | undefined)[]): number | undefined {
  const a = numbers(xs);
  return a.length ? Math.max(...a) : undefined;
}

export const sum = (xs: readonly (number | undefined)[]): number => numbers(xs).reduce((p, q) => p + q, 0);

/** Milliseconds, rounded; 'n/a' when unknown. */
export const ms = (x: number | undefined): string =>
  x === undefined || Number.isNaN(x) ? 'n/a' : String(Math.round(x));
/** Seconds with one decimal; 'n/a' when unknown. */
export const secs = (x: number | undefined): string =>
  x === undefined || Number.isNaN(x) ? 'n/a' : (x / 1000).toFixed(1);

export const loadavg = (): string => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join('/');
export const cpuCount = (): number => (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm) ?? []).length;

export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Lines to stdout and to a summary file. */
export class Log {
  private readonly file: number;

  constructor(summaryPath: string) {
    this.file = fs.openSync(summaryPath, 'a');
  }

  line(text = ''): void {
    process.stdout.write(text + '\n');
    fs.writeSync(this.file, text + '\n');
  }

  close(): void {
    fs.closeSync(this.file);
  }
}

/** Resolves with fn's value, or rejects after timeoutMs (fn keeps running; use for probes only). */
export async function withTimeout<T>(timeoutMs: number, what: string, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** Fixed-width text table. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)];
}
