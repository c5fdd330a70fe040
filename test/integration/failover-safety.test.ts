/**
 * The failover core's safety edges on real containers and a real etcd:
 *  - double fault (standby stopped, then primary): the failover changes nothing (no-candidate,
 *    exit 1), the old primary serves again once its container runs, the standby streams again,
 *    and `citusctl up` passes;
 *  - a fenced primary (its member state says fenced) never starts PostgreSQL; `citusctl unfence`
 *    makes it serve again;
 *  - a lost lock (lease expired while the worker was stalled longer than the TTL) stops a failover
 *    before it fences: real etcd, real lock activities, the other activities mocked.
 * Needs: `npm run build`, Docker, the temporal CLI (TEMPORAL_CLI_PATH) and the images.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { execFileSync } from 'node:child_process';
import { Worker } from '@temporalio/worker';
import { Etcd3 } from 'etcd3';
import { createLockActivities } from '../../activities/setup/etcd-lock';
import type { ActivityDeps } from '../../activities/deps';
import { parseSpec } from '../../common/spec';
import type { FailoverGroupResult } from '../../workflows';
import {
  citusVersion,
  destroyCluster,
  docker,
  layout,
  logCitus,
  makeCluster,
  runCli,
  sleep,
  temporalCli,
  testImages,
  upJson,
} from './support/cluster';
import {
  acquireRunLock,
  cliJson,
  connectOutcome,
  containerLog,
  containerOf,
  execRoot,
  recoveryInside,
  expectStreaming,
  inRecovery,
  livePrimaries,
  removeLeftovers,
  waitFor,
  type GroupRunJson,
} from './support/failover';
import { mockActivities } from '../workflow/mock-activities';
import { SPEC_INPUT, workflowBundle } from '../workflow/helpers';

jest.setTimeout(10 * 60_000);

const STATE_FILE = '/var/lib/postgresql/citusctl/member.state';
const c = makeCluster(
  layout({
    name: 'it-safe',
    basePort: 31500,
    temporalPort: 32311,
    rows: 100,
    shardCount: 4,
    coordinatorStandby: false,
    workers: ['g1'],
  }),
  32311,
);

async function memberState(member: string): Promise<string> {
  return (await execRoot(c, member, ['sh', '-c', `. ${STATE_FILE}; echo "$STATE"`])).stdout.trim();
}

describe('failover safety on real containers', () => {
  let releaseLock: (() => void) | undefined;

  beforeAll(async () => {
    releaseLock = await acquireRunLock(c.name);
    await removeLeftovers(c);
    const up = await upJson(c);
    expect(up.ok).toBe(true);
    logCitus(await citusVersion(c), `cluster ${c.name}`);
  });

  afterAll(async () => {
    try {
      await destroyCluster(c);
    } finally {
      releaseLock?.();
    }
  });

  it('double fault (standby, then primary stopped): no-candidate, nothing fenced, serves again once up', async () => {
    // The docker CLI, not the API client: a reset of the API socket while containers stop failed this test.
    execFileSync('docker', ['stop', '-t', '5', containerOf(c, 'g1-b')]);
    execFileSync('docker', ['stop', '-t', '5', containerOf(c, 'g1-a')]);

    const r = await runCli(['failover', 'g1', '--json', '-c', c.specFile], c.env, 150_000);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as GroupRunJson<FailoverGroupResult>;
    expect(doc.ok).toBe(false);
    expect(doc.result).toMatchObject({ outcome: 'no-candidate', oldPrimary: 'g1-a' });
    expect(doc.result.detail).toMatch(/nothing was changed/);
    expect(doc.steps.find((s) => s.name === 'fence')?.state).toBe('pending');
    expect(await livePrimaries(c)).toMatchObject({ g1: 'g1-a' });

    // The reboot order of a host: the old primary first, then its standby.
    execFileSync('docker', ['start', containerOf(c, 'g1-a')]);
    await waitFor(
      'g1-a to serve as primary',
      async () => ((await recoveryInside(c, 'g1-a')) === 'f' ? true : undefined),
      60_000,
    );
    expect(await memberState('g1-a')).toBe('primary');
    execFileSync('docker', ['start', containerOf(c, 'g1-b')]);
    await waitFor(
      'g1-b to answer as a standby',
      async () => ((await recoveryInside(c, 'g1-b')) === 't' ? true : undefined),
      60_000,
    );
    await expectStreaming(c, 'g1-b', 'g1-a');

    const up = await upJson(c);
    expect(up.ok).toBe(true);
    expect(up.result.primaries).toEqual({ coordinator: 'coord-a', workers: { g1: 'g1-a' } });
  });

  it('a fenced member never starts PostgreSQL, even re-created on its volume; unfence lets it serve', async () => {
    // What a failover that fenced g1-a and then lost its candidate would leave behind.
    await execRoot(c, 'g1-a', [
      'sh',
      '-c',
      `printf "STATE='fenced'\\nAT='2026-12-02T00:00:00Z'\\nREASON='test'\\n" > ${STATE_FILE}`,
    ]);
    await docker.getContainer(containerOf(c, 'g1-a')).restart({ t: 5 });
    await waitFor(
      'g1-a to log that it is fenced',
      async () => ((await containerLog(c, 'g1-a')).includes('member state is fenced') ? true : undefined),
      30_000,
    );
    await sleep(2000); // time for a (wrong) postgres to come up, if the bootstrap started one
    expect((await connectOutcome(c, 'g1-a')).connected).toBe(false);

    // up refuses clearly instead of waiting for a primary that will never start.
    const upRun = await runCli(['up', '--json', '-c', c.specFile], c.env, 5 * 60_000);
    expect(upRun.code).toBe(1);
    expect(upRun.stdout).toMatch(/g1-a, the recorded primary of group g1, is fenced.*citusctl unfence g1-a/);

    const r = await cliJson<GroupRunJson<{ action: string; primary: string }>>(c, ['unfence', 'g1-a']);
    expect(r.result).toMatchObject({ action: 'serving-as-primary', primary: 'g1-a' });
    await waitFor(
      'g1-b to answer as a standby',
      async () => ((await recoveryInside(c, 'g1-b')) === 't' ? true : undefined),
      60_000,
    );
    expect(await inRecovery(c, 'g1-a')).toBe(false);
    expect(await memberState('g1-a')).toBe('primary');
    await expectStreaming(c, 'g1-b', 'g1-a');
  });

  it('a standby member never starts writable: standby.signal is forced from its state', async () => {
    await execRoot(c, 'g1-b', ['sh', '-c', 'rm -f /var/lib/postgresql/citusctl/pgdata/standby.signal']);
    await docker.getContainer(containerOf(c, 'g1-b')).restart({ t: 5 });
    await waitFor('g1-b to answer', async () => ((await recoveryInside(c, 'g1-b')) ? true : undefined), 60_000);
    expect(await inRecovery(c, 'g1-b')).toBe(true);
  });
});

describe('a lost lock stops a failover before it fences (real etcd)', () => {
  const port = 31590;
  const name = 'citusctl-it-lock-etcd';
  let etcd: Etcd3;
  let env: TestWorkflowEnvironment;

  beforeAll(async () => {
    await docker
      .getContainer(name)
      .remove({ force: true })
      .catch(() => undefined);
    const container = await docker.createContainer({
      name,
      Image: testImages().etcd,
      Entrypoint: ['etcd'],
      Cmd: [
        '--name=etcd',
        '--data-dir=/tmp/etcd',
        '--listen-client-urls=http://0.0.0.0:2379',
        '--advertise-client-urls=http://127.0.0.1:2379',
        '--log-level=warn',
      ],
      ExposedPorts: { '2379/tcp': {} },
      HostConfig: { PortBindings: { '2379/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] } },
    });
    await container.start();
    etcd = new Etcd3({ hosts: `http://127.0.0.1:${port}`, dialTimeout: 3000 });
    await waitFor(
      'etcd to answer',
      async () =>
        await etcd
          .put('/probe')
          .value('1')
          .then(
            () => true,
            () => undefined,
          ),
      30_000,
    );
    env = await TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'existing-path', path: temporalCli() } },
    });
  });

  afterAll(async () => {
    etcd?.close();
    await env?.teardown();
    await docker
      .getContainer(name)
      .remove({ force: true })
      .catch(() => undefined);
  });

  it('the worker stalls past the lease TTL in confirm-down: LockLost, no fenceMember, the key is gone', async () => {
    const deps = { etcd: { client: () => etcd } } as unknown as ActivityDeps;
    const lock = createLockActivities(deps);
    const spec = parseSpec(SPEC_INPUT);
    // etcd's shortest lease is ~2 s; the stall (4 s) outlasts it. It also outlasts the probe's 2 s
    // heartbeat timeout, so only the first attempt stalls: its retry answers, and the failover goes on
    // to the fence with a lease that expired meanwhile.
    const ttlSeconds = 2;
    let stalled = false;
    const m = mockActivities({
      ...lock,
      async probeMember() {
        // A paused worker: nothing runs in this process (not even the lease renewal) for longer than the TTL.
        if (!stalled) {
          stalled = true;
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 4000);
        }
        return [{ ok: false, detail: 'container exited', conclusive: true }];
      },
    });
    const taskQueue = `lock-lost-${Date.now()}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: m.activities,
    });
    const result = await worker.runUntil(
      env.client.workflow
        .execute('failoverGroup', {
          taskQueue,
          workflowId: `failover-lock-${Date.now()}`,
          args: [{ spec: SPEC_INPUT, group: 'g1', lockTtlSeconds: ttlSeconds }],
        })
        .then(
          (r: unknown) => ({ ok: true as const, r }),
          (e: unknown) => ({ ok: false as const, e }),
        ),
    );
    expect(result.ok).toBe(false);
    let cause: unknown = (result as { e: unknown }).e;
    while (cause && (cause as { type?: string }).type === undefined && (cause as { cause?: unknown }).cause)
      cause = (cause as { cause?: unknown }).cause;
    expect(cause).toMatchObject({ type: 'LockLost' });
    expect(String((cause as Error).message)).toMatch(/lost the etcd lock of group g1/);
    expect(m.called('fenceMember')).toHaveLength(0);
    expect(m.called('promoteStandby')).toHaveLength(0);
    expect(await etcd.get(`/citusctl/${spec.name}/locks/g1`).string()).toBeNull();
  });

  it('a second workflow for the same group waits for the lock, then runs', async () => {
    const deps = { etcd: { client: () => etcd } } as unknown as ActivityDeps;
    const lock = createLockActivities(deps);
    const spec = parseSpec(SPEC_INPUT);
    const first = await lock.acquireGroupLock({ spec, group: 'g2', owner: 'someone-else', ttlSeconds: 30 });
    const m = mockActivities({ ...lock });
    const taskQueue = `lock-wait-${Date.now()}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: m.activities,
    });
    const outcome = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start('failoverGroup', {
        taskQueue,
        workflowId: `failover-wait-${Date.now()}`,
        args: [{ spec: SPEC_INPUT, group: 'g2', lockWaitMs: 30_000 }],
      });
      await sleep(1500);
      const fencedWhileHeld = m.called('fenceMember').length;
      await lock.releaseGroupLock({ spec, group: 'g2', owner: 'someone-else' });
      return { fencedWhileHeld, result: (await handle.result()) as FailoverGroupResult };
    });
    expect(first.lease).toBeTruthy();
    expect(outcome.fencedWhileHeld).toBe(0);
    expect(outcome.result.outcome).toBe('failed-over');
  });
});
