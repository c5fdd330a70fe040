/**
 * Asks the postmaster to re-read its configuration (SIGHUP): settings, pg_hba, and the TLS files
 * (ssl_cert_file, ssl_key_file, ssl_ca_file) for connections opened afterwards. Returns once the
 * signal is sent; the reload itself follows within moments.
 */
import type { PgClient } from './client';

export async function reloadConfiguration(c: PgClient): Promise<void> {
  await c.query('SELECT pg_reload_conf()');
}
