/**
 * Fixed names and ports every layer agrees on. Imports nothing: spec.ts and topology.ts both use it,
 * which is what keeps them from importing each other.
 */
export const COORDINATOR_GROUP = 'coordinator';

/** Port PostgreSQL listens on inside every container (host ports come from the spec). */
export const PG_PORT = 5432;
export const PGBOUNCER_PORT = 6432;
export const ETCD_PORT = 2379;
export const PGBOUNCER_MEMBER = 'pgbouncer';
export const ETCD_MEMBER = 'etcd';
/** The cluster's backup container (pgBackRest's repository host) and the member name on its labels. */
export const BACKUP_MEMBER = 'backup';
/** Where the backup repository volume is mounted in every PostgreSQL member and the backup container. */
export const BACKUP_REPO_PATH = '/var/lib/pgbackrest';
export const DATABASE = 'postgres';
export const SUPERUSER = 'postgres';
export const REPLICATION_USER = 'replicator';
export const APP_USER = 'app';
