/**
 * The numbered writer's target on several hosts: the app user through the clients' multi-host
 * connection string (the first PgBouncer that accepts writes:
 * test/integration/support/multi-host-client.ts) into a table of the bench's own, distributed by
 * id; rows are read back on the coordinator's primary.
 */
import type { Client } from 'pg';
import { clientHosts } from '../../common/addressing';
import { multiHostClient } from '../../test/integration/support/multi-host-client';
import type { HostsCluster } from './hosts-cluster';
import type { WriteConn, WriteTarget } from './writer';

export class MultiHostTarget implements WriteTarget {
  readonly label: string;

  constructor(
    private readonly cluster: HostsCluster,
    readonly table: string,
    private readonly timeouts: { connectMs: number; queryMs: number },
  ) {
    this.label =
      `through the multi-host string (${clientHosts(cluster.spec)}, user app; statement timeout ` +
      `${timeouts.queryMs} ms) into ${table}`;
  }

  /** The coordinator's primary (the bench never kills its host). */
  private get coordinator(): string {
    return this.cluster.members('coordinator')[0]!.name;
  }

  /** Creates the table (distributed by id, writable by app); returns the first free id. */
  async prepare(): Promise<number> {
    return this.cluster.withClient(this.cluster.superuser(this.coordinator, { query_timeout: 60_000 }), async (c) => {
      const exists = (await c.query('SELECT to_regclass($1) AS t', [this.table])).rows[0]?.t;
      if (!exists) {
        await c.query(`CREATE TABLE ${this.table} (id bigint PRIMARY KEY)`);
        await c.query(`SELECT create_distributed_table('${this.table}', 'id')`);
        await c.query(`GRANT SELECT, INSERT ON ${this.table} TO app`);
      }
      return (
        Number((await c.query<{ m: string }>(`SELECT coalesce(max(id), 0) AS m FROM ${this.table}`)).rows[0]?.m) + 1
      );
    });
  }

  async connect(): Promise<WriteConn> {
    const client = await multiHostClient(this.cluster.spec, {
      stateDir: this.cluster.stateDir,
      connectTimeoutMs: this.timeouts.connectMs,
      queryTimeoutMs: this.timeouts.queryMs,
    });
    return { client, via: `pgbouncer@${client.host}` };
  }

  async insert(c: Client, id: number): Promise<void> {
    await c.query(`INSERT INTO ${this.table} (id) VALUES ($1)`, [id]);
  }

  async readBack(ids: number[]): Promise<{ present: Set<number>; from: string }> {
    const present = await this.cluster.withClient(
      this.cluster.superuser(this.coordinator, { query_timeout: 60_000 }),
      async (c) =>
        (await c.query<{ id: string }>(`SELECT id FROM ${this.table} WHERE id = ANY($1::bigint[])`, [ids])).rows,
    );
    return { present: new Set(present.map((r) => Number(r.id))), from: this.coordinator };
  }
}
