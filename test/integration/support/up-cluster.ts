/**
 * A cluster set up once for a test file by `citusctl up`, as most integration tests start: the
 * file's run lock, the leftovers of an earlier run removed, `up` (its report must be ok), the Citus
 * under test logged, a Temporal client on the cluster's embedded server, and a wait for the monitor
 * (or whatever the file needs) to be ready; torn down after the file's tests (client closed,
 * `down --volumes`, lock released). And what those files ask the monitor while they break things.
 */
import { afterAll, beforeAll, expect } from '@jest/globals';
import { Client, Connection, type WorkflowExecutionDescription } from '@temporalio/client';
import type { MonitorStatus } from '../../../workflows';
import { backupRepoVolumeName } from '../../../common/topology';
import {
  citusVersion,
  destroyCluster,
  docker,
  logCitus,
  removeLabelled,
  runCli,
  sleep,
  upJson,
  type TestCluster,
} from './cluster';
import {
  acquireRunLock,
  containerOf,
  expectStreaming,
  killMember,
  livePrimaries,
  memberLogTails,
  removeLeftovers,
  waitFor,
} from './failover';

export interface UpCluster {
  /** The Temporal client on the cluster's embedded server (there once beforeAll ran). */
  readonly client: Client;
  /** The monitor's status query. */
  status(): Promise<MonitorStatus>;
  /** The latest run of the group's failover workflow; undefined while none ran. */
  failoverRun(group: string): Promise<WorkflowExecutionDescription | undefined>;
  /** A new client connection (after the embedded Temporal server restarted). */
  reconnect(): Promise<void>;
  /** err with the monitor's status and the tail of every member's log, for a failure message. */
  explain(err: unknown): Promise<Error>;
}

export interface UpClusterOptions {
  /** Runs alongside `up` (e.g. building a second workflow bundle). */
  alongsideUp?: () => Promise<unknown>;
  /** After `up`, once the client is connected (e.g. what the file reads or asserts right after `up`). */
  afterUp?: (t: UpCluster) => Promise<unknown>;
  /** Then waits (up to 120 s, every `intervalMs`, default 500) until `until` returns something other than undefined. */
  ready?: { what: string; until: (t: UpCluster) => Promise<unknown>; intervalMs?: number };
  /** Before the cluster goes (its errors ignored): undo what a test may have left half-done. */
  beforeDown?: () => Promise<unknown>;
}

/** Registers the beforeAll/afterAll of a file's cluster: call it inside the file's describe. */
export function upClusterForFile(c: TestCluster, opts: UpClusterOptions = {}): UpCluster {
  let releaseLock: (() => void) | undefined;
  let connection: Connection | undefined;
  let client: Client | undefined;
  const monitorId = `monitor-${c.name}`;

  const t: UpCluster = {
    get client() {
      if (!client) throw new Error(`no Temporal client for ${c.name}: the file's beforeAll has not connected`);
      return client;
    },
    status: () => t.client.workflow.getHandle(monitorId).query<MonitorStatus>('status'),
    failoverRun: (group) =>
      t.client.workflow
        .getHandle(`failover-${c.name}-${group}`)
        .describe()
        .catch(() => undefined),
    async reconnect() {
      await connection?.close().catch(() => undefined);
      connection = await Connection.connect({ address: `127.0.0.1:${c.temporalPort}` });
      client = new Client({ connection });
    },
    async explain(err) {
      return new Error(
        `${(err as Error).message}\nmonitor: ` +
          `${JSON.stringify(await t.status().catch((e: Error) => e.message), null, 1)}\n${await memberLogTails(c)}`,
      );
    },
  };

  beforeAll(async () => {
    releaseLock = await acquireRunLock(c.name);
    await removeLeftovers(c);
    const [up] = await Promise.all([upJson(c), opts.alongsideUp?.()]);
    expect(up.ok).toBe(true);
    logCitus(await citusVersion(c), `cluster ${c.name}`);
    await t.reconnect();
    await opts.afterUp?.(t);
    const ready = opts.ready;
    if (ready)
      await waitFor(
        ready.what,
        async () => ((await ready.until(t)) === undefined ? undefined : true),
        120_000,
        ready.intervalMs ?? 500,
      );
  });

  afterAll(async () => {
    try {
      await opts.beforeDown?.().catch(() => undefined);
      await connection?.close().catch(() => undefined);
      await destroyCluster(c);
    } finally {
      releaseLock?.();
    }
  });

  return t;
}

/** true once the monitor reports the group's primary answering (and, given, that it is `primary`); undefined before. */
export async function monitorSeesOk(t: UpCluster, group: string, primary?: string): Promise<true | undefined> {
  const g = (await t.status()).groups[group];
  return g?.primaryState === 'ok' && (primary === undefined || g.primary === primary) ? true : undefined;
}

/** true once the monitor reports `primary` as the group's primary, answering, and every other member streaming. */
export async function monitorSeesHealthy(t: UpCluster, group: string, primary: string): Promise<true | undefined> {
  const s = (await t.status().catch(() => undefined))?.groups[group];
  return s?.primary === primary &&
    s.primaryState === 'ok' &&
    Object.entries(s.members).every(([m, w]) => (m === primary ? w === 'primary' : w === 'streaming'))
    ? true
    : undefined;
}

/**
 * Kills the group's primary and waits for etcd to name the successor, for the monitor's failover
 * (a new run) to complete, optionally for the monitor to see the group healthy again, and for the
 * killed member to stream from the successor.
 */
export async function killAndHeal(
  c: TestCluster,
  t: UpCluster,
  group: string,
  victim: string,
  successor: string,
  opts: { untilMonitorSeesHealthy?: boolean } = {},
): Promise<void> {
  const before = (await t.failoverRun(group))?.runId;
  await killMember(c, victim);
  try {
    await waitFor(
      `etcd to name ${successor}`,
      async () => ((await livePrimaries(c))[group] === successor ? true : undefined),
      90_000,
      200,
    );
    await waitFor(
      `the monitor's failover of ${group} to complete`,
      async () => {
        const d = await t.failoverRun(group);
        return d && d.runId !== before && d.status.name === 'COMPLETED' ? true : undefined;
      },
      180_000,
      500,
    );
    if (opts.untilMonitorSeesHealthy)
      await waitFor(
        `${victim} to stream from ${successor} (monitor's view)`,
        () => monitorSeesHealthy(t, group, successor),
        120_000,
        500,
      );
    await expectStreaming(c, victim, successor);
  } catch (err) {
    throw await t.explain(err);
  }
}

/**
 * `docker pause` of the group's primary for 1 s, then several detection windows: no failover ran, etcd and the monitor
 * still name it, answering.
 */
export async function expectNoFailoverAfterBriefPause(
  c: TestCluster,
  t: UpCluster,
  group: string,
  primary: string,
): Promise<void> {
  const container = docker.getContainer(containerOf(c, primary));
  await container.pause();
  await sleep(1000);
  await container.unpause();
  await sleep(5000); // several detection windows
  expect((await t.failoverRun(group))?.status.name ?? 'none').toBe('none');
  expect(await livePrimaries(c)).toMatchObject({ [group]: primary });
  expect((await t.status()).groups[group]).toMatchObject({ primary, primaryState: 'ok' });
}

/**
 * upClusterForFile for a source cluster and the cluster a test restores from it (its own spec file):
 * after the file the restored one is taken down (`down --volumes`, `--backups` too when asked), what
 * is left of it removed, and both clusters' backup repositories deleted.
 */
export function upSourceAndRestoredForFile(
  c: TestCluster,
  restored: { name: string; specFile: string },
  opts: { downBackups?: boolean } = {},
): UpCluster {
  const t = upClusterForFile(c, {
    beforeDown: async () => {
      const backups = opts.downBackups ? ['--backups'] : [];
      await runCli(['down', '--volumes', ...backups, '--json', '-c', restored.specFile], c.env, 120_000);
    },
  });
  afterAll(async () => {
    await removeLabelled(restored.name);
    for (const name of [c.name, restored.name])
      await docker
        .getVolume(backupRepoVolumeName(name))
        .remove()
        .catch(() => undefined);
  });
  return t;
}
