/**
 * Commit durability of a primary: synchronous_standby_names (which standbys a commit waits for) and
 * synchronous_commit (how far it waits). Each setter checks first and changes only what differs
 * (ALTER SYSTEM + reload), so it is safe to repeat.
 */
import { oneRow, type PgClient } from './client';
import { streamingStandbys } from './replication';

/** The value that makes a commit wait for any one of these standbys (their application_name). */
export const anyOneOf = (standbys: string[]): string =>
  standbys.length ? `ANY 1 (${standbys.map((s) => `"${s}"`).join(', ')})` : '';

async function readSetting(c: PgClient, name: string): Promise<string> {
  return (await oneRow<{ v: string | null }>(c, 'SELECT current_setting($1) AS v', [name])).v ?? '';
}

/** ALTER SYSTEM + reload, unless the running value already is the wanted one. */
async function setSetting(c: PgClient, name: string, value: string): Promise<boolean> {
  if ((await readSetting(c, name)) === value) return false;
  await c.query(`ALTER SYSTEM SET ${name} = ${c.escapeLiteral(value)}`);
  await c.query('SELECT pg_reload_conf()');
  return true;
}

export const readSynchronousStandbyNames = (c: PgClient): Promise<string> =>
  readSetting(c, 'synchronous_standby_names');

/** Returns whether it changed anything. '' makes commits asynchronous. */
export const setSynchronousStandbyNames = (c: PgClient, value: string): Promise<boolean> =>
  setSetting(c, 'synchronous_standby_names', value);

export const readSynchronousCommit = (c: PgClient): Promise<string> => readSetting(c, 'synchronous_commit');

export type SynchronousCommit = 'on' | 'off' | 'local' | 'remote_write' | 'remote_apply';

export const setSynchronousCommit = (c: PgClient, value: SynchronousCommit): Promise<boolean> =>
  setSetting(c, 'synchronous_commit', value);

/**
 * Synchronous: commits wait for any one of `standbys` that streams now (naming one that does not
 * would block every commit); otherwise asynchronous (''). Returns the value in force.
 */
export async function setCommitWaitsFor(c: PgClient, synchronous: boolean, standbys: string[]): Promise<string> {
  const streaming = await streamingStandbys(c);
  const wanted = synchronous ? anyOneOf(standbys.filter((s) => streaming.includes(s))) : '';
  await setSynchronousStandbyNames(c, wanted);
  return wanted;
}
