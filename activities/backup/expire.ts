/**
 * Expiring old backups (and the WAL only they need) with pgBackRest in the backup container, one
 * stanza at a time, keeping per stanza enough full backups that every kept cluster backup survives:
 * the spec's retention, or more when the newest verified restore started from an older backup
 * (common/backup-retention.ts). Idempotent: expire with the same counts removes nothing the second time.
 */
import { keptBackups, stanzaRetentionFull } from '../../common/backup-retention';
import { BACKUP_MEMBER } from '../../common/names';
import type { ClusterSpec } from '../../common/spec';
import { containerName } from '../../common/topology';
import { stanzasOf } from '../../lib/backup/pgbackrest-config';
import { classifyPgbackrestError, runPgbackrest, stanzaInfo } from '../../lib/backup/pgbackrest';
import type { ActivityDeps } from '../deps';
import { withHeartbeat } from '../heartbeat';
import { catalogOf } from './catalog-of';

export interface ExpiredBackups {
  /** Per stanza: the full backups kept, and the labels expired. */
  stanzas: Record<string, { retentionFull: number; expired: string[] }>;
  /** The cluster backups whose every group backup is still there. */
  kept: string[];
}

export function createExpireActivities(deps: ActivityDeps) {
  async function expireBackups(input: { spec: ClusterSpec }): Promise<ExpiredBackups> {
    const { spec } = input;
    const host = containerName(spec.name, BACKUP_MEMBER);
    return withHeartbeat(async () => {
      const catalog = catalogOf(deps, spec);
      const kept = keptBackups(
        spec.backup.retentionFull,
        await catalog.list('backups'),
        await catalog.list('verifications'),
      );
      const result: ExpiredBackups = { stanzas: {}, kept: kept.map((b) => b.id) };
      for (const stanza of stanzasOf(spec)) {
        try {
          const labels = async () =>
            ((await stanzaInfo(deps.docker, host, stanza))[0]?.backup ?? [])
              .filter((b) => b.type === 'full')
              .map((b) => b.label)
              .sort()
              .reverse();
          const before = await labels();
          const retentionFull = stanzaRetentionFull(stanza, spec.backup.retentionFull, kept, before);
          await runPgbackrest(deps.docker, host, [
            `--stanza=${stanza}`,
            `--repo1-retention-full=${retentionFull}`,
            'expire',
          ]);
          const after = new Set(await labels());
          result.stanzas[stanza] = { retentionFull, expired: before.filter((l) => !after.has(l)) };
        } catch (err) {
          throw classifyPgbackrestError(err, `${stanza}: expire`);
        }
      }
      return result;
    });
  }

  return { expireBackups };
}
