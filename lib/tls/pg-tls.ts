/**
 * What citusctl's own PostgreSQL connections (lib/pg-connector.ts) require of the server: a
 * certificate from the cluster's CA naming the member (or PgBouncer) it asked for. The address is
 * always 127.0.0.1 (the published port), so the name is given as the TLS server name.
 */
import { PGBOUNCER_MEMBER } from '../../common/topology';
import type { PgTls } from '../pg-connector';
import type { TlsStore } from './tls-store';

export type TrustSource = Pick<TlsStore, 'trust'>;

export async function memberTls(store: TrustSource, cluster: string, member: string): Promise<PgTls> {
  return { ca: await store.trust(cluster), servername: member };
}

export async function pgbouncerTls(store: TrustSource, cluster: string): Promise<PgTls> {
  return { ca: await store.trust(cluster), servername: PGBOUNCER_MEMBER };
}
