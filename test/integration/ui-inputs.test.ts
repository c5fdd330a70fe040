/**
 * Operating from the Temporal UI, as a new user would: a long-lived `citusctl worker` started with
 * only CITUSCTL_IMAGE_POSTGRES set (it starts the embedded Temporal server), then the inputs the
 * README gives pasted into `temporal workflow execute`: a small setupCluster spec, then
 * switchoverGroup with `{"cluster","group"}` only. Checks: the setup resolved its own images and
 * stored its spec (state dir and etcd), g1's primary changed (etcd and PostgreSQL), an unknown
 * cluster fails naming it, the histories carry activity summaries, and the UI's filter by
 * CitusCluster lists the workflows. Needs `npm run build`, Docker, the temporal CLI and the images.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OFFLINE_IMAGES, UPSTREAM_IMAGES } from '../../common/images';
import { parseSpec, type ClusterSpecInput } from '../../common/spec';
import { METRICS_PORT_ENV } from '../../worker/metrics-server';
import {
  citusVersion,
  describeRun,
  destroyCluster,
  logCitus,
  makeCluster,
  primaryKey,
  startCli,
  su,
  temporalOn,
  testImages,
  withEtcd,
  type CliRun,
} from './support/cluster';
import { removeLeftovers } from './support/failover';

jest.setTimeout(10 * 60_000);

const TEMPORAL_PORT = 32900;

/** What a user pastes: only what differs from the defaults (here: the test's ports and a small load). */
const SMALL_SPEC = {
  name: 'it-ui',
  members: [
    { name: 'coord-a', group: 'coordinator', port: 31900 },
    { name: 'g1-a', group: 'g1', port: 31901 },
    { name: 'g1-b', group: 'g1', port: 31902 },
  ],
  pgbouncer: { port: 31903 },
  etcd: { port: 31904 },
  demo: { rows: 1000, shardCount: 4 },
  metrics: { port: 31912 },
};

const c = makeCluster(parseSpec(SMALL_SPEC) as ClusterSpecInput, TEMPORAL_PORT);

/** The temporal CLI against the cluster's embedded server. */
const temporal = temporalOn(TEMPORAL_PORT, 5 * 60_000);

/** `temporal workflow execute ... -o json`: the result document (fails the test with the output otherwise). */
async function execute<T>(type: string, workflowId: string, input: unknown): Promise<T> {
  const r = await temporal([
    'workflow',
    'execute',
    '--type',
    type,
    '--task-queue',
    'citusctl',
    '--workflow-id',
    workflowId,
    '--input',
    JSON.stringify(input),
    '-o',
    'json',
  ]);
  if (r.code !== 0) throw new Error(`temporal workflow execute --type ${type} failed: ${describeRun(r)}`);
  const doc = JSON.parse(r.stdout) as { result?: T; status?: string };
  expect(doc.status).toBe('COMPLETED');
  return doc.result as T;
}

describe('operating from the Temporal UI (temporal workflow execute with the README inputs)', () => {
  let worker: CliRun;

  beforeAll(async () => {
    await removeLeftovers(c);
    // As on a new machine: only the PostgreSQL image named; PgBouncer and etcd are the setup's to resolve.
    const env: NodeJS.ProcessEnv = { ...c.env, [METRICS_PORT_ENV]: '31914' };
    delete env.CITUSCTL_IMAGE_PGBOUNCER;
    delete env.CITUSCTL_IMAGE_ETCD;
    worker = startCli(['worker'], env, 9 * 60_000);
    await worker.waitForLine(/task queues "citusctl" and "citusctl-monitor-\w+"/);
  });

  afterAll(async () => {
    worker?.child.kill('SIGTERM');
    await worker?.done;
    await destroyCluster(c);
  });

  it('setupCluster with a small {"spec": ...} builds the cluster, resolving its images, storing its spec', async () => {
    const result = await execute<{
      cluster: string;
      images: Record<string, string>;
      primaries: { coordinator: string; workers: Record<string, string> };
      demoRowsThroughPgBouncer: number;
    }>('setupCluster', 'setup-it-ui', { spec: SMALL_SPEC });
    logCitus(await citusVersion(c), `cluster ${c.name}`);
    expect(result.cluster).toBe('it-ui');
    expect(result.primaries).toEqual({ coordinator: 'coord-a', workers: { g1: 'g1-a' } });
    expect(result.demoRowsThroughPgBouncer).toBe(1000);
    // PostgreSQL from the worker's env; PgBouncer and etcd:
    // upstream where it could be pulled, else the offline stand-in.
    expect(result.images.postgres).toBe(testImages().postgres);
    for (const role of ['pgbouncer', 'etcd'] as const)
      expect([UPSTREAM_IMAGES[role], OFFLINE_IMAGES[role]]).toContain(result.images[role]);
    console.log(`[ui-inputs] images resolved by the setup: ${JSON.stringify(result.images)}`);

    const stored = JSON.parse(fs.readFileSync(path.join(c.stateDir, 'clusters', 'it-ui', 'spec.json'), 'utf8')) as {
      images: unknown;
      workers: string[];
    };
    expect(stored.images).toEqual(result.images);
    expect(stored.workers).toEqual(['g1']); // derived from the members
    const inEtcd = await withEtcd(c, (etcd) => etcd.get('/citusctl/it-ui/spec').string());
    expect(JSON.parse(inEtcd ?? 'null')).toEqual(stored);
  });

  it('the setup history says what each activity did (user metadata summaries)', async () => {
    const r = await temporal(['workflow', 'show', '--workflow-id', 'setup-it-ui', '-o', 'json']);
    expect(r.code).toBe(0);
    type Ev = {
      eventType: string;
      activityTaskScheduledEventAttributes?: unknown;
      userMetadata?: { summary?: { data?: string } };
    };
    const events = (JSON.parse(r.stdout) as { events: Ev[] }).events.filter(
      (e) => e.activityTaskScheduledEventAttributes,
    );
    const summaries = events.map((e) =>
      e.userMetadata?.summary?.data
        ? (JSON.parse(Buffer.from(e.userMetadata.summary.data, 'base64').toString('utf8')) as string)
        : '',
    );
    expect(summaries.every((s) => s.length > 0)).toBe(true);
    expect(summaries).toEqual(
      expect.arrayContaining([
        'resolve images for it-ui',
        'register g1-a',
        'load rows 1-1000 into events',
        'g1-b follows g1-a',
      ]),
    );
  });

  it('switchoverGroup with only {"cluster":"it-ui","group":"g1"} switches g1 over (etcd = PostgreSQL)', async () => {
    const result = await execute<{ oldPrimary: string; newPrimary: string; rejoined: string[] }>(
      'switchoverGroup',
      'switchover-it-ui-g1',
      { cluster: 'it-ui', group: 'g1' },
    );
    expect(result).toMatchObject({ oldPrimary: 'g1-a', newPrimary: 'g1-b', rejoined: ['g1-a'] });
    expect(await withEtcd(c, (etcd) => etcd.get(primaryKey('it-ui', 'g1')).string())).toBe('g1-b');
    expect(
      await su(c, 'g1-b', async (pg) => (await pg.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]!.r),
    ).toBe(false);
    expect(
      await su(c, 'g1-a', async (pg) => (await pg.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]!.r),
    ).toBe(true);
  });

  it('a cluster never set up here fails at once, naming it', async () => {
    const r = await temporal(
      [
        'workflow',
        'execute',
        '--type',
        'failoverGroup',
        '--task-queue',
        'citusctl',
        '--workflow-id',
        'failover-it-ui-nope',
        '--input',
        '{"cluster":"it-ui-nope","group":"g1"}',
      ],
      120_000,
    );
    expect(r.code).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/no cluster it-ui-nope set up here/);
  });

  it("the UI filters by cluster: CitusCluster='it-ui' finds setup and switchover, CitusGroup='g1' one", async () => {
    const list = async (query: string) => {
      const r = await temporal(['workflow', 'list', '--query', query, '-o', 'json']);
      if (r.code !== 0) throw new Error(describeRun(r));
      const text = r.stdout.trim();
      const rows = (
        text.startsWith('[')
          ? JSON.parse(text)
          : text
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l))
      ) as { execution: { workflowId: string } }[];
      return rows.map((w) => w.execution.workflowId).sort();
    };
    expect(await list("CitusCluster='it-ui'")).toEqual(['setup-it-ui', 'switchover-it-ui-g1']);
    expect(await list("CitusCluster='it-ui' AND CitusGroup='g1'")).toEqual(['switchover-it-ui-g1']);
  });
});
