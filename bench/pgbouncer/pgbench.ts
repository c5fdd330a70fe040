/**
 * pgbench against PgBouncer from a container on the cluster network (pgbouncer:6432, the app user):
 * a read of one row of a distributed table by its key, each client's connection held for the run
 * (or a new connection per transaction, -C). The password reaches pgbench through a pgpass file
 * only; TLS verified with the cluster's CA unless the run says otherwise.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { networkName, PGBOUNCER_MEMBER, PGBOUNCER_PORT } from '../../common/topology';
import type { BenchCluster } from '../lib/cluster';

export const READ_TABLE = 'bench_kv';

export interface PgbenchRun {
  clients: number;
  threads: number;
  /**
   * -t: transactions per client (each client connects first, then runs them: thousands of TLS and
   * SCRAM handshakes can outlast a -T duration, which counts from the start); or -T seconds.
   */
  transactions?: number;
  seconds: number;
  /** -C: a new connection (and TLS handshake) per transaction. */
  connectEach: boolean;
  /** verify-full with the cluster's CA, or disable (only accepted while PgBouncer allows plain clients). */
  tls: boolean;
}

export interface PgbenchResult {
  exitCode: number;
  tps?: number;
  transactions?: number;
  failed?: number;
  latencyMs?: number;
  /** pgbench's "initial connection time" (held connections) or "average connection time" (-C), ms. */
  connectMs?: number;
  /** Lines of pgbench's output that report an error or an aborted client. */
  errors: string[];
  output: string;
}

const num = (re: RegExp, text: string): number | undefined => {
  const m = re.exec(text);
  return m ? Number(m[1]) : undefined;
};

export function parsePgbench(output: string, exitCode: number): PgbenchResult {
  return {
    exitCode,
    tps: num(/^tps = ([\d.]+)/m, output),
    transactions: num(/number of transactions actually processed: (\d+)/, output),
    failed: num(/number of failed transactions: (\d+)/, output),
    latencyMs: num(/latency average = ([\d.]+) ms/, output),
    connectMs: num(/(?:initial|average) connection time = ([\d.]+) ms/, output),
    errors: output.split('\n').filter((l) => /error|abort|could not|FATAL/i.test(l)),
    output,
  };
}

export class Pgbench {
  /** Host directory mounted at /pgb: pgpass (0600, removed by cleanup), the CA, the script. */
  readonly dir: string;

  constructor(
    readonly cluster: BenchCluster,
    outDir: string,
    readonly image: string,
  ) {
    this.dir = path.join(outDir, 'pgbench');
    fs.mkdirSync(this.dir, { recursive: true });
  }

  prepare(rows: number): void {
    const s = this.cluster.secrets();
    fs.writeFileSync(path.join(this.dir, 'pgpass'), `${PGBOUNCER_MEMBER}:${PGBOUNCER_PORT}:*:app:${s.appPassword}\n`, {
      mode: 0o600,
    });
    fs.copyFileSync(this.cluster.caPath(), path.join(this.dir, 'ca.crt'));
    fs.writeFileSync(
      path.join(this.dir, 'read.sql'),
      `\\set id random(1, ${rows})\nSELECT v FROM ${READ_TABLE} WHERE id = :id;\n`,
    );
  }

  cleanup(): void {
    fs.rmSync(path.join(this.dir, 'pgpass'), { force: true });
  }

  async run(label: string, r: PgbenchRun): Promise<PgbenchResult> {
    const name = `citusctl-${this.cluster.name}-bench-pgbench`;
    await this.cluster.docker(['rm', '-f', name]).catch(() => undefined);
    const ssl = r.tls
      ? ['-e', 'PGSSLMODE=verify-full', '-e', 'PGSSLROOTCERT=/pgb/ca.crt']
      : ['-e', 'PGSSLMODE=disable'];
    const args = [
      'run',
      '--rm',
      '--name',
      name,
      '--label',
      `citusctl.cluster=${this.cluster.name}`,
      '--network',
      networkName(this.cluster.name),
      '-v',
      `${this.dir}:/pgb`,
      '--user',
      '0',
      // Every client holds a socket: the container's own descriptor limit must exceed the clients.
      '--ulimit',
      `nofile=${r.clients + 4096}:${r.clients + 4096}`,
      '-e',
      'PGPASSFILE=/pgb/pgpass',
      '-e',
      `PGHOST=${PGBOUNCER_MEMBER}`,
      '-e',
      `PGPORT=${PGBOUNCER_PORT}`,
      '-e',
      'PGUSER=app',
      '-e',
      'PGDATABASE=postgres',
      '-e',
      'PGCONNECT_TIMEOUT=60',
      ...ssl,
      '--entrypoint',
      'sh',
      this.image,
      '-c',
      `pgbench -n -c ${r.clients} -j ${r.threads} ${r.transactions ? `-t ${r.transactions}` : `-T ${r.seconds}`} ` +
        `${r.connectEach ? '-C' : ''} ` +
        `-f /pgb/read.sql >/pgb/${label}.out 2>&1; echo "exit $?" >>/pgb/${label}.out`,
    ];
    await this.cluster.docker(args, (r.seconds + 900) * 1000);
    const output = fs.readFileSync(path.join(this.dir, `${label}.out`), 'utf8');
    return parsePgbench(output, num(/^exit (\d+)$/m, output) ?? -1);
  }
}
