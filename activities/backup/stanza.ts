/**
 * Each group's pgBackRest stanza in the cluster's repository, created from the group's primary (it
 * reads the data directory's system identifier and version). Check, then act: `stanza-create` on a
 * stanza that matches is a no-op; a repository that holds an earlier database of the same name (the
 * cluster was brought down with --volumes and set up anew, its backups kept) gets that database
 * added to the stanza's history by `stanza-upgrade`, so the old backups stay restorable.
 */
import type { ClusterSpec } from '../../common/spec';
import { containerName, groupsOf, type Primaries } from '../../common/topology';
import { classifyPgbackrestError, PgbackrestError, runPgbackrest } from '../../lib/backup/pgbackrest';
import { fatal } from '../../lib/errors';
import type { ActivityDeps } from '../deps';
import { withHeartbeat } from '../heartbeat';

export interface StanzaOutcome {
  stanza: string;
  primary: string;
  action: 'created' | 'upgraded' | 'present';
}

/** pgBackRest's answer when the repository's stanza was made for another database (system id). */
const OTHER_DATABASE = /do(es)? not match the database|system-id/i;

export function createStanzaActivities(deps: ActivityDeps) {
  async function ensureStanza(spec: ClusterSpec, stanza: string, primary: string): Promise<StanzaOutcome> {
    const container = containerName(spec.name, primary);
    try {
      const r = await runPgbackrest(deps.docker, container, [
        `--stanza=${stanza}`,
        '--log-level-console=info',
        'stanza-create',
      ]);
      const present = /already exists/i.test(r.stdout + r.stderr);
      return { stanza, primary, action: present ? 'present' : 'created' };
    } catch (err) {
      if (!(err instanceof PgbackrestError) || !OTHER_DATABASE.test(err.output))
        throw classifyPgbackrestError(err, `creating stanza ${stanza} from ${primary}`);
      try {
        await runPgbackrest(deps.docker, container, [`--stanza=${stanza}`, 'stanza-upgrade']);
        return { stanza, primary, action: 'upgraded' };
      } catch (upgradeErr) {
        throw classifyPgbackrestError(upgradeErr, `stanza ${stanza} holds another database; stanza-upgrade`);
      }
    }
  }

  /** Every group's stanza, from its live primary, in parallel. Nothing to do when backups are off. */
  async function ensureBackupStanzas(input: { spec: ClusterSpec; primaries: Primaries }): Promise<StanzaOutcome[]> {
    const { spec, primaries } = input;
    if (!spec.backup.enabled) return [];
    return withHeartbeat(() =>
      Promise.all(
        groupsOf(spec).map((g) => {
          const primary = g.isCoordinator ? primaries.coordinator : primaries.workers[g.group];
          if (!primary) throw fatal('Invariant', `no primary for group ${g.group}`);
          return ensureStanza(spec, g.group, primary);
        }),
      ),
    );
  }

  return { ensureBackupStanzas };
}
