/**
 * Where a write waits during a step: once a second, on every primary (coordinator and workers), the
 * client backends that have been waiting longer than a threshold, grouped by wait event (Lock,
 * IPC:SyncRep, ...). Only to explain a long write gap in the report; a member that does not answer
 * (a drained group's, once removed) is skipped.
 */
import { Client } from 'pg';
import type { BenchCluster } from '../lib/cluster';
import { now, sleep } from '../lib/util';

export interface WaitSample {
  t: number;
  member: string;
  wait: string;
  backends: number;
  longestMs: number;
  query: string;
}

const SQL = `SELECT coalesce(wait_event_type || ':' || wait_event, 'cpu') AS wait, count(*)::int AS n,
                    (max(extract(epoch FROM clock_timestamp() - query_start)) * 1000)::int AS longest,
                    min(left(regexp_replace(query, '\\s+', ' ', 'g'), 90)) AS query
               FROM pg_stat_activity
              WHERE state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid()
                AND clock_timestamp() - query_start > make_interval(secs => $1 / 1000.0)
              GROUP BY 1`;

export class WaitSampler {
  readonly samples: WaitSample[] = [];
  private stopped = false;
  private done: Promise<void> | undefined;
  private readonly clients = new Map<string, Client>();

  constructor(
    private readonly cluster: BenchCluster,
    private readonly members: string[],
    private readonly thresholdMs = 300,
  ) {}

  start(): void {
    this.done = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
    for (const c of this.clients.values()) await c.end().catch(() => undefined);
  }

  private async client(member: string): Promise<Client> {
    const have = this.clients.get(member);
    if (have) return have;
    const c = new Client(
      this.cluster.superuser(member, {
        query_timeout: 1500,
        connectionTimeoutMillis: 1000,
        application_name: 'bench-scale-sampler',
      }),
    );
    c.on('error', () => this.clients.delete(member));
    await c.connect();
    this.clients.set(member, c);
    return c;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const t = now();
      await Promise.all(
        this.members.map(async (member) => {
          try {
            const r = await (
              await this.client(member)
            ).query<{ wait: string; n: number; longest: number; query: string }>(SQL, [this.thresholdMs]);
            for (const x of r.rows)
              this.samples.push({ t, member, wait: x.wait, backends: x.n, longestMs: x.longest, query: x.query });
          } catch {
            const c = this.clients.get(member);
            this.clients.delete(member);
            await c?.end().catch(() => undefined);
          }
        }),
      );
      await sleep(Math.max(0, 1000 - (now() - t)));
    }
  }
}
