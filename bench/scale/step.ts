/**
 * One scale step (the scale-out `up`, or the `drain`) under the numbered writer: the writer writes
 * for SETTLE_MS, the CLI runs, the writer writes SETTLE_MS more and stops; then every acknowledged
 * id is read back and the client's view is summed up (longest time without an ack while the CLI
 * ran, longest single INSERT, failed tries). The workflow's own figures come from its --json
 * document: the `moves` step (Citus's background job, followed move by move) and the result.
 */
import type { Client } from 'pg';
import type { BenchCluster } from '../lib/cluster';
import { startCli, stepMs, stepsByName, type CliOptions, type CliResult } from '../lib/cli';
import { loadavg, now, sleep } from '../lib/util';
import { longestGap, lostAcks, NumberedWriter, type IdSource, type WriteConn, type WriteTarget } from '../lib/writer';
import { WaitSampler, type WaitSample } from './sampler';

/** Times every INSERT try (failed ones too): the longest is the worst wait one client saw. */
export class TimedTarget implements WriteTarget {
  readonly tries: { t0: number; t1: number; ok: boolean }[] = [];

  constructor(private readonly inner: WriteTarget) {}

  get label(): string {
    return this.inner.label;
  }

  connect(): Promise<WriteConn | undefined> {
    return this.inner.connect();
  }

  async insert(c: Client, id: number): Promise<void> {
    const t0 = now();
    let ok = false;
    try {
      await this.inner.insert(c, id);
      ok = true;
    } finally {
      this.tries.push({ t0, t1: now(), ok });
    }
  }

  readBack(ids: number[]): Promise<{ present: Set<number>; from: string }> {
    return this.inner.readBack(ids);
  }

  /** The longest try that overlaps [from, to]. */
  longest(from: number, to: number): number {
    return Math.max(0, ...this.tries.filter((x) => x.t1 >= from && x.t0 <= to).map((x) => x.t1 - x.t0));
  }
}

export interface ClientFigures {
  acked: number;
  /** Acked during the CLI run. */
  ackedDuringCli: number;
  lost: number;
  missing: number[];
  readFrom: string;
  /** Longest time without an ack while the CLI ran. */
  maxGapMs: number;
  /** Longest single INSERT try while the CLI ran. */
  maxWriteMs: number;
  /** Failed tries (each retried, same id, until it succeeded) while the CLI ran, and in all. */
  errorsDuringCli: number;
  errors: number;
  firstErrors: string[];
  /** Acks per second while the CLI ran. */
  writesPerSec: number;
  /** The longest gap, in ms after the CLI started. */
  gapFromMs?: number;
  gapToMs?: number;
  /** Failed tries: ms after the CLI started, message. */
  errorLog: { atMs: number; message: string }[];
}

/** A progress line of the CLI (stderr), ms after it started. */
export interface TimedLine {
  atMs: number;
  line: string;
}

export interface StepRun {
  cli: CliResult;
  wallMs: number;
  /** Duration of each workflow step that ran, by name. */
  stepsMs: Record<string, number>;
  client: ClientFigures;
  loadBefore: string;
  loadAfter: string;
  timeline: TimedLine[];
  /** Backends waiting longer than 300 ms on any primary, sampled once a second (atMs: after the CLI started). */
  waits: (WaitSample & { atMs: number })[];
}

export interface StepOptions {
  cli: CliOptions;
  args: string[];
  tag: string;
  target: WriteTarget;
  ids: IdSource;
  intervalMs: number;
  settleMs: number;
  /** Whose primaries the wait sampler watches (the cluster with the added group). */
  cluster: BenchCluster;
}

export async function runStep(o: StepOptions): Promise<StepRun> {
  const target = new TimedTarget(o.target);
  const writer = new NumberedWriter(target, o.ids, o.intervalMs);
  const sampler = new WaitSampler(
    o.cluster,
    o.cluster.groups().map((g) => o.cluster.members(g)[0]?.name ?? g),
  );
  const timeline: TimedLine[] = [];
  writer.start();
  sampler.start();
  let cli: CliResult;
  const loadBefore = loadavg();
  try {
    await sleep(o.settleMs);
    const run = startCli({ ...o.cli, timeoutMs: 60 * 60_000 }, o.args, o.tag);
    let partial = '';
    run.child.stderr?.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) timeline.push({ atMs: now() - run.tSpawn, line: line.trim() });
    });
    cli = await run.done;
    await sleep(o.settleMs);
  } finally {
    await writer.stop();
    await sampler.stop();
  }
  const loadAfter = loadavg();
  const { tSpawn, tExit } = cli;
  const { lost, from } = await lostAcks(writer);
  const during = (t: number) => t >= tSpawn && t <= tExit;
  const ackedDuringCli = writer.acks.filter((a) => during(a.t)).length;
  const errorsDuring = writer.errors.filter((e) => during(e.t));
  const gap = longestGap(writer, tSpawn, tExit);
  const stepsMs = Object.fromEntries(
    Object.entries(stepsByName(cli.doc)).flatMap(([name, s]) => {
      const d = stepMs(s);
      return d === undefined ? [] : [[name, d]];
    }),
  );
  return {
    cli,
    wallMs: tExit - tSpawn,
    stepsMs,
    loadBefore,
    loadAfter,
    timeline,
    waits: sampler.samples.map((x) => ({ ...x, atMs: x.t - tSpawn })),
    client: {
      acked: writer.acks.length,
      ackedDuringCli,
      lost: lost.length,
      missing: lost.slice(0, 20),
      readFrom: from,
      maxGapMs: gap.gapMs,
      ...(gap.start !== undefined ? { gapFromMs: gap.start - tSpawn, gapToMs: gap.start + gap.gapMs - tSpawn } : {}),
      maxWriteMs: target.longest(tSpawn, tExit),
      errorsDuringCli: errorsDuring.length,
      errors: writer.errors.length,
      firstErrors: [...new Set(errorsDuring.map((e) => e.message))].slice(0, 5),
      errorLog: writer.errors.map((e) => ({ atMs: e.t - tSpawn, message: e.message })),
      writesPerSec: tExit > tSpawn ? ackedDuringCli / ((tExit - tSpawn) / 1000) : 0,
    },
  };
}
