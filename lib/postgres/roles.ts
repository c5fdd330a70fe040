/** The cluster's login roles and the citus extension on a primary: created only when absent. */
import type { PgClient } from './client';
import { quoteIdent } from './identifiers';

/** Which of the named roles exist. */
export async function existingRoles(c: PgClient, names: string[]): Promise<Set<string>> {
  const { rows } = await c.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [names]);
  return new Set(rows.map((r) => r.rolname));
}

/** A login role; `password` is a plain password or a SCRAM verifier (sent as a literal, never logged). */
export async function createLoginRole(c: PgClient, name: string, password: string, replication = false): Promise<void> {
  await c.query(
    `CREATE ROLE ${quoteIdent(name)} WITH LOGIN${replication ? ' REPLICATION' : ''} PASSWORD ` +
      `${c.escapeLiteral(password)}`,
  );
}

export async function ensureCitusExtension(c: PgClient): Promise<void> {
  await c.query('CREATE EXTENSION IF NOT EXISTS citus');
}
