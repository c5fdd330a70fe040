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
  /** Per stanza: its full backups' labels, newest first (labels sort by time). */
  async function fullLabels(host: string): Promise<Record<string, string[]>> {
    const info = await stanzaInfo(deps.docker, host).catch((err: unknown) => {
      throw classifyPgbackrestError(err, 'pgbackrest info');
    });
    return Object.fromEntries(
      info.map((i) => [
        i.name,
        i.backup
          .filter((b) => b.type === 'full')
          .map((b) => b.label)
          .sort()
          .reverse(),
      ]),
    );
  }

  async function expireBackups(input: { spec: ClusterSpec }): Promise<ExpiredBackups> {
    const { spec } = input;
    const host = containerName(spec.name, BACKUP_MEMBER);
    return withHeartbeat(async () => {
      const catalog = catalogOf(deps, spec);
      const [backups, verifications] = await Promise.all([catalog.list('backups'), catalog.list('verifications')]);
      const kept = keptBackups(spec.backup.retentionFull, backups, verifications);
      const result: ExpiredBackups = { stanzas: {}, kept: kept.map((b) => b.id) };
      const stanzas = stanzasOf(spec);
      // One `info` of every stanza before and after; the stanzas expire at once (each its own lock).
      const before = await fullLabels(host);
      await Promise.all(
        stanzas.map(async (stanza) => {
          const retentionFull = stanzaRetentionFull(stanza, spec.backup.retentionFull, kept, before[stanza] ?? []);
          await runPgbackrest(deps.docker, host, [
            `--stanza=${stanza}`,
            `--repo1-retention-full=${retentionFull}`,
            'expire',
          ]).catch((err: unknown) => {
            throw classifyPgbackrestError(err, `${stanza}: expire`);
          });
          result.stanzas[stanza] = { retentionFull, expired: [] };
        }),
      );
      const after = await fullLabels(host);
      for (const stanza of stanzas) {
        const left = new Set(after[stanza] ?? []);
        result.stanzas[stanza]!.expired = (before[stanza] ?? []).filter((l) => !left.has(l));
      }
      return result;
    });
  }

  return { expireBackups };
}
