/**
 * pgbench's TPC-B through PgBouncer, the way a client of the cluster runs it: pgbench in a container
 * on the cluster's network (pgbouncer:6432, the app user), its four tables distributed by Citus on
 * different keys (accounts by aid, branches by bid, tellers by tid, history by aid), so that one
 * transaction updates rows on different worker groups and commits with two-phase commit.
 *
 * A pgbench client aborts on its first failed transaction, so each client is a loop that starts
 * pgbench again at once (one client, CHUNK seconds per run, per-transaction log). A client's stall
 * is the longest time between two of its committed transactions. The balance invariant: the sums
 * of accounts, branches and tellers and of the history's deltas are equal (each transaction adds
 * the same delta to each), whatever was interrupted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { networkName, PGBOUNCER_MEMBER, PGBOUNCER_PORT, PG_PORT } from '../../common/topology';
import type { BenchCluster } from './cluster';
import { errorMessage, now, sleep } from './util';

export interface TpcbOptions {
  /** pgbench scale: branches; tellers = 10x, accounts = 100000x. */
  scale: number;
  /** Concurrent clients. */
  clients: number;
  /** Seconds per pgbench run of a client (its log is written when it ends). */
  chunkSeconds: number;
  /** Image with pgbench (the cluster's own PostgreSQL image has it). */
  image: string;
  /** Shards per table. */
  shardCount: number;
}

export const TPCB_TABLES = {
  pgbench_accounts: 'aid',
  pgbench_branches: 'bid',
  pgbench_tellers: 'tid',
  pgbench_history: 'aid',
} as const;

/**
 * pgbench's built-in "tpcb-like" script, as its documentation gives it, run as a custom script with
 * -s: pgbench then does not count pgbench_branches at every start (a query on every shard, which
 * fails during a failover and, right after one, opens a connection per shard from the coordinator
 * to the new node for each restarting client): a restarted client goes straight to its next
 * transaction, as an application that retries would.
 */
const TPCB_SCRIPT = `\\set aid random(1, 100000 * :scale)
\\set bid random(1, 1 * :scale)
\\set tid random(1, 10 * :scale)
\\set delta random(-5000, 5000)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);
END;
`;

/** One client's loop: pgbench again as soon as it ends (an aborted client ends it), until the stop file. */
const LOAD_SCRIPT = `#!/bin/sh
# load.sh OUT CLIENTS CHUNK SCALE: CLIENTS loops, each one pgbench client through PgBouncer, restarted
# at once when pgbench ends (a failed transaction aborts a pgbench client), until OUT/stop exists.
set -u
OUT=$1; CLIENTS=$2; CHUNK=$3; SCALE=$4
export PGPASSFILE=/tpcb/pgpass PGCONNECT_TIMEOUT=3 PGSSLMODE=verify-full PGSSLROOTCERT=/tpcb/ca.crt
i=1
while [ "$i" -le "$CLIENTS" ]; do
  mkdir -p "$OUT/c$i"
  ( while [ ! -e "$OUT/stop" ]; do
      pgbench -n -c 1 -j 1 -T "$CHUNK" -s "$SCALE" -f /tpcb/tpcb.sql -l --log-prefix="$OUT/c$i/tx" \\
        -h ${PGBOUNCER_MEMBER} -p ${PGBOUNCER_PORT} -U app postgres >>"$OUT/c$i/pgbench.out" 2>&1 || sleep 0.05
    done ) &
  i=$((i + 1))
done
wait
`;

export class Tpcb {
  /**
   * Host directory mounted at /tpcb: the scripts, a pgpass file (mode 0600, removed by cleanup), one directory per run.
   */
  readonly dir: string;

  constructor(
    readonly cluster: BenchCluster,
    outDir: string,
    readonly opts: TpcbOptions,
  ) {
    this.dir = path.join(outDir, 'tpcb');
    fs.mkdirSync(this.dir, { recursive: true });
  }

  private containerName(what: string): string {
    return `citusctl-${this.cluster.name}-bench-tpcb-${what}`;
  }

  private writeFiles(): void {
    const s = this.cluster.secrets();
    // The passwords go to pgbench and psql through a pgpass file only: never an argument or an env var.
    fs.writeFileSync(
      path.join(this.dir, 'pgpass'),
      `${PGBOUNCER_MEMBER}:${PGBOUNCER_PORT}:*:app:${s.appPassword}\n*:${PG_PORT}:*:postgres:${s.superuserPassword}\n`,
      { mode: 0o600 },
    );
    // TLS to PgBouncer, verified with the cluster's CA.
    fs.copyFileSync(this.cluster.caPath(), path.join(this.dir, 'ca.crt'));
    fs.writeFileSync(path.join(this.dir, 'load.sh'), LOAD_SCRIPT, { mode: 0o755 });
    fs.writeFileSync(path.join(this.dir, 'tpcb.sql'), TPCB_SCRIPT, { mode: 0o644 });
  }

  /** Removes the pgpass file (the logs stay). */
  cleanup(): void {
    fs.rmSync(path.join(this.dir, 'pgpass'), { force: true });
  }

  private runArgs(name: string, detach: boolean): string[] {
    // The cluster's label (no group or member label): `citusctl down` removes a container a crashed run left.
    return [
      'run',
      ...(detach ? ['-d'] : ['--rm']),
      '--name',
      this.containerName(name),
      '--label',
      `citusctl.cluster=${this.cluster.name}`,
      '--label',
      'citusctl.bench=tpcb',
      '--network',
      networkName(this.cluster.name),
      '-v',
      `${this.dir}:/tpcb`,
      '--user',
      '0',
      '--entrypoint',
      'sh',
      this.opts.image,
    ];
  }

  /** Creates the tables (pgbench -i), distributes them, fills them server-side and lets the app user use them. */
  async init(coordinator: string): Promise<void> {
    this.writeFiles();
    const s = this.opts.scale;
    const distribute = Object.entries(TPCB_TABLES)
      .map(([t, col]) => `SELECT create_distributed_table('${t}', '${col}');`)
      .join('\n');
    const script = `set -e
export PGPASSFILE=/tpcb/pgpass
pgbench -i -I dtp -s ${s} -h ${coordinator} -U postgres postgres
psql -X -q -v ON_ERROR_STOP=1 -h ${coordinator} -U postgres postgres <<'SQL'
SET citus.shard_count = ${this.opts.shardCount};
${distribute}
SQL
pgbench -i -I G -s ${s} -h ${coordinator} -U postgres postgres
psql -X -q -v ON_ERROR_STOP=1 -h ${coordinator} -U postgres postgres \\
  -c 'GRANT SELECT, INSERT, UPDATE, DELETE ON ${Object.keys(TPCB_TABLES).join(', ')} TO app'
`;
    fs.writeFileSync(path.join(this.dir, 'init.sh'), script, { mode: 0o755 });
    await this.cluster.docker(['rm', '-f', this.containerName('init')]).catch(() => undefined);
    await this.cluster.docker([...this.runArgs('init', false), '/tpcb/init.sh'], 10 * 60_000);
  }

  /** Starts the clients; their logs go to <dir>/<tag>/. */
  async start(tag: string): Promise<TpcbRun> {
    this.writeFiles();
    const runDir = path.join(this.dir, tag);
    fs.rmSync(runDir, { recursive: true, force: true });
    fs.mkdirSync(runDir, { recursive: true });
    const name = this.containerName('load');
    await this.cluster.docker(['rm', '-f', name]).catch(() => undefined);
    await this.cluster.docker([
      ...this.runArgs('load', true),
      '/tpcb/load.sh',
      `/tpcb/${tag}`,
      String(this.opts.clients),
      String(this.opts.chunkSeconds),
      String(this.opts.scale),
    ]);
    return new TpcbRun(this.cluster, name, runDir, now(), this.opts.chunkSeconds);
  }
}

export interface ClientLog {
  client: string;
  /** Completion times (epoch ms) of its committed transactions, sorted. */
  commits: number[];
  /** pgbench runs that ended with an aborted client. */
  aborts: number;
}

export interface TpcbLog {
  clients: ClientLog[];
  /** Distinct error lines (numbers masked), with how often each was seen. */
  errors: Record<string, number>;
}

export class TpcbRun {
  constructor(
    private readonly cluster: BenchCluster,
    private readonly container: string,
    readonly dir: string,
    readonly tStart: number,
    private readonly chunkSeconds: number,
  ) {}

  /**
   * Asks every client loop to end after its current pgbench run, waits for them, removes the container, reads the logs.
   */
  async stop(): Promise<TpcbLog> {
    fs.writeFileSync(path.join(this.dir, 'stop'), '');
    const deadline = now() + (this.chunkSeconds + 30) * 1000;
    while (now() < deadline) {
      const running = await this.cluster.docker(['inspect', '-f', '{{.State.Running}}', this.container]).then(
        (o) => o.trim() === 'true',
        () => false,
      );
      if (!running) break;
      await sleep(250);
    }
    await this.cluster.docker(['rm', '-f', this.container]).catch(() => undefined);
    return readLogs(this.dir);
  }
}

/** Reads pgbench's per-transaction logs (`client tx latency_us script epoch_s epoch_us`) and its output. */
export function readLogs(dir: string): TpcbLog {
  const clients: ClientLog[] = [];
  const errors: Record<string, number> = {};
  for (const c of fs
    .readdirSync(dir)
    .filter((d) => /^c\d+$/.test(d))
    .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)))) {
    const cdir = path.join(dir, c);
    const commits: number[] = [];
    for (const f of fs.readdirSync(cdir).filter((x) => x.startsWith('tx'))) {
      for (const line of fs.readFileSync(path.join(cdir, f), 'utf8').split('\n')) {
        const p = line.trim().split(/\s+/);
        if (p.length < 6) continue;
        const [epoch, us] = [Number(p[4]), Number(p[5])];
        if (Number.isFinite(epoch) && Number.isFinite(us) && Number.isFinite(Number(p[2])))
          commits.push(epoch * 1000 + us / 1000);
      }
    }
    commits.sort((a, b) => a - b);
    let aborts = 0;
    const out = path.join(cdir, 'pgbench.out');
    if (fs.existsSync(out)) {
      for (const line of fs.readFileSync(out, 'utf8').split('\n')) {
        if (/aborted in command/.test(line)) aborts += 1;
        if (/error/i.test(line) && !/Run was aborted/.test(line)) {
          const key = line
            .replace(/^pgbench: error: /, '')
            .replace(/client \d+/, 'client N')
            .replace(/\d+/g, 'N')
            .slice(0, 200);
          errors[key] = (errors[key] ?? 0) + 1;
        }
      }
    }
    clients.push({ client: c, commits, aborts });
  }
  return { clients, errors };
}

export interface Stall {
  client: string;
  /** Longest time without a commit of this client within the window. */
  ms: number;
  /** Where it began (epoch ms). */
  from: number;
  /** The window ended inside it: the stall is at least this long. */
  open: boolean;
}

/** Each client's longest stretch without a commit that overlaps [from, to], longest first. */
export function stalls(log: TpcbLog, from: number, to: number): Stall[] {
  const out: Stall[] = [];
  for (const c of log.clients) {
    const before = c.commits.filter((t) => t <= from).at(-1) ?? from;
    const inside = c.commits.filter((t) => t > from && t <= to);
    let best: Stall = { client: c.client, ms: 0, from: before, open: false };
    let prev = before;
    for (const t of inside) {
      if (t - prev > best.ms) best = { client: c.client, ms: t - prev, from: prev, open: false };
      prev = t;
    }
    if (to - prev > best.ms) best = { client: c.client, ms: to - prev, from: prev, open: true };
    out.push(best);
  }
  return out.sort((a, b) => b.ms - a.ms);
}

export interface Balances {
  accounts: string;
  branches: string;
  tellers: string;
  history: string;
  /** Transactions in the history. */
  rows: string;
}

export const balanced = (b: Balances): boolean =>
  b.accounts === b.branches && b.branches === b.tellers && b.tellers === b.history;

/** The four sums through the coordinator (superuser, its published port). */
export async function balances(cluster: BenchCluster, coordinator: string): Promise<Balances> {
  return cluster.withClient(
    cluster.superuser(coordinator, { connectionTimeoutMillis: 3000, query_timeout: 30_000 }),
    async (c) => {
      const r = await c.query<Balances>(
        `SELECT (SELECT coalesce(sum(abalance), 0) FROM pgbench_accounts)::text AS accounts,
              (SELECT coalesce(sum(bbalance), 0) FROM pgbench_branches)::text AS branches,
              (SELECT coalesce(sum(tbalance), 0) FROM pgbench_tellers)::text AS tellers,
              (SELECT coalesce(sum(delta), 0) FROM pgbench_history)::text AS history,
              (SELECT count(*) FROM pgbench_history)::text AS rows`,
      );
      return r.rows[0]!;
    },
  );
}

export interface InvariantCheck {
  holds: boolean;
  balances?: Balances;
  /** It held only after waiting this long (transactions still prepared somewhere were resolved meanwhile). */
  waitedMs: number;
  error?: string;
}

/**
 * The balance invariant once the clients stopped. A transaction still prepared on a node (in doubt)
 * shows half its effect until Citus resolves it: wait for that (at most waitMs), saying how long.
 */
export async function checkInvariant(
  cluster: BenchCluster,
  coordinator: string,
  members: string[],
  waitMs = 75_000,
): Promise<InvariantCheck> {
  const t0 = now();
  let last: InvariantCheck = { holds: false, waitedMs: 0 };
  for (;;) {
    try {
      const b = await balances(cluster, coordinator);
      last = { holds: balanced(b), balances: b, waitedMs: now() - t0 };
      if (last.holds) return last;
      const prepared = await preparedCount(cluster, members);
      if (!prepared) return last; // nothing left to resolve: violated
    } catch (err) {
      last = { ...last, error: errorMessage(err), waitedMs: now() - t0 };
    }
    if (now() - t0 > waitMs) return last;
    await sleep(2000);
  }
}

async function preparedCount(cluster: BenchCluster, members: string[]): Promise<number> {
  let n = 0;
  for (const m of members) {
    n += await cluster
      .withClient(cluster.superuser(m, { query_timeout: 2000 }), async (c) =>
        Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM pg_prepared_xacts')).rows[0]?.n ?? 0),
      )
      .catch(() => 0);
  }
  return n;
}

export interface InDoubtReport {
  /**
   * Transactions seen PREPAREd for longer than a second on a surviving
   * member (a normal two-phase commit holds that state for milliseconds).
   */
  gids: string[];
  /** Of them, those PREPAREd before the fault (left by the killed primary's group). */
  beforeFault: number;
  /** Where they were seen. */
  members: string[];
  /** The longest any of them was seen PREPAREd (ms). */
  longestMs?: number;
  /** The last time one was still seen, after the fault (ms). */
  lastSeenMs?: number;
}

/**
 * Samples every surviving worker member's pg_prepared_xacts for transactions PREPAREd for longer
 * than a second: in doubt, holding their row locks until someone resolves them.
 */
export class InDoubtSampler {
  private stopped = false;
  private done?: Promise<void>;
  private readonly clients = new Map<string, Client>();
  private readonly seen = new Map<string, { member: string; prepared: number; last: number }>();

  constructor(
    private readonly cluster: BenchCluster,
    private readonly members: string[],
    /** When the fault happened (epoch ms); settable once known more precisely (the container's death). */
    public tFault: number,
    private readonly everyMs = 250,
  ) {}

  start(): void {
    this.done = this.loop();
  }

  private async client(member: string): Promise<Client> {
    const cached = this.clients.get(member);
    if (cached) return cached;
    const c = new Client(this.cluster.superuser(member, { connectionTimeoutMillis: 1000, query_timeout: 1000 }));
    c.on('error', () => undefined);
    await c.connect();
    this.clients.set(member, c);
    return c;
  }

  private async sample(member: string): Promise<void> {
    try {
      const c = await this.client(member);
      const r = await c.query<{ gid: string; at: string }>(
        'SELECT gid, (extract(epoch FROM prepared) * 1000)::text AS at FROM pg_prepared_xacts ' +
          "WHERE prepared < now() - interval '1 second'",
      );
      const t = now();
      for (const { gid, at } of r.rows) this.seen.set(gid, { member, prepared: Number(at), last: t });
    } catch {
      const c = this.clients.get(member);
      this.clients.delete(member);
      await c?.end().catch(() => undefined);
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const t = now();
      await Promise.all(this.members.map((m) => this.sample(m)));
      await sleep(Math.max(0, this.everyMs - (now() - t)));
    }
  }

  /** What is in doubt now (seen in the last sample rounds). */
  current(): string[] {
    const recent = now() - 3 * this.everyMs - 1000;
    return [...this.seen.entries()].filter(([, v]) => v.last >= recent).map(([g]) => g);
  }

  async stop(): Promise<InDoubtReport> {
    this.stopped = true;
    await this.done;
    for (const c of this.clients.values()) await c.end().catch(() => undefined);
    const vs = [...this.seen.values()];
    const last = vs.length ? Math.max(...vs.map((v) => v.last)) : undefined;
    return {
      gids: [...this.seen.keys()],
      beforeFault: vs.filter((v) => v.prepared < this.tFault).length,
      members: [...new Set(vs.map((v) => v.member))],
      longestMs: vs.length ? Math.max(...vs.map((v) => v.last - v.prepared)) : undefined,
      lastSeenMs: last === undefined ? undefined : last - this.tFault,
    };
  }
}
