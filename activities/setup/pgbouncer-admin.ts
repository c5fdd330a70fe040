/**
 * A connection to PgBouncer's admin console as the admin user only the orchestrator knows (commands:
 * lib/postgres/pgbouncer-admin.ts).
 */
import type { Client } from 'pg';
import type { ClusterSpec } from '../../common/spec';
import type { ActivityDeps } from '../deps';
import { PGBOUNCER_ADMIN_USER } from './pgbouncer';

export { bouncerDatabase } from '../../lib/postgres/pgbouncer-admin';

export async function withBouncerAdmin<T>(
  deps: ActivityDeps,
  spec: ClusterSpec,
  fn: (c: Client) => Promise<T>,
): Promise<T> {
  const s = await deps.secrets.ensure(spec.name);
  return deps.pg.withClient(
    {
      port: spec.pgbouncer.port,
      user: PGBOUNCER_ADMIN_USER,
      password: s.pgbouncerAdminPassword,
      database: 'pgbouncer',
      // PgBouncer's client side TLS is configured with its listener (activities/setup/pgbouncer.ts);
      // lib/tls/pg-tls.ts pgbouncerTls is what to pass here once it requires TLS.
      tls: null,
    },
    fn,
  );
}
