/**
 * expireBackupsWorkflow (`expire-backups-<cluster>`): expiry of the cluster's backups past
 * `backup.retentionFull`, never the backup the newest verified restore used (activities/backup/expire.ts
 * decides per stanza). Each backup starts it once its record is written and returns without waiting
 * (so `citusctl backup` does not wait for it); the schedule's backups start it the same way. Safe
 * beside a backup that starts meanwhile: pgBackRest's per-stanza lock keeps expire and a backup of
 * one stanza apart, and the counts keep every recorded backup (an unrecorded newer one only raises them).
 * From the UI: `{"cluster": "demo"}`.
 */
import type { ExpireBackupsInput } from '../common/inputs';
import type { ExpiredBackups } from '../activities/backup/expire';
import { acts } from './activity-proxies';
import { checkedInput } from './checked-input';
import { specFor } from './cluster-input';
import { trackProgress } from './progress-query';
import { tagWorkflow } from './tag-workflow';

export type { ExpireBackupsInput };

export const EXPIRE_STEPS = ['validate', 'expire'] as const;

/** What a progress line says of an expiry. */
export function describeExpired(e: ExpiredBackups): string {
  const gone = Object.entries(e.stanzas).flatMap(([s, x]) => x.expired.map((l) => `${s}/${l}`));
  return gone.length ? `expired ${gone.join(', ')}` : 'nothing to expire';
}

export async function expireBackupsWorkflow(started: ExpireBackupsInput): Promise<ExpiredBackups> {
  const progress = trackProgress('expireBackupsWorkflow', EXPIRE_STEPS);
  const spec = await progress.run(
    'validate',
    async () => {
      const s = await specFor(checkedInput('expireBackupsWorkflow', started));
      await tagWorkflow(s.name);
      return s;
    },
    (s) => `cluster ${s.name}, retention ${s.backup.retentionFull} full backups`,
  );
  return progress.run('expire', () => acts.expireBackups({ spec }), describeExpired);
}
