/**
 * Synchronous replication is a fence that needs no host: a primary whose synchronous standby is cut
 * off cannot acknowledge a commit. Real parts on one engine: the project's PostgreSQL image as a
 * primary with synchronous_standby_names = 'sb' and a streaming standby (application_name sb) on a
 * bridge network; the standby's cable pulled (`docker network disconnect`): an INSERT through
 * node-postgres does not return (its backend waits on SyncRep, which pg_stat_activity shows) and the
 * row is visible to no other session; the cable plugged back: the same INSERT returns and the row is
 * on the standby. In a cluster the monitor lifts this (asynchronous commit after asyncAfterMs without
 * a streaming standby) only on a primary it reaches: an isolated one stays fenced this way.
 * Containers citusctl-test-syncfence-{primary,standby}, network citusctl-test-syncfence, the primary
 * published on 127.0.0.1:31975, the standby on 127.0.0.1:31976.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import Docker from 'dockerode';
import { Client } from 'pg';
import { testImages } from './support/cluster';

jest.setTimeout(5 * 60_000);

const NETWORK = 'citusctl-test-syncfence';
const PRIMARY = 'citusctl-test-syncfence-primary';
const STANDBY = 'citusctl-test-syncfence-standby';
// The standby keeps its address across the cut, as a host whose cable is plugged back: its replication
// connection resumes instead of waiting out wal_receiver_timeout.
const SUBNET = '10.218.43.0/24';
const ADDRESS = { primary: '10.218.43.2', standby: '10.218.43.3' };
const PRIMARY_PORT = 31975;
const STANDBY_PORT = 31976;
const LABEL = { 'citusctl.it-probe': 'syncfence' };
const IMAGE = testImages().postgres;

const docker = new Docker();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const PRIMARY_SCRIPT = [
  'set -e',
  'initdb -D /tmp/pg -A trust -U postgres >/dev/null',
  "printf 'host all all 0.0.0.0/0 trust\\nhost replication all 0.0.0.0/0 trust\\n' >> /tmp/pg/pg_hba.conf",
  "exec postgres -D /tmp/pg -c listen_addresses='*' -c wal_level=replica -c max_wal_senders=4 " +
    "-c synchronous_standby_names='sb'",
].join('\n');

const STANDBY_SCRIPT = [
  'set -e',
  'until pg_basebackup -h primary -U postgres -D /tmp/pg -R -X stream 2>/dev/null; do rm -rf /tmp/pg; sleep 0.5; done',
  'echo "primary_conninfo = \'host=primary user=postgres application_name=sb\'" >> /tmp/pg/postgresql.auto.conf',
  "exec postgres -D /tmp/pg -c listen_addresses='*' -c hot_standby=on",
].join('\n');

async function removeAll(): Promise<void> {
  for (const name of [PRIMARY, STANDBY])
    await docker
      .getContainer(name)
      .remove({ force: true, v: true })
      .catch(() => undefined);
  await docker
    .getNetwork(NETWORK)
    .remove()
    .catch(() => undefined);
}

async function startNode(name: string, alias: 'primary' | 'standby', port: number, script: string): Promise<void> {
  await docker.createContainer({
    name,
    Image: IMAGE,
    User: 'postgres',
    Labels: LABEL,
    Cmd: ['sh', '-c', script],
    ExposedPorts: { '5432/tcp': {} },
    HostConfig: {
      NetworkMode: NETWORK,
      PortBindings: { '5432/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] },
    },
    NetworkingConfig: {
      EndpointsConfig: { [NETWORK]: { Aliases: [alias], IPAMConfig: { IPv4Address: ADDRESS[alias] } } },
    },
  });
  await docker.getContainer(name).start();
}

async function connect(port: number): Promise<Client> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const c = new Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
    c.on('error', () => undefined);
    try {
      await c.connect();
      return c;
    } catch (e) {
      await c.end().catch(() => undefined);
      if (Date.now() > deadline) throw e;
      await sleep(250);
    }
  }
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(200);
  }
  throw new Error(`not within ${timeoutMs} ms: ${what}`);
}

let primary: Client;
let observer: Client;

const syncState = async () =>
  (
    await observer.query<{ sync_state: string }>(
      "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'sb' AND state = 'streaming'",
    )
  ).rows[0]?.sync_state;

describe('synchronous replication fences an isolated primary', () => {
  beforeAll(async () => {
    await removeAll();
    await docker.createNetwork({
      Name: NETWORK,
      Driver: 'bridge',
      Labels: LABEL,
      IPAM: { Config: [{ Subnet: SUBNET, Gateway: '10.218.43.1' }] },
    });
    await startNode(PRIMARY, 'primary', PRIMARY_PORT, PRIMARY_SCRIPT);
    primary = await connect(PRIMARY_PORT);
    observer = await connect(PRIMARY_PORT);
    await startNode(STANDBY, 'standby', STANDBY_PORT, STANDBY_SCRIPT);
    await eventually('the standby streams as the synchronous one', async () => (await syncState()) === 'sync');
    await primary.query('CREATE TABLE acked (id int PRIMARY KEY)');
  });

  afterAll(async () => {
    await primary?.end().catch(() => undefined);
    await observer?.end().catch(() => undefined);
    await removeAll();
  });

  it('no commit returns while the standby is cut off; the same commit returns once it is back', async () => {
    await primary.query('INSERT INTO acked VALUES (1)'); // acknowledged: the standby confirmed it

    await docker.getNetwork(NETWORK).disconnect({ Container: STANDBY, Force: true });
    let settled: 'no' | 'returned' | 'failed' = 'no';
    const insert = primary.query('INSERT INTO acked VALUES (2)').then(
      () => (settled = 'returned'),
      () => (settled = 'failed'),
    );

    // Its backend waits for the standby's confirmation of the commit record, which cannot come.
    await eventually('the INSERT waits on SyncRep', async () => {
      const r = await observer.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event = 'SyncRep' AND query LIKE 'INSERT INTO acked%'",
      );
      return r.rows[0]!.n === '1';
    });
    expect(settled).toBe('no');
    // Nobody else sees the row either: the transaction is not over until the standby answers.
    expect((await observer.query('SELECT id FROM acked ORDER BY id')).rows).toEqual([{ id: 1 }]);
    // Still waiting a while later (10 probes of pg_stat_activity apart): not a slow commit.
    for (let i = 0; i < 10; i++) {
      await sleep(200);
      const r = await observer.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event = 'SyncRep'",
      );
      expect(r.rows[0]!.n).toBe('1');
    }
    expect(settled).toBe('no');

    await docker.getNetwork(NETWORK).connect({
      Container: STANDBY,
      EndpointConfig: { Aliases: ['standby'], IPAMConfig: { IPv4Address: ADDRESS.standby } },
    });
    await insert;
    expect(settled).toBe('returned');
    expect((await observer.query('SELECT id FROM acked ORDER BY id')).rows).toEqual([{ id: 1 }, { id: 2 }]);
    const standby = await connect(STANDBY_PORT);
    try {
      expect((await standby.query('SELECT id FROM acked ORDER BY id')).rows).toEqual([{ id: 1 }, { id: 2 }]);
    } finally {
      await standby.end();
    }
  });
});
