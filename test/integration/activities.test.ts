/**
 * Activities called directly (outside Temporal) through createActivities(createDeps(env)) against
 * a small real cluster (coordinator + one worker group with a standby, 1000 demo rows):
 * each step is idempotent (a second call changes nothing), and clean-up refuses to run over
 * tables it does not own.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from 'pg';
import { createActivities, type Activities } from '../../activities';
import { lsnToBigInt } from '../../common/lsn';
import type { ClusterSpec } from '../../common/spec';
import { allPrimaries, type Primaries } from '../../common/topology';
import { pollUntil } from '../../lib/poll';
import * as pg from '../../lib/postgres';
import { createDeps } from '../../worker/deps';
import {
  citusVersion,
  destroyCluster,
  docker,
  isDouble,
  layout,
  logCitus,
  makeCluster,
  slotName,
  su,
  withEtcd,
  type TestCluster,
} from './support/cluster';
import { coordinatorRows, distNodes, slotsByPrimary } from './support/end-state';

jest.setTimeout(10 * 60_000);

const ROWS = 1000;

describe('activities outside Temporal are idempotent', () => {
  let c: TestCluster;
  let deps: ReturnType<typeof createDeps>;
  let acts: Activities;
  let spec: ClusterSpec;
  let primaries: Primaries;

  const containerIds = async () => {
    const out: Record<string, string> = {};
    for (const ct of await docker.listContainers({ all: true, filters: { label: [`citusctl.cluster=${c.name}`] } }))
      out[ct.Names[0] ?? ct.Id] = ct.Id;
    return out;
  };

  beforeAll(() => {
    c = makeCluster(
      layout({
        name: 'it-acts',
        basePort: 31200,
        temporalPort: 32246,
        rows: ROWS,
        shardCount: 4,
        workers: ['g1'],
        coordinatorStandby: false,
      }),
      32246,
    );
    deps = createDeps(c.env);
    acts = createActivities(deps);
  });

  afterAll(async () => {
    deps?.close();
    if (c) await destroyCluster(c);
  });

  it('validateSpec fills defaults and generates the secrets once', async () => {
    spec = await acts.validateSpec(c.spec);
    expect(spec).toEqual(c.spec);
    const s1 = await deps.secrets.ensure(c.name);
    await acts.validateSpec(c.spec);
    expect(await deps.secrets.ensure(c.name)).toEqual(s1);
  });

  it('provisionCluster twice: the second creates nothing and keeps the containers', async () => {
    const first = await acts.provisionCluster(spec);
    expect([...first.created].sort()).toEqual(['backup', 'coord-a', 'etcd', 'g1-a', 'g1-b', 'pgbouncer']);
    const ids = await containerIds();
    expect(Object.keys(ids)).toHaveLength(6);
    const second = await acts.provisionCluster(spec);
    expect(second.created).toEqual([]);
    expect(second.network).toBe(first.network);
    expect(second.subnet).toBe(first.subnet);
    expect(await containerIds()).toEqual(ids);
  });

  it('readiness: live primaries from the spec, nodes accept connections, prepareNode twice', async () => {
    primaries = await acts.readLivePrimaries(spec);
    expect(primaries).toEqual({ coordinator: 'coord-a', workers: { g1: 'g1-a' } });
    await acts.waitForNodes({ spec, primaries: allPrimaries(primaries) });
    for (let i = 0; i < 2; i++) for (const member of allPrimaries(primaries)) await acts.prepareNode({ spec, member });
    logCitus(await citusVersion(c), `cluster ${c.name}`);
    const roles = await su(c, 'coord-a', async (cl) =>
      (
        await cl.query<{ rolname: string }>(
          "SELECT rolname FROM pg_roles WHERE rolname IN ('app','replicator') ORDER BY 1",
        )
      ).rows.map((r) => r.rolname),
    );
    expect(roles).toEqual(['app', 'replicator']);
  });

  it('registerNodes twice: no duplicate pg_dist_node rows', async () => {
    const first = await acts.registerNodes({ spec, primaries });
    expect(first.added).toEqual(['g1-a']);
    const rows = await distNodes(c);
    const second = await acts.registerNodes({ spec, primaries });
    expect(second.added).toEqual([]);
    expect(second.nodeIds).toEqual(first.nodeIds);
    expect(await distNodes(c)).toEqual(rows);
    expect(rows.map((r) => [r.groupid === 0, r.nodename])).toEqual([
      [true, 'coord-a'],
      [false, 'g1-a'],
    ]);
  });

  it('distributeDemoTable twice: the second reports distributed=false and does not fail', async () => {
    expect(await acts.distributeDemoTable({ spec, primaries })).toEqual({ distributed: true });
    expect(await acts.distributeDemoTable({ spec, primaries })).toEqual({ distributed: false });
    const meta = await su(c, 'coord-a', async (cl) => ({
      partitions: (
        await cl.query('SELECT 1 FROM pg_dist_partition WHERE logicalrelid = $1::regclass', ['public.events'])
      ).rowCount,
      shards: Number(
        (
          await cl.query<{ n: string }>(
            "SELECT count(*) AS n FROM pg_dist_shard WHERE logicalrelid = 'public.events'::regclass",
          )
        ).rows[0]!.n,
      ),
    }));
    expect(meta).toEqual({ partitions: 1, shards: 4 });
  });

  it('loadDemoData twice: exact count, nothing inserted the second time; a gap is refilled exactly', async () => {
    expect(await acts.loadDemoData({ spec, primaries, batchSize: 300 })).toEqual({ inserted: ROWS, total: ROWS });
    expect(await acts.loadDemoData({ spec, primaries, batchSize: 300 })).toEqual({ inserted: 0, total: ROWS });
    expect(await coordinatorRows(c)).toBe(ROWS);
    await su(c, 'coord-a', (cl) => cl.query('DELETE FROM public.events WHERE id BETWEEN 500 AND 600'));
    expect(await acts.loadDemoData({ spec, primaries, batchSize: 300 })).toEqual({ inserted: 101, total: ROWS });
    expect(await coordinatorRows(c)).toBe(ROWS);
  });

  it('checkShards: the worker holds every shard', async () => {
    const spread = await acts.checkShards({ spec, primaries });
    expect(spread).toEqual({ shardCount: 4, perWorker: { 'g1-a': { placements: 4, tablesPresent: 4 } } });
  });

  it('followPrimary twice: seeded once, one slot, streaming', async () => {
    const pair = { spec, standby: 'g1-b', primary: 'g1-a' };
    expect(await acts.followPrimary(pair)).toEqual({ seeded: true, slot: slotName('g1-b') });
    expect(await acts.followPrimary(pair)).toEqual({ seeded: false, slot: slotName('g1-b'), existingState: 'standby' });
    const status = await acts.checkReplication({ ...pair, timeoutMs: 60_000 });
    expect(status).toMatchObject({ standby: 'g1-b', primary: 'g1-a', slot: 'citusctl_g1_b', state: 'streaming' });
    expect(await slotsByPrimary(c)).toEqual({ 'coord-a': [], 'g1-a': ['citusctl_g1_b'] });
    for (let i = 0; i < 2; i++)
      expect(await acts.configureDurability({ spec, primary: 'g1-a', standbys: ['g1-b'] })).toEqual({
        synchronousStandbyNames: 'ANY 1 ("g1-b")',
      });
  });

  it('node operations (lib/postgres) on the primary and its streaming standby', async () => {
    const onPrimary = <T>(fn: (cl: Client) => Promise<T>) => su(c, 'g1-a', fn);
    const onStandby = <T>(fn: (cl: Client) => Promise<T>) => su(c, 'g1-b', fn);
    // Role and positions: the standby replays up to what the primary flushed.
    expect(await onPrimary(pg.readRole)).toEqual({ inRecovery: false, timeline: expect.any(Number) });
    expect(await onStandby(pg.isInRecovery)).toBe(true);
    const flushed = lsnToBigInt(await onPrimary(pg.currentFlushLsn));
    await pollUntil(async () => {
      const replayed = await onStandby(pg.replayLsn);
      return replayed && lsnToBigInt(replayed) >= flushed ? true : undefined;
    }, 30_000);
    expect(await onStandby(pg.readPositions)).toEqual({
      inRecovery: true,
      replayLsn: expect.stringMatching(/^[0-9A-F]+\/[0-9A-F]+$/),
      receiveLsn: expect.stringMatching(/^[0-9A-F]+\/[0-9A-F]+$/),
    });
    expect((await onPrimary(pg.readPositions)).inRecovery).toBe(false);
    // Walsender and receiver, seen from both ends.
    expect(await onPrimary(pg.replicationRows)).toEqual([
      { standby: 'g1-b', state: 'streaming', lagBytes: expect.any(Number), syncState: 'quorum' },
    ]);
    expect(await onPrimary(pg.streamingStandbys)).toEqual(['g1-b']);
    expect(await onPrimary((cl) => pg.slotReplication(cl, slotName('g1-b')))).toMatchObject({
      state: 'streaming',
      syncState: 'quorum',
    });
    expect(await onPrimary((cl) => pg.slotReplication(cl, 'citusctl_nobody'))).toBeUndefined();
    expect(await onStandby(pg.walReceiver)).toEqual({
      status: 'streaming',
      senderHost: 'g1-a',
      slotName: slotName('g1-b'),
    });
    expect(await onStandby(pg.streamingSource)).toEqual({ inRecovery: true, senderHost: 'g1-a' });
    expect(await onPrimary(pg.walReceiver)).toBeUndefined();
    // The one member observation (probe, health check, status): both ends in one statement.
    const member = await onPrimary(pg.readMember);
    expect(member).toMatchObject({
      ok: true,
      inRecovery: false,
      receiver: null,
      syncNames: 'ANY 1 ("g1-b")',
      replication: [{ standby: 'g1-b', state: 'streaming', syncState: 'quorum' }],
    });
    expect(await onStandby(pg.readMember)).toMatchObject({
      ok: true,
      inRecovery: true,
      replication: [],
      receiver: { status: 'streaming', senderHost: 'g1-a' },
    });
    // Slots: create and drop are each done once; a slot in use is never dropped.
    const extra = 'citusctl_lib_test';
    expect(await onPrimary((cl) => pg.ensurePhysicalSlot(cl, extra))).toBe(true);
    expect(await onPrimary((cl) => pg.ensurePhysicalSlot(cl, extra))).toBe(false);
    expect(await onPrimary(pg.listSlots)).toEqual([
      { name: slotName('g1-b'), type: 'physical', active: true, restartLsn: expect.any(String) },
      { name: extra, type: 'physical', active: false, restartLsn: expect.any(String) },
    ]);
    expect(await onPrimary((cl) => pg.dropSlot(cl, extra))).toBe(true);
    expect(await onPrimary((cl) => pg.dropSlot(cl, extra))).toBe(false);
    expect(await onPrimary((cl) => pg.dropSlot(cl, slotName('g1-b')))).toBe(false);
    expect((await onPrimary(pg.listSlots)).map((x) => x.name)).toEqual([slotName('g1-b')]);
    // Durability settings: set only what differs; the new value is what the server then runs.
    expect(await onPrimary(pg.readSynchronousStandbyNames)).toBe('ANY 1 ("g1-b")');
    expect(await onPrimary((cl) => pg.setSynchronousStandbyNames(cl, 'ANY 1 ("g1-b")'))).toBe(false);
    expect(await onPrimary(pg.readSynchronousCommit)).toBe('on');
    expect(await onPrimary((cl) => pg.setSynchronousCommit(cl, 'on'))).toBe(false);
    expect(await onPrimary((cl) => pg.setSynchronousCommit(cl, 'remote_apply'))).toBe(true);
    await pollUntil(
      async () => ((await onPrimary(pg.readSynchronousCommit)) === 'remote_apply' ? true : undefined),
      10_000,
    );
    expect(await onPrimary((cl) => pg.setSynchronousCommit(cl, 'on'))).toBe(true);
    await pollUntil(async () => ((await onPrimary(pg.readSynchronousCommit)) === 'on' ? true : undefined), 10_000);
    await onPrimary(pg.checkpointForRewind);
    await onPrimary(pg.ping);
  });

  it('initPgBouncer and publishToEtcd twice: the second changes nothing', async () => {
    expect(await acts.initPgBouncer({ spec, coordinator: 'coord-a' })).toEqual({ changed: true, demoRows: ROWS });
    expect(await acts.initPgBouncer({ spec, coordinator: 'coord-a' })).toEqual({ changed: false, demoRows: ROWS });
    const first = await acts.publishToEtcd({ spec, primaries });
    expect(first.written).toHaveLength(3);
    const revs = await withEtcd(c, async (etcd) =>
      (await etcd.getAll().prefix(`/citusctl/${c.name}/`).exec()).kvs.map((kv) => [kv.key.toString(), kv.mod_revision]),
    );
    expect(await acts.publishToEtcd({ spec, primaries })).toEqual({ written: [] });
    expect(
      await withEtcd(c, async (etcd) =>
        (await etcd.getAll().prefix(`/citusctl/${c.name}/`).exec()).kvs.map((kv) => [
          kv.key.toString(),
          kv.mod_revision,
        ]),
      ),
    ).toEqual(revs);
  });

  it('resolveInDoubtTransactions: a transaction left prepared on a worker is resolved; twice is a no-op', async () => {
    // What a worker primary that died between PREPARE and COMMIT PREPARED leaves: a transaction
    // named as the coordinator's (group 0) with no commit record, holding a row lock.
    const gid = 'citus_0_999999_1_1';
    await su(c, 'g1-a', (cl) =>
      cl.query(
        'CREATE TABLE IF NOT EXISTS public.in_doubt (id int PRIMARY KEY); INSERT INTO public.in_doubt VALUES ' +
          '(1) ON CONFLICT DO NOTHING',
      ),
    );
    await su(c, 'g1-a', async (cl) => {
      await cl.query('BEGIN');
      await cl.query('UPDATE public.in_doubt SET id = id WHERE id = 1');
      await cl.query(`PREPARE TRANSACTION '${gid}'`);
    });
    const prepared = () =>
      su(c, 'g1-a', async (cl) =>
        (await cl.query<{ gid: string }>('SELECT gid FROM pg_prepared_xacts')).rows.map((r) => r.gid),
      );
    expect(await prepared()).toEqual([gid]);
    const double = isDouble(await citusVersion(c));
    try {
      const first = await acts.resolveInDoubtTransactions({
        spec,
        coordinator: 'coord-a',
        member: 'g1-a',
        gids: [gid],
        timeoutMs: 3000,
      });
      if (double) {
        // The double has no two-phase commit: its
        // recover_prepared_transactions() resolves nothing (documented no-op).
        console.log(
          '[skip] the Citus test double resolves no prepared transaction; run with ' +
            'CITUSCTL_IMAGE_POSTGRES=<real Citus> to see it resolved',
        );
        expect(first).toEqual({ recovered: 0, remaining: [gid] });
      } else {
        expect(first.remaining).toEqual([]);
        expect(first.recovered).toBeGreaterThanOrEqual(1);
        expect(await prepared()).toEqual([]);
        expect(
          await acts.resolveInDoubtTransactions({
            spec,
            coordinator: 'coord-a',
            member: 'g1-a',
            gids: [gid],
            timeoutMs: 3000,
          }),
        ).toEqual({ recovered: 0, remaining: [] });
      }
    } finally {
      if (double) await su(c, 'g1-a', (cl) => cl.query(`ROLLBACK PREPARED '${gid}'`));
      await su(c, 'g1-a', (cl) => cl.query('DROP TABLE public.in_doubt'));
    }
  });

  it('cleanUp refuses (non-retryable Refused) when another table exists and force is false', async () => {
    await su(c, 'coord-a', (cl) => cl.query('CREATE TABLE public.customer_data (id int PRIMARY KEY)'));
    let err: unknown;
    try {
      await acts.cleanUp({ spec, primaries, force: false });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'Refused', nonRetryable: true });
    expect((err as Error).message).toContain('public.customer_data');
    expect(await coordinatorRows(c)).toBe(ROWS); // the demo table is untouched

    // With force: the demo table goes, the other table stays; a repeat has nothing to drop.
    expect(await acts.cleanUp({ spec, primaries, force: true })).toEqual({
      dropped: true,
      otherTables: ['public.customer_data'],
    });
    const left = await su(
      c,
      'coord-a',
      async (cl) =>
        (
          await cl.query<{ e: string | null; o: string | null }>(
            "SELECT to_regclass('public.events')::text AS e, to_regclass('public.customer_data')::text AS o",
          )
        ).rows[0],
    );
    expect(left).toEqual({ e: null, o: 'customer_data' });
    expect(await acts.cleanUp({ spec, primaries, force: true })).toEqual({
      dropped: false,
      otherTables: ['public.customer_data'],
    });
  });
});
