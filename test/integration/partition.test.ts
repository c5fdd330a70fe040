/**
 * A primary cut off from the network while its container runs, on real containers, a real etcd
 * and a real Temporal server, the monitor alone acting (`citusctl up` starts it):
 *  - `docker pause` of the g1 primary for 1 s: no failover;
 *  - `docker network disconnect` of the g1 primary (PostgreSQL alive, nothing reaches it): the
 *    monitor fails over to g1-b on its peers' view (not on Docker's word: the container runs), the
 *    old primary's container is stopped by the fence by the time etcd names g1-b, and once it is
 *    reconnected a write to its port fails; it rejoins as a standby: exactly one writable member.
 * No timing is asserted (bench/partition measures them). Ports 31930-31937; embedded Temporal on
 * 32357. Needs: `npm run build`, Docker, the temporal CLI (TEMPORAL_CLI_PATH) and the images.
 */
import { describe, expect, it, jest } from '@jest/globals';
import { Client as PgClient } from 'pg';
import {
  docker,
  layout,
  makeCluster,
  memberPort,
  memberSsl,
  readSecrets,
  withEtcd,
  withMonitor,
} from './support/cluster';
import { expectNoFailoverAfterBriefPause, monitorSeesOk, upClusterForFile } from './support/up-cluster';
import { connectOutcome, containerOf, distNodesOn, expectStreaming, livePrimaries, waitFor } from './support/failover';

jest.setTimeout(10 * 60_000);

const c = withMonitor(
  makeCluster(
    {
      ...layout({
        name: 'it-part',
        basePort: 31930,
        temporalPort: 32357,
        rows: 100,
        shardCount: 4,
        coordinatorStandby: false,
        workers: ['g1'],
      }),
      metrics: { port: 31936 },
    },
    32357,
  ),
);
const NETWORK = `citusctl-${c.name}`;

/** A new transaction id needs a writable primary: the strictest "does it take a write" there is. */
async function takesWrite(member: string): Promise<{ accepted: boolean; detail: string }> {
  const client = new PgClient({
    host: '127.0.0.1',
    port: memberPort(c, member),
    user: 'postgres',
    password: readSecrets(c).superuserPassword,
    database: 'postgres',
    ssl: memberSsl(c, member),
    connectionTimeoutMillis: 3000,
    query_timeout: 3000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const xid = (await client.query<{ x: string }>('SELECT txid_current()::text AS x')).rows[0]?.x;
    return { accepted: true, detail: `txid ${String(xid)}` };
  } catch (err) {
    return { accepted: false, detail: (err as Error).message };
  } finally {
    await client.end().catch(() => undefined);
  }
}

const attached = async (member: string) =>
  Object.keys((await docker.getContainer(containerOf(c, member)).inspect()).NetworkSettings.Networks ?? {}).includes(
    NETWORK,
  );
/** Back on the cluster network under its member name, as it was created (idempotent). */
async function reconnect(member: string): Promise<void> {
  if (!(await attached(member)))
    await docker
      .getNetwork(NETWORK)
      .connect({ Container: containerOf(c, member), EndpointConfig: { Aliases: [member] } });
}

describe('a primary cut off the network is failed over and stays fenced', () => {
  const t = upClusterForFile(c, {
    ready: { what: 'the monitor to see g1 healthy', until: (t) => monitorSeesOk(t, 'g1') },
    beforeDown: () => reconnect('g1-a'),
  });
  const { status } = t;
  const failoverRuns = async () => (await t.failoverRun('g1'))?.status.name ?? 'none';

  it('a primary paused for 1 s is not failed over', async () => {
    await expectNoFailoverAfterBriefPause(c, t, 'g1', 'g1-a');
  });

  it(
    "network disconnect of the g1 primary: failed over on its peers' view; reconnected, it takes no write and " +
      'rejoins',
    async () => {
      await waitFor('g1 healthy after the pause', () => monitorSeesOk(t, 'g1'), 60_000, 500);
      console.log(`[partition] docker network disconnect g1-a at ${new Date().toISOString()}`);
      await docker.getNetwork(NETWORK).disconnect({ Container: containerOf(c, 'g1-a') });
      try {
        await waitFor(
          'etcd to name g1-b',
          async () => ((await livePrimaries(c)).g1 === 'g1-b' ? true : undefined),
          120_000,
          200,
        );
        // Fenced before g1-b was promoted: killed, and its member state keeps PostgreSQL down; a
        // container running again by now is the failover's rejoin, whose bootstrap only rebuilds it.
        const running = (await docker.getContainer(containerOf(c, 'g1-a')).inspect()).State.Running;
        const state = (
          JSON.parse((await withEtcd(c, (e) => e.get(`/citusctl/${c.name}/members/g1-a`).string())) ?? '{}') as {
            state?: string;
          }
        ).state;
        expect({ running, state }).toEqual(
          running
            ? { running, state: 'rejoining' }
            : { running, state: expect.stringMatching(/^(fenced|rejoining)$/) as unknown as string },
        );
        // The monitor decided on the peers' view: Docker said running when it did.
        const started = (await status()).lastActions.find((a) => a.kind === 'failover' && a.outcome === 'started');
        expect(started?.detail).toMatch(/container running but no peer reaches it/);
      } catch (err) {
        throw await t.explain(err);
      } finally {
        await reconnect('g1-a');
        console.log(`[partition] g1-a reconnected at ${new Date().toISOString()}`);
      }
      const write = await takesWrite('g1-a');
      expect(write).toMatchObject({ accepted: false });
      await waitFor(
        'pg_dist_node to name g1-b',
        async () =>
          (await distNodesOn(c, 'coord-a')).some((n) => n.nodename === 'g1-b' && n.noderole === 'primary')
            ? true
            : undefined,
        60_000,
      );
      await waitFor(
        'the failover to end',
        async () => ((await failoverRuns()) === 'COMPLETED' ? true : undefined),
        240_000,
        500,
      );
      await waitFor(
        'g1-a to answer in recovery',
        async () => ((await connectOutcome(c, 'g1-a')).inRecovery === true ? true : undefined),
        240_000,
        500,
      );
      await expectStreaming(c, 'g1-a', 'g1-b');
      expect(await connectOutcome(c, 'g1-b')).toMatchObject({ connected: true, inRecovery: false });
      expect((await takesWrite('g1-a')).accepted).toBe(false);
      expect(
        (await distNodesOn(c, 'coord-a'))
          .filter((n) => n.noderole === 'primary' && n.nodename.startsWith('g1-'))
          .map((n) => n.nodename),
      ).toEqual(['g1-b']);
      const s = await status();
      const actions = s.lastActions.map(
        (a) => `${new Date(a.at).toISOString()} ${a.kind} ${a.target} ${a.outcome}: ${a.detail}`,
      );
      console.log(
        `[partition] write to g1-a after reconnecting: ${write.detail}\n[partition] actions: ` +
          `${actions.join('\n  ')}`,
      );
    },
  );
});
