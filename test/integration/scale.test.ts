/**
 * Scale out and in through the real CLI: a third group added to the spec and `up` gives it
 * shards and a streaming standby; `drain` empties and removes it; `up` refuses a spec that leaves out
 * a group still in Citus; drain refuses the last group that can hold shards. A numbered writer goes
 * through PgBouncer the whole time and must lose nothing.
 *
 * On real Citus (CITUSCTL_IMAGE_POSTGRES) also: killing the worker mid-rebalance finishes the same
 * Citus job, and a failover of a target group during a drain is ridden out. The Citus test double
 * moves shards synchronously and copies no rows (test/citus-double/README.md), so those two need
 * real Citus and say so when skipped.
 *
 * Ports 31900-31919, Temporal 32600.
 */
import { Client as TemporalClient, Connection } from '@temporalio/client';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from 'pg';
import { stringify } from 'yaml';
import type { Progress } from '../../common/progress';
import { parseSpec, type ClusterSpecInput } from '../../common/spec';
import {
  CLI,
  citusVersion,
  describeRun,
  destroyCluster,
  docker,
  isDouble,
  layout,
  logCitus,
  makeCluster,
  runCli,
  startCli,
  su,
  withEtcd,
  type TestCluster,
} from './support/cluster';
import { appClient, cliJson, demoCount, expectStreaming, killMember, waitFor } from './support/failover';
import { spawn, type ChildProcess } from 'node:child_process';

jest.setTimeout(20 * 60_000);

const BASE: ClusterSpecInput = layout({
  name: 'it-scale',
  basePort: 31900,
  temporalPort: 32600,
  rows: 3000,
  shardCount: 8,
  coordinatorStandby: false,
});
/** A worker group on its own ports (the layout's ports after the last group are PgBouncer's and etcd's). */
const withGroup = (input: ClusterSpecInput, group: string, port: number): ClusterSpecInput => ({
  ...input,
  workers: [...(input.workers ?? []), group],
  members: [
    ...(input.members ?? []),
    { name: `${group}-a`, group, port },
    { name: `${group}-b`, group, port: port + 1 },
  ],
});
const withoutGroup = (input: ClusterSpecInput, group: string): ClusterSpecInput => ({
  ...input,
  workers: input.workers!.filter((g) => g !== group),
  members: input.members!.filter((m) => m.group !== group),
});

let c: TestCluster;
let real = false;

/** Writes a spec file; `current` also makes it the spec the test's readers (su, ports) go by. */
function specFile(name: string, input: ClusterSpecInput, current = true): string {
  const file = path.join(c.dir, `${name}.yaml`);
  fs.writeFileSync(file, stringify(input));
  if (current) c.spec = parseSpec(input);
  return file;
}

/** Placements per worker host, from the coordinator's catalog. */
async function placements(): Promise<Record<string, number>> {
  return su(c, 'coord-a', async (cl) =>
    Object.fromEntries(
      (
        await cl.query<{ nodename: string; n: string }>(
          'SELECT n.nodename, count(p.placementid)::text AS n ' +
            'FROM pg_dist_node n LEFT JOIN pg_dist_placement p ON p.groupid = n.groupid ' +
            "WHERE n.noderole = 'primary' AND n.groupid <> 0 GROUP BY 1",
        )
      ).rows.map((r) => [r.nodename, Number(r.n)]),
    ),
  );
}

const containerExists = (member: string) =>
  docker
    .getContainer(`citusctl-${c.name}-${member}`)
    .inspect()
    .then(
      () => true,
      () => false,
    );
const volumeExists = (member: string) =>
  docker
    .getVolume(`citusctl-${c.name}-${member}-data`)
    .inspect()
    .then(
      () => true,
      () => false,
    );

/** A numbered writer through PgBouncer: one INSERT at a time; acknowledged ids must all be there at the end. */
class Writer {
  private client?: Client;
  private next: number;
  private stopped = false;
  private loop?: Promise<void>;
  readonly acked: number[] = [];
  /** Ids whose INSERT failed: it may still have committed (an error after the commit). */
  readonly unsure: number[] = [];
  errors = 0;
  lastError = '';

  constructor(private readonly from: number) {
    this.next = from;
  }

  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        let id: number | undefined;
        try {
          this.client ??= await appClient(c);
          id = this.next++;
          await this.client.query(`INSERT INTO public.events (id, payload) VALUES ($1, 'scale-writer')`, [id]);
          this.acked.push(id);
        } catch (err) {
          if (id !== undefined) this.unsure.push(id);
          this.errors++;
          this.lastError = (err as Error).message;
          await this.client?.end().catch(() => undefined);
          this.client = undefined;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await this.client?.end().catch(() => undefined);
  }

  /** Acknowledged ids not readable through PgBouncer now. */
  async lost(): Promise<number[]> {
    const cl = await appClient(c);
    try {
      const have = new Set(
        (
          await cl.query<{ id: string }>('SELECT id::text AS id FROM public.events WHERE id >= $1', [this.from])
        ).rows.map((r) => Number(r.id)),
      );
      return this.acked.filter((id) => !have.has(id));
    } finally {
      await cl.end();
    }
  }
}

async function rowCount(): Promise<number> {
  const cl = await appClient(c);
  try {
    return await demoCount(cl, 'events');
  } finally {
    await cl.end();
  }
}

beforeAll(async () => {
  c = makeCluster(BASE, 32600);
  const up = await runCli(['up', '--json', '-c', c.specFile, '--no-monitor'], c.env);
  if (up.code !== 0) throw new Error(`citusctl up failed: ${describeRun(up)}`);
  const version = await citusVersion(c);
  logCitus(version, 'scale.test');
  real = !isDouble(version);
});

afterAll(async () => {
  if (c) await destroyCluster(c);
});

test('a group added to the spec gets shards and a standby; drain removes it; the writer loses nothing', async () => {
  const spec3 = specFile('with-g3', withGroup(BASE, 'g3', 31910));
  const before = await rowCount();
  const writer = new Writer(50_000_000);
  writer.start();
  try {
    const grown = await cliJson<{
      result: { rebalance?: { jobs: number[]; movesDone: number }; workersAdded: string[] };
      steps: { name: string; state: string; detail?: string }[];
    }>(c, ['up', '--no-monitor'], { specFile: spec3, timeoutMs: 8 * 60_000 });
    expect(grown.result.workersAdded).toEqual(['g3-a']);
    expect(grown.result.rebalance?.jobs.length).toBeGreaterThanOrEqual(1);
    expect(grown.result.rebalance!.movesDone).toBeGreaterThan(0);
    expect(grown.steps.find((s) => s.name === 'moves')?.state).toBe('done');
    const spread = await placements();
    expect(spread['g3-a']).toBeGreaterThan(0);
    expect(spread['g1-a']! + spread['g2-a']! + spread['g3-a']!).toBe(8);
    await expectStreaming(c, 'g3-b', 'g3-a');
    await withEtcd(c, async (etcd) =>
      expect(await etcd.get(`/citusctl/${c.name}/groups/g3/primary`).string()).toBe('g3-a'),
    );
    if (real) {
      // Real Citus moved the rows: g3's primary holds some of them in its shard tables.
      const onG3 = await su(c, 'g3-a', async (cl) => {
        await cl.query('SET citus.override_table_visibility = off');
        const shards = (
          await cl.query<{ t: string }>(
            "SELECT c.relname AS t FROM pg_class c WHERE c.relname ~ '^events_[0-9]+$' AND c.relkind = 'r'",
          )
        ).rows.map((r) => r.t);
        let n = 0;
        for (const t of shards)
          n += Number((await cl.query<{ n: string }>(`SELECT count(*) AS n FROM public."${t}"`)).rows[0]!.n);
        return n;
      });
      expect(onG3).toBeGreaterThan(0);
    } else {
      console.log(
        '[scale.test] Citus test double: shards moved in metadata only (the double copies no rows); real row ' +
          'movement is checked on real Citus',
      );
    }

    const drained = await cliJson<{
      result: { removedContainers: string[]; removedVolumes: string[]; droppedSlots: string[] };
    }>(c, ['drain', 'g3'], { specFile: spec3, timeoutMs: 8 * 60_000 });
    expect(drained.result.removedContainers.sort()).toEqual([`citusctl-${c.name}-g3-a`, `citusctl-${c.name}-g3-b`]);
    expect(drained.result.removedVolumes).toEqual([]);
    expect(drained.result.droppedSlots).toEqual(['citusctl_g3_b']);
    const after = await placements();
    expect(Object.keys(after).sort()).toEqual(['g1-a', 'g2-a']);
    expect(after['g1-a']! + after['g2-a']!).toBe(8);
    expect(await containerExists('g3-a')).toBe(false);
    expect(await containerExists('g3-b')).toBe(false);
    expect(await volumeExists('g3-a')).toBe(true); // kept without --volumes
    await withEtcd(c, async (etcd) =>
      expect(Object.keys(await etcd.getAll().prefix(`/citusctl/${c.name}/groups/g3/`).strings())).toEqual([]),
    );
    const stored = JSON.parse(fs.readFileSync(path.join(c.stateDir, 'clusters', c.name, 'spec.json'), 'utf8')) as {
      workers: string[];
    };
    expect(stored.workers).toEqual(['g1', 'g2']);
    c.spec = parseSpec(BASE);
  } finally {
    await writer.stop();
  }
  expect({ lost: await writer.lost(), acked: writer.acked.length > 0 }).toEqual({ lost: [], acked: true });
  // Every acknowledged row and nothing else; a failed INSERT may have committed before its error.
  const counted = await rowCount();
  expect(counted).toBeGreaterThanOrEqual(before + writer.acked.length);
  expect(counted).toBeLessThanOrEqual(before + writer.acked.length + writer.unsure.length);
  console.log(
    `[scale.test] writer: ${writer.acked.length} acknowledged, ${writer.errors} ` +
      `errors${writer.errors ? ` (last: ${writer.lastError})` : ''}`,
  );
});

test('up refuses a spec that leaves out a group still in Citus, naming drain, and changes nothing', async () => {
  const before = await placements();
  const r = await runCli(
    ['up', '--json', '-c', specFile('without-g2', withoutGroup(BASE, 'g2'), false), '--no-monitor'],
    c.env,
  );
  expect(r.code).not.toBe(0);
  expect(r.stdout + r.stderr).toMatch(
    /leaves out g2 \(Citus node g2-a, \d+ shard placements\); run `citusctl drain g2` first/,
  );
  expect(await placements()).toEqual(before);
  expect(await containerExists('g2-a')).toBe(true);
});

test('drain refuses the last worker group that can hold shards, changing nothing', async () => {
  await su(c, 'coord-a', (cl) => cl.query("SELECT citus_set_node_property('g2-a', 5432, 'shouldhaveshards', false)"));
  try {
    const r = await runCli(['drain', 'g1', '--json', '-c', c.specFile], c.env);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(
      /drain of g1 refused, nothing was changed: g1 is the last worker group that can hold shards/,
    );
    const g1 = await su(
      c,
      'coord-a',
      async (cl) =>
        (await cl.query<{ s: boolean }>("SELECT shouldhaveshards AS s FROM pg_dist_node WHERE nodename = 'g1-a'"))
          .rows[0]!.s,
    );
    expect(g1).toBe(true);
  } finally {
    await su(c, 'coord-a', (cl) => cl.query("SELECT citus_set_node_property('g2-a', 5432, 'shouldhaveshards', true)"));
  }
});

/** The rebalance workflow's progress, asked of the cluster's Temporal server. */
async function rebalanceProgress(): Promise<Progress | undefined> {
  const connection = await Connection.connect({ address: `127.0.0.1:${c.temporalPort}` });
  try {
    return await new TemporalClient({ connection }).workflow
      .getHandle(`rebalance-${c.name}`)
      .query<Progress>('progress');
  } catch {
    return undefined;
  } finally {
    await connection.close();
  }
}

const startWorker = (): ChildProcess =>
  spawn(process.execPath, [CLI, 'worker', '-c', c.specFile], { env: c.env, stdio: 'ignore' });

test('real Citus: killing the worker mid-rebalance and starting another finishes the same Citus job', async () => {
  if (!real)
    return console.log(
      '[scale.test] skipped: killing the worker mid-rebalance needs real Citus (the double moves shards ' +
        'synchronously inside citus_rebalance_start)',
    );
  const spec4 = specFile('with-g4', withGroup(BASE, 'g4', 31912));
  await cliJson(c, ['up', '--no-monitor', '--no-rebalance'], { specFile: spec4, timeoutMs: 8 * 60_000 });
  expect((await placements())['g4-a']).toBe(0);
  const jobsBefore = await su(c, 'coord-a', async (cl) =>
    Number((await cl.query<{ n: string }>('SELECT count(*) AS n FROM pg_dist_background_job')).rows[0]!.n),
  );
  let worker = startWorker();
  const run = startCli(['rebalance', '--no-worker', '--json', '-c', spec4], c.env, 10 * 60_000);
  try {
    const seen = await waitFor(
      'a move in flight',
      async () => {
        const p = await rebalanceProgress();
        const moves = p?.steps.find((s) => s.name === 'moves');
        return moves?.detail?.includes('moving') ? moves.detail : undefined;
      },
      120_000,
      100,
    );
    const jobId = Number(/job (\d+)/.exec(seen)![1]);
    worker.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 1000));
    worker = startWorker();
    const r = await run.done;
    if (r.code !== 0) throw new Error(`citusctl rebalance failed: ${describeRun(r)}`);
    const result = (JSON.parse(r.stdout) as { result: { jobs: number[]; restarts: number } }).result;
    expect(result.jobs).toEqual([jobId]);
    const jobs = await su(
      c,
      'coord-a',
      async (cl) =>
        (
          await cl.query<{ job_id: string; state: string }>(
            'SELECT job_id::text, state::text FROM pg_dist_background_job ORDER BY job_id',
          )
        ).rows,
    );
    expect(jobs.length).toBe(jobsBefore + 1); // one job: the worker's death started no second one
    expect(jobs[jobs.length - 1]).toEqual({ job_id: String(jobId), state: 'finished' });
    expect((await placements())['g4-a']).toBeGreaterThan(0);
  } finally {
    worker.kill('SIGKILL');
    run.child.kill('SIGKILL');
  }
});

test('real Citus: a failover of a target group during a drain is ridden out; nothing is lost', async () => {
  if (!real)
    return console.log(
      '[scale.test] skipped: a failover during a drain needs real Citus (the double moves no data and has no ' +
        'background jobs)',
    );
  const spec4 = specFile('with-g4', withGroup(BASE, 'g4', 31912));
  const before = await rowCount();
  const writer = new Writer(60_000_000);
  writer.start();
  const drain = startCli(['drain', 'g4', '--json', '-c', spec4], c.env, 10 * 60_000);
  try {
    await waitFor(
      'the drain moving a shard',
      async () => {
        const connection = await Connection.connect({ address: `127.0.0.1:${c.temporalPort}` });
        try {
          const p = await new TemporalClient({ connection }).workflow
            .getHandle(`drain-${c.name}-g4`)
            .query<Progress>('progress')
            .catch(() => undefined);
          return p?.steps.find((s) => s.name === 'moves')?.detail?.includes('moving') ? true : undefined;
        } finally {
          await connection.close();
        }
      },
      120_000,
      100,
    );
    await killMember(c, 'g1-a'); // the target group's primary dies mid-move
    const fo = await cliJson<{ result: { outcome: string } }>(c, ['failover', 'g1'], { specFile: spec4 });
    expect(fo.result.outcome).toBe('failed-over');
    const r = await drain.done;
    if (r.code !== 0) throw new Error(`citusctl drain failed: ${describeRun(r)}`);
    const spread = await placements();
    expect(spread['g4-a']).toBeUndefined();
    expect(spread['g1-b']! + spread['g2-a']!).toBe(8);
  } finally {
    await writer.stop();
    drain.child.kill('SIGKILL');
  }
  expect(await writer.lost()).toEqual([]);
  expect(await rowCount()).toBe(before + writer.acked.length);
  console.log(
    `[scale.test] failover during drain: writer ${writer.acked.length} acknowledged, ${writer.errors} ` +
      `errors${writer.errors ? ` (last: ${writer.lastError})` : ''}`,
  );
});
