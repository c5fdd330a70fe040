/**
 * Before a backup: the cluster's repository is there and every group's stanza exists in it. A
 * missing repository or stanza is not fixed by retrying (`citusctl up` creates them); a backup
 * container that is not running yet is (its restart policy, the monitor, `up`).
 */
import { BACKUP_MEMBER } from '../../common/names';
import type { ClusterSpec } from '../../common/spec';
import { containerName } from '../../common/topology';
import { stanzasOf } from '../../lib/backup/pgbackrest-config';
import { classifyPgbackrestError, stanzaInfo } from '../../lib/backup/pgbackrest';
import { containerState } from '../../lib/docker/docker-helpers';
import { fatal, notReady } from '../../lib/errors';
import type { ActivityDeps } from '../deps';
import { withHeartbeat } from '../heartbeat';
import { readStoredSpec } from '../setup/cluster-spec';
import { stateDir } from '../../lib/state-dir';
import { catalogOf } from './catalog-of';

/** pgBackRest's info status codes: 0 ok, 2 no valid backups yet (both fine to back up); 1 missing stanza. */
const STANZA_USABLE = new Set([0, 2]);

export function createRepositoryCheckActivities(deps: ActivityDeps) {
  /**
   * `{cluster}`: the stored spec is read here, so the workflow runs this check while it reads the
   * spec itself (one activity's round trip less before the backups).
   */
  async function checkBackupRepository(
    input: { spec: ClusterSpec } | { cluster: string },
  ): Promise<{ stanzas: string[] }> {
    return withHeartbeat(async () => {
      const spec = 'spec' in input ? input.spec : await readStoredSpec(stateDir(deps.env), input);
      if (!spec.backup.enabled)
        throw fatal('BadConfig', `${spec.name}: backups are disabled in the spec (backup.enabled: false)`);
      if (!(await catalogOf(deps, spec).exists()))
        throw fatal('BadConfig', `${spec.name}: no backup repository (run citusctl up to create it)`);
      const host = containerName(spec.name, BACKUP_MEMBER);
      const state = await containerState(deps.docker, host);
      if (state === 'absent') throw fatal('BadConfig', `${spec.name}: no backup container ${host} (run citusctl up)`);
      if (state !== 'running') throw notReady(`${spec.name}: the backup container ${host} is ${state}`);
      const info = await stanzaInfo(deps.docker, host).catch((err: unknown) => {
        throw classifyPgbackrestError(err, `${spec.name}: pgbackrest info`);
      });
      const stanzas = stanzasOf(spec);
      const problems = stanzas.flatMap((s) => {
        const i = info.find((x) => x.name === s);
        if (!i) return [`stanza ${s} is not configured in ${host}`];
        return STANZA_USABLE.has(i.status.code) ? [] : [`stanza ${s}: ${i.status.message} (code ${i.status.code})`];
      });
      if (problems.length)
        throw fatal('BadConfig', `${spec.name}: the repository is not ready: ${problems.join('; ')} (run citusctl up)`);
      return { stanzas };
    });
  }
  return { checkBackupRepository };
}
