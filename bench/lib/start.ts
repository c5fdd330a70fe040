/**
 * What a bench main does before its rounds: settings from the environment, the machine it runs on,
 * `citusctl up` on a clean start (SKIP_UP=1 keeps the cluster that is there), and the Citus under
 * test, named in the log so a figure is never taken for real Citus when it came from the test double.
 */
import type { BenchCluster } from './cluster';
import { runCli, type CliOptions, type CliResult } from './cli';
import { cpuCount, loadavg, max, median, ms, type Log } from './util';

/** A whole number from the environment (a round count, a duration in ms); unset or empty: the fallback. */
export function countFromEnv(v: string | undefined, fallback: number): number {
  const n = v === undefined || v === '' ? fallback : Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`not a count: ${String(v)}`);
  return n;
}

/** The machine line of a summary: CPUs, load at the start, the PostgreSQL image (and `extra`). */
export const machineLine = (extra = ''): string =>
  `machine: ${cpuCount()} CPUs, loadavg ${loadavg()} at start; images: ` +
  `postgres=${process.env.CITUSCTL_IMAGE_POSTGRES ?? '(spec/default)'}${extra}`;

/**
 * `citusctl down --volumes` (the cluster name is the bench's own), then `citusctl up` as a user runs it; undefined with
 * SKIP_UP=1.
 */
export async function upOnCleanStart(cli: CliOptions, upArgs: string[] = ['up']): Promise<CliResult | undefined> {
  if (process.env.SKIP_UP === '1') return undefined;
  await runCli(cli, ['down', '--volumes'], 'down-before');
  const up = await runCli(cli, upArgs, 'up');
  if (!up.doc.ok) throw new Error(`citusctl up failed: ${String(up.doc.error)}`);
  return up;
}

export interface CitusUnderTest {
  version: string;
  isDouble: boolean;
}

/** citus_version() on the coordinator (default: the spec's first coordinator member). */
export async function citusUnderTest(
  cluster: BenchCluster,
  coordinator = cluster.members('coordinator')[0]?.name ?? 'coord-a',
): Promise<CitusUnderTest> {
  const version = await cluster.citusVersion(coordinator);
  return { version, isDouble: version.startsWith('Citus test double') };
}

/**
 * The start of the benches where the monitor repairs under numbered writers (auto-failover,
 * entry-heal, partition): up, then the Citus under test logged with what the double cannot show.
 */
export async function upForMonitorBench(log: Log, cli: CliOptions, cluster: BenchCluster): Promise<CitusUnderTest> {
  await upOnCleanStart(cli);
  const citus = await citusUnderTest(cluster);
  const doubleNote = '  (TEST DOUBLE: the PgBouncer writer never reaches a worker group; see the direct writer)';
  log.line(`citus_version(): ${citus.version}${citus.isDouble ? doubleNote : ''}`);
  return citus;
}

/** A summary's statistic line: the label padded to `width`, median and max in ms, then `note`. */
export const statLine =
  (log: Log, width: number) =>
  (label: string, xs: (number | undefined)[], note = ''): void =>
    log.line(`  ${label.padEnd(width)} median ${ms(median(xs)).padStart(6)}  max ${ms(max(xs)).padStart(6)} ms${note}`);
