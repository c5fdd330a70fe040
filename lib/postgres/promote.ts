/**
 * Promotion of a standby, checked before it acts: a node already out of recovery is left alone, so
 * a retried failover never promotes twice.
 */
import { pollUntil } from '../poll';
import { oneRow, type PgClient } from './client';
import { setSynchronousStandbyNames } from './durability';
import { isInRecovery } from './role';

/** Promotion was asked for but the node is still in recovery after the wait. */
export class PromotionTimeout extends Error {}

/**
 * Waits until the standby replayed what it received, or replay stops moving for stallMs. The
 * received position can end inside a WAL record torn by the primary's death, which replay never
 * passes; promotion itself replays every complete record in pg_wal. Never throws on timeout.
 */
export async function waitReceivedReplayed(
  c: PgClient,
  opts: { timeoutMs?: number; stallMs?: number } = {},
): Promise<void> {
  const stallMs = opts.stallMs ?? 200;
  let last = '';
  let still = Date.now();
  await pollUntil(
    async () => {
      const r = await oneRow<{ caught: boolean | null; replay: string | null }>(
        c,
        'SELECT pg_last_wal_replay_lsn() >= pg_last_wal_receive_lsn() AS caught, ' +
          'pg_last_wal_replay_lsn()::text AS replay',
      );
      if (r.caught !== false) return true;
      if (r.replay !== last) [last, still] = [r.replay ?? '', Date.now()];
      return Date.now() - still > stallMs ? true : undefined;
    },
    opts.timeoutMs ?? 3_000,
    5,
  ).catch(() => undefined);
}

/**
 * pg_promote without its own wait (pg_promote(wait => true) checks only every 100 ms), then polls
 * every 10 ms until the node is out of recovery: this wait is the outage. Throws PromotionTimeout.
 */
export async function promoteAndWait(c: PgClient, timeoutMs = 60_000): Promise<void> {
  await c.query('SELECT pg_promote(false)');
  await pollUntil(async () => ((await isInRecovery(c)) ? undefined : true), timeoutMs, 10).catch(() => {
    throw new PromotionTimeout(`did not finish promotion within ${Math.round(timeoutMs / 1000)} s`);
  });
}

/**
 * The whole promotion of a standby; { promoted: false } when it already is out of recovery.
 * A standby can carry a stale synchronous_standby_names (copied by pg_rewind or a base backup):
 * promoted with it, every commit would wait for a standby that is not there, so it is cleared first.
 */
export async function promoteStandby(c: PgClient): Promise<{ promoted: boolean }> {
  if (!(await isInRecovery(c))) return { promoted: false };
  await setSynchronousStandbyNames(c, '');
  await waitReceivedReplayed(c);
  await promoteAndWait(c);
  return { promoted: true };
}
