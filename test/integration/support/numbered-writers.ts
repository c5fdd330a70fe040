/**
 * Numbered writers through PgBouncer: each client writes rows `base + w + 1, + n, ...` into `table`,
 * one row per ~50 ms transaction (an INSERT and a pg_sleep in one implicit transaction), so at any
 * instant some transaction is in flight; a failed row is recorded and the client reconnects.
 */
import type { Client } from 'pg';
import type { TestCluster } from './cluster';
import { sleep } from './cluster';
import { appClient } from './failover';

export interface NumberedWriters {
  acked: number[];
  /** When each row of `acked` was acknowledged (epoch ms, same order). */
  ackedAt: number[];
  errors: string[];
  /** Resolves once `more` rows beyond those acknowledged now are acknowledged (or an error came). */
  waitFor(more: number): Promise<void>;
  stop(): Promise<void>;
}

/** `c`: a cluster (its PgBouncer as the app user), or how to connect (several hosts: the multi-host string's pick). */
export function numberedWriters(
  c: TestCluster | (() => Promise<Client>),
  table: string,
  n: number,
  base = 0,
): NumberedWriters {
  const connect = typeof c === 'function' ? c : () => appClient(c);
  const acked: number[] = [];
  const ackedAt: number[] = [];
  const errors: string[] = [];
  const clients: (Client | undefined)[] = [];
  let stopped = false;
  const loop = async (w: number) => {
    for (let id = base + w + 1; !stopped; id += n) {
      try {
        clients[w] ??= await connect();
        await clients[w]!.query(`INSERT INTO ${table} (id) VALUES (${id}); SELECT pg_sleep(0.05)`);
        acked.push(id);
        ackedAt.push(Date.now());
      } catch (err) {
        errors.push(`row ${id}: ${(err as Error).message}`);
        await clients[w]?.end().catch(() => undefined);
        clients[w] = undefined;
        await sleep(50);
      }
    }
  };
  const running = Promise.all(Array.from({ length: n }, (_, w) => loop(w)));
  return {
    acked,
    ackedAt,
    errors,
    async waitFor(more) {
      const target = acked.length + more;
      while (acked.length < target && errors.length === 0) await sleep(20);
    },
    async stop() {
      stopped = true;
      await running;
      await Promise.all(clients.map((cl) => cl?.end().catch(() => undefined)));
    },
  };
}
