/**
 * Un-fencing never fails open, on real containers, a real etcd and a real Temporal server: the
 * failover's candidate receives the promote request, promotes, and the orchestrator never gets the
 * answer (a TCP proxy controlled by the test forwards `pg_promote` and then drops every connection
 * to the candidate). The old primary must stay fenced (outcome needs-operator): un-fencing it would
 * make two writable primaries. `citusctl unfence` is refused too while the candidate cannot be
 * reached, and the operator's way out named by the outcome (`citusctl failover g1` once the
 * candidate answers) finishes the failover onto it.
 *
 * The worker runs in this process with the real activities (createActivities(createDeps)); only its
 * connections to the candidate's port go through the proxy.
 * Needs: `npm run build`, Docker, the temporal CLI (TEMPORAL_CLI_PATH) and the images.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import type { PgConnector } from '../../activities/deps';
import type { Client as PgClient } from 'pg';
import { createDeps } from '../../worker/deps';
import type { FailoverGroupResult, UnfenceMemberResult } from '../../workflows';
import { workflowBundle } from '../workflow/helpers';
import {
  citusVersion,
  destroyCluster,
  docker,
  layout,
  logCitus,
  makeCluster,
  memberPort,
  upJson,
  withEtcd,
} from './support/cluster';
import { CutProxy } from './support/cut-proxy';
import {
  acquireRunLock,
  cliJson,
  containerOf,
  recoveryInside,
  expectStreaming,
  livePrimaries,
  removeLeftovers,
  waitFor,
  type GroupRunJson,
} from './support/failover';

jest.setTimeout(10 * 60_000);

const c = makeCluster(
  layout({
    name: 'it-unfence',
    basePort: 31440,
    temporalPort: 32440,
    rows: 100,
    shardCount: 4,
    coordinatorStandby: false,
    workers: ['g1'],
  }),
  32440,
);

const memberStateInEtcd = (member: string) =>
  withEtcd(
    c,
    async (e) =>
      JSON.parse((await e.get(`/citusctl/${c.name}/members/${member}`).string()) ?? 'null') as {
        state: string;
        reason?: string;
      } | null,
  );
const running = async (member: string) => (await docker.getContainer(containerOf(c, member)).inspect()).State.Running;

describe('un-fencing never fails open: the promotion went through, its answer was lost', () => {
  let releaseLock: (() => void) | undefined;
  let proxy: CutProxy;
  let deps: ReturnType<typeof createDeps>;
  let connection: NativeConnection;
  let clientConnection: Connection;
  let client: Client;
  let worker: Worker;
  let running$: Promise<void>;
  const taskQueue = `unfence-safety-${Date.now()}`;

  beforeAll(async () => {
    releaseLock = await acquireRunLock(c.name);
    await removeLeftovers(c);
    expect((await upJson(c)).ok).toBe(true);
    logCitus(await citusVersion(c), `cluster ${c.name}`);

    const candidatePort = memberPort(c, 'g1-b');
    proxy = await CutProxy.start(candidatePort, /pg_promote\(/);
    deps = createDeps(c.env);
    const real = deps.pg;
    // The orchestrator reaches the candidate only through the proxy; every other member directly.
    // TLS hides the statement from the proxy: the query that promotes arms it just before it is sent.
    const PROMOTE = /pg_promote\(/;
    const armOnPromote = (cl: PgClient): PgClient => {
      const query = cl.query.bind(cl) as (...args: unknown[]) => unknown;
      (cl as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        const q = args[0];
        const text = typeof q === 'string' ? q : (q as { text?: string } | undefined)?.text;
        if (text && PROMOTE.test(text)) proxy.arm();
        return query(...args);
      };
      return cl;
    };
    const pg: PgConnector = {
      withClient: (t, fn) =>
        t.port === candidatePort
          ? real.withClient({ ...t, port: proxy.port }, (cl) => fn(armOnPromote(cl)))
          : real.withClient(t, fn),
    };
    connection = await NativeConnection.connect({ address: `127.0.0.1:${c.temporalPort}` });
    worker = await Worker.create({
      connection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: createActivities({ ...deps, pg }),
    });
    running$ = worker.run();
    clientConnection = await Connection.connect({ address: `127.0.0.1:${c.temporalPort}` });
    client = new Client({ connection: clientConnection });
  });

  afterAll(async () => {
    try {
      worker?.shutdown();
      await running$?.catch(() => undefined);
      await connection?.close();
      await clientConnection?.close();
      deps?.close();
      await proxy?.close();
      await destroyCluster(c);
    } finally {
      releaseLock?.();
    }
  });

  it('the old primary stays fenced, unfence is refused, then `citusctl failover` ends on the candidate', async () => {
    await docker.getContainer(containerOf(c, 'g1-a')).kill();
    const result = (await client.workflow.execute('failoverGroup', {
      taskQueue,
      workflowId: `failover-${c.name}-g1-cut`,
      args: [{ spec: c.spec, group: 'g1' }],
    })) as FailoverGroupResult;

    // The promote request reached g1-b and it promoted; the orchestrator never heard back.
    expect({ triggered: proxy.triggeredAt !== undefined, result: result.outcome }).toEqual({
      triggered: true,
      result: 'needs-operator',
    });
    await waitFor(
      'g1-b to finish its promotion',
      async () => ((await recoveryInside(c, 'g1-b')) === 'f' ? true : undefined),
      30_000,
    );

    expect(result).toMatchObject({ outcome: 'needs-operator', group: 'g1', oldPrimary: 'g1-a' });
    expect(result.newPrimary).toBeUndefined();
    expect(result.detail).toMatch(/^g1-a stays fenced: g1-b could not be promoted .* g1-b cannot be reached/);
    expect(result.detail).toMatch(/g1-b cannot be reached \(container running\): it may have been promoted/);
    expect(result.detail).toMatch(/`citusctl failover g1`.*`citusctl unfence g1-a`/);
    // g1-a is fenced and down: one writable member in the group, never two.
    expect(await running('g1-a')).toBe(false);
    expect(await memberStateInEtcd('g1-a')).toMatchObject({ state: 'fenced' });
    expect(await livePrimaries(c)).toMatchObject({ g1: 'g1-a' }); // nothing recorded for a promotion nobody confirmed

    // The operator's unfence through the same orchestrator view (g1-b still unreachable): refused, nothing changed.
    const unfence = client.workflow.execute('unfenceMemberWorkflow', {
      taskQueue,
      workflowId: `unfence-${c.name}-g1-a-cut`,
      args: [{ spec: c.spec, member: 'g1-a' }],
    }) as Promise<UnfenceMemberResult>;
    const err = await unfence.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    let cause: unknown = err;
    while (cause && (cause as { type?: string }).type === undefined && (cause as { cause?: unknown }).cause)
      cause = (cause as { cause?: unknown }).cause;
    expect(cause).toMatchObject({ type: 'Refused' });
    expect(String((cause as Error).message)).toMatch(/cannot unfence g1-a: g1-b cannot be reached/);
    expect(await running('g1-a')).toBe(false);
    expect(await memberStateInEtcd('g1-a')).toMatchObject({ state: 'fenced' });

    // The situation is known once g1-b answers: `citusctl failover g1`
    // (the CLI's own worker, no proxy) finishes onto it.
    const fo = await cliJson<GroupRunJson<FailoverGroupResult>>(c, ['failover', 'g1']);
    expect(fo.result).toMatchObject({ outcome: 'failed-over', oldPrimary: 'g1-a', newPrimary: 'g1-b' });
    expect(await livePrimaries(c)).toMatchObject({ g1: 'g1-b' });
    await waitFor(
      'g1-a to rejoin in recovery',
      async () => ((await recoveryInside(c, 'g1-a')) === 't' ? true : undefined),
      120_000,
    );
    await expectStreaming(c, 'g1-a', 'g1-b');
  });
});
