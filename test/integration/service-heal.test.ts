/**
 * The monitor repairs the client entry point and the control state, on real containers, a real
 * PgBouncer, a real etcd and a real Temporal server (the Citus test double: no routing needed).
 * Only `citusctl up` is run; then nothing but Docker is touched by hand:
 *  - restart policies: PgBouncer and etcd `unless-stopped` (set by `up` on older containers),
 *    PostgreSQL members none;
 *  - `docker kill` of PgBouncer: started again, serves the demo table;
 *  - `docker kill` of etcd: started again with its data and authentication; a g1 primary killed
 *    next is failed over (the group lock and member states work on the restarted etcd);
 *  - the coordinator primary killed (failed over), then `docker rm -f` of PgBouncer: re-created,
 *    pointing at the new coordinator primary, with a verifier-only auth file, serving;
 *  - `docker rm -f` of etcd: re-created on its volume (the primaries after the failovers,
 *    authentication on), and the next failover works.
 * Ports 31260-31268; embedded Temporal on 32140. No timing is asserted (bench/entry-heal measures).
 * Needs: `npm run build`, Docker, the temporal CLI (TEMPORAL_CLI_PATH) and the images.
 */
import { describe, expect, it, jest } from '@jest/globals';
import { etcdAuthEnabled } from '../../lib/etcd-auth';
import { clusterEtcdTls, docker, layout, makeCluster, upJson, withMonitor } from './support/cluster';
import { rowsThroughPgBouncer } from './support/end-state';
import { killAndHeal as killAndHealGroup, upClusterForFile } from './support/up-cluster';
import { containerOf, execRoot, killMember, livePrimaries, waitFor } from './support/failover';

jest.setTimeout(12 * 60_000);

const TEMPORAL_PORT = 32140;
const c = withMonitor(
  makeCluster(
    {
      ...layout({
        name: 'it-heal',
        basePort: 31260,
        temporalPort: TEMPORAL_PORT,
        rows: 100,
        shardCount: 4,
        workers: ['g1'],
      }),
      metrics: { port: 31268 },
    },
    TEMPORAL_PORT,
  ),
);

describe('the monitor repairs PgBouncer and etcd', () => {
  const t = upClusterForFile(c, {
    ready: {
      what: 'the monitor to see the cluster and its services',
      until: async (t) => {
        const s = await t.status();
        return s.groups.g1?.primaryState === 'ok' &&
          s.pgbouncerOk &&
          s.etcdOk &&
          s.services?.words.pgbouncer === 'running'
          ? true
          : undefined;
      },
    },
  });
  const { status, explain } = t;
  const inspect = (member: string) => docker.getContainer(containerOf(c, member)).inspect();
  const running = async (member: string) =>
    (await inspect(member).catch(() => undefined))?.State.Running ? true : undefined;
  /**
   * What the monitor recorded doing to a service ("<outcome>: <detail>", oldest first), once its last record is
   * `expected` (the record follows the repair).
   */
  const repairsOf = (target: string, expected: RegExp) =>
    waitFor(
      `the monitor's record of ${target}: ${String(expected)}`,
      async () => {
        const done = (await status()).lastActions
          .filter((a) => (a.kind === 'start-service' || a.kind === 'recreate-service') && a.target === target)
          .map((a) => `${a.outcome}: ${a.detail}`);
        return expected.test(done.at(-1) ?? '') ? done : undefined;
      },
      30_000,
      250,
    );
  const pgbouncerFile = async (file: string) => (await execRoot(c, 'pgbouncer', ['cat', `/citusctl/${file}`])).stdout;

  /**
   * Kills the group's primary; waits for etcd to name the successor, the monitor's failover to complete and the victim
   * to stream again.
   */
  const killAndHeal = (group: string, victim: string, successor: string) =>
    killAndHealGroup(c, t, group, victim, successor);

  it('restart policies: PgBouncer, etcd unless-stopped, PostgreSQL none; `up` sets them on older ones', async () => {
    for (const s of ['pgbouncer', 'etcd'])
      expect((await inspect(s)).HostConfig.RestartPolicy?.Name).toBe('unless-stopped');
    for (const m of ['coord-a', 'g1-a', 'g1-b'])
      expect(['', 'no']).toContain((await inspect(m)).HostConfig.RestartPolicy?.Name ?? '');
    // Containers created before the policy existed: `up` gives it to them.
    for (const s of ['pgbouncer', 'etcd'])
      await docker.getContainer(containerOf(c, s)).update({ RestartPolicy: { Name: 'no' } });
    expect((await upJson(c)).ok).toBe(true);
    for (const s of ['pgbouncer', 'etcd'])
      expect((await inspect(s)).HostConfig.RestartPolicy?.Name).toBe('unless-stopped');
  });

  it('docker kill of PgBouncer: the monitor starts it and it serves again', async () => {
    await killMember(c, 'pgbouncer');
    try {
      await waitFor('PgBouncer running again', () => running('pgbouncer'), 60_000, 200);
      await waitFor(
        'the demo table through PgBouncer',
        async () => ((await rowsThroughPgBouncer(c)) === c.spec.demo.rows ? true : undefined),
        60_000,
        250,
      );
    } catch (err) {
      throw await explain(err);
    }
    expect(await repairsOf('pgbouncer', /^done: docker start/)).toHaveLength(1);
    expect(await pgbouncerFile('pgbouncer.ini')).toMatch(/^postgres = host=coord-a port=5432/m);
  });

  it('docker kill of etcd: started again with its data and authentication; a g1 primary then fails over', async () => {
    await killMember(c, 'etcd');
    try {
      await waitFor('etcd running again', () => running('etcd'), 60_000, 200);
      await waitFor(
        'the monitor to read etcd again',
        async () => ((await status()).etcdOk ? true : undefined),
        60_000,
        250,
      );
    } catch (err) {
      throw await explain(err);
    }
    expect(await repairsOf('etcd', /^done: docker start/)).toHaveLength(1);
    expect(await etcdAuthEnabled(c.spec.etcd.port, clusterEtcdTls(c))).toBe(true);
    expect(await livePrimaries(c)).toMatchObject({ coordinator: 'coord-a', g1: 'g1-a' });
    await killAndHeal('g1', 'g1-a', 'g1-b');
  });

  it('coordinator failed over, then docker rm -f of PgBouncer: re-created on the new coordinator primary', async () => {
    await killAndHeal('coordinator', 'coord-a', 'coord-b');
    const removedId = (await inspect('pgbouncer')).Id;
    await docker.getContainer(containerOf(c, 'pgbouncer')).remove({ force: true });
    try {
      await waitFor('PgBouncer re-created and running', () => running('pgbouncer'), 60_000, 200);
      await waitFor(
        'the demo table through PgBouncer',
        async () => ((await rowsThroughPgBouncer(c)) === c.spec.demo.rows ? true : undefined),
        60_000,
        250,
      );
    } catch (err) {
      throw await explain(err);
    }
    const created = await inspect('pgbouncer');
    expect(created.Id).not.toBe(removedId);
    expect(created.HostConfig.RestartPolicy?.Name).toBe('unless-stopped');
    expect(created.Config.Labels).toMatchObject({ 'citusctl.cluster': c.name, 'citusctl.member': 'pgbouncer' });
    // rm -f kills, then removes: the probe may see it stopped
    // first; the activity looks again and re-creates either way.
    await repairsOf('pgbouncer', /^done: container created \(PgBouncer -> coord-b, from etcd\)/);
    expect(await pgbouncerFile('pgbouncer.ini')).toMatch(/^postgres = host=coord-b port=5432/m);
    // Verifiers only: the app's and the admin's SCRAM verifiers, never a password.
    const userlist = await pgbouncerFile('userlist.txt');
    expect(
      userlist
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[0]),
    ).toEqual(['"app"', '"citusctl_admin"']);
    expect(
      userlist
        .trim()
        .split('\n')
        .every((l) => / "SCRAM-SHA-256\$4096:/.test(l)),
    ).toBe(true);
  });

  it('docker rm -f of etcd: re-created on its volume (primaries and auth kept); the next failover works', async () => {
    const removedId = (await inspect('etcd')).Id;
    await docker.getContainer(containerOf(c, 'etcd')).remove({ force: true });
    try {
      await waitFor('etcd re-created and running', () => running('etcd'), 60_000, 200);
      await waitFor(
        'the monitor to read etcd again',
        async () => ((await status()).etcdOk ? true : undefined),
        60_000,
        250,
      );
    } catch (err) {
      throw await explain(err);
    }
    expect((await inspect('etcd')).Id).not.toBe(removedId);
    await repairsOf('etcd', /^done: container created/);
    expect(await etcdAuthEnabled(c.spec.etcd.port, clusterEtcdTls(c))).toBe(true);
    // The record of both failovers survived: not the spec's first members.
    expect(await livePrimaries(c)).toMatchObject({ coordinator: 'coord-b', g1: 'g1-b' });
    await killAndHeal('g1', 'g1-b', 'g1-a');
  });
});
