/**
 * What one chaos round works with: the cluster, the seeded randomness, a per-round log file (the
 * round's story: fault, every observation that was not healthy, every CLI run with its outcome),
 * and the CLI, whose reports are kept as r<N>-<tag>.json / .err next to the log.
 */
import type { Client } from '@temporalio/client';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BenchCluster } from '../lib/cluster';
import { startCli, type CliOptions, type CliResult, type CliRun } from '../lib/cli';
import { now } from '../lib/util';
import type { Rng } from './rng';

/** Who repairs: the chaos run's own commands (`citusctl failover|up|rejoin`), or the monitor alone. */
export type RepairMode = 'commands' | 'monitor';

export class RoundContext {
  readonly logFile: string;
  private seq = 0;
  readonly t0 = now();

  constructor(
    readonly cluster: BenchCluster,
    private readonly cliOptions: CliOptions,
    readonly rng: Rng,
    readonly round: number,
    readonly mode: RepairMode = 'commands',
    /** Monitor mode only. */
    readonly temporal?: Client,
  ) {
    this.logFile = path.join(cliOptions.outDir, `round${String(round).padStart(2, '0')}.log`);
    fs.writeFileSync(this.logFile, '');
  }

  log(line: string): void {
    fs.appendFileSync(this.logFile, `[+${((now() - this.t0) / 1000).toFixed(1).padStart(6)}s] ${line}\n`);
  }

  private tag(args: string[]): string {
    this.seq += 1;
    const tail = args.join('-').replace(/[^a-z0-9-]/gi, '_');
    return `r${String(this.round).padStart(2, '0')}-${String(this.seq).padStart(2, '0')}-${tail}`;
  }

  /** Starts `citusctl ARGS`; the outcome is logged when it ends. */
  start(args: string[]): CliRun {
    const tag = this.tag(args);
    this.log(`citusctl ${args.join(' ')} (report: ${tag}.json/.err)`);
    const run = startCli(this.cliOptions, args, tag);
    void run.done.then((r) => this.log(`citusctl ${args.join(' ')}: ${describeCli(r)}`));
    return run;
  }

  run(args: string[]): Promise<CliResult> {
    return this.start(args).done;
  }

  /** The latest run of a workflow (monitor mode, where the chaos run has a Temporal client). */
  async describeWorkflow(id: string): Promise<{ startTime: number; status: string } | undefined> {
    const d = await this.temporal?.workflow
      .getHandle(id)
      .describe()
      .catch(() => undefined);
    return d ? { startTime: d.startTime.getTime(), status: d.status.name } : undefined;
  }

  async docker(args: string[]): Promise<string> {
    this.log(`docker ${args.join(' ')}`);
    try {
      return await this.cluster.docker(args);
    } catch (err) {
      this.log(`docker ${args.join(' ')} failed: ${String(err)}`);
      throw err;
    }
  }
}

export function describeCli(r: CliResult): string {
  const took = `${((r.tExit - r.tSpawn) / 1000).toFixed(1)}s`;
  if (r.signal) return `killed (${r.signal}) after ${took}`;
  const res = r.doc.result ?? {};
  const outcome =
    typeof res.outcome === 'string'
      ? `${res.outcome}${typeof res.detail === 'string' ? `: ${res.detail}` : ''}`
      : r.doc.ok
        ? 'ok'
        : 'failed';
  return `exit ${String(r.code)} in ${took}: ${outcome}${r.doc.error ? ` (${r.doc.error})` : ''}`;
}
