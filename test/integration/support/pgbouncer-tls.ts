/** TLS to PgBouncer as its clients use it: the cluster's CA, PgBouncer's certificate name. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import type { TestCluster } from './cluster';

/** The trust bundle `up` wrote for the cluster's clients (sslrootcert). */
export const caFile = (c: TestCluster) => path.join(c.stateDir, 'clusters', c.name, 'tls', 'ca.crt');

/** node-postgres `ssl` for 127.0.0.1:<pgbouncer port>: verified against the cluster's CA. */
export function pgbouncerSsl(c: TestCluster): ConnectionOptions {
  return { ca: fs.readFileSync(caFile(c), 'utf8'), servername: 'pgbouncer' };
}
