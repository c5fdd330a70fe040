/**
 * createRestorePoint: one named restore point consistent across every group (common/restore-point.ts
 * says why every metadata node is locked, not only the coordinator), recorded in the backup catalog
 * and returned once every group's segment holding it is archived.
 *
 * Straight to each group's primary as superuser (never through PgBouncer): one session per primary
 * holds that node's distributed commits; in that window the coordinator counts the rows (when
 * asked: writers are held, so the counts are those at the point) and calls
 * citus_create_restore_point, then every session notes its WAL position and everything is released.
 * Counting before the point is made keeps a failed count from leaving an unrecorded point of this
 * name in the WAL (a retry would write a second one; recovery stops at the first).
 *
 * Idempotent: a name already recorded by this workflow run is this request retried (its archive
 * wait is redone and the record returned); any other request of a recorded name is refused.
 */
import { Context } from '@temporalio/activity';
import type { Client } from 'pg';
import type { RestorePointGroup, RestorePointOrigin, RestorePointRecord } from '../../common/backup-records';
import { COORDINATOR_GROUP } from '../../common/names';
import { resolveImages } from '../../common/images';
import {
  COMMIT_BLOCKING_CATALOGS,
  pointNameProblem,
  sameRequest,
  segmentArchived,
  timelineOfWalFile,
} from '../../common/restore-point';
import type { ClusterSpec } from '../../common/spec';
import { BackupCatalog } from '../../lib/backup/catalog';
import { classifyPgError, fatal, notReady } from '../../lib/errors';
import {
  archiveMode,
  citusCreateRestorePoint,
  citusTables,
  commit,
  countRows,
  existingRelations,
  holdWritesStatements,
  preparedCitusTransactions,
  qualifiedName,
  rollbackQuietly,
  runStatements,
  segmentArchiveState,
  switchWal,
  walInsertPosition,
} from '../../lib/postgres/restore-point';
import type { ActivityDeps } from '../deps';
import { sleep, withHeartbeat } from '../heartbeat';
import { asSuperuser } from '../members/superuser';
import { livePrimariesOf } from '../store';

export interface CreateRestorePointInput {
  spec: ClusterSpec;
  name: string;
  origin: RestorePointOrigin;
  /** Hold writers (SHARE locks on every Citus table) and count every table's rows at the point. */
  rowCounts: boolean;
}

/** The workflow run asking (`<workflow id>/<run id>`): the same across the activity's retries; none outside one. */
function requestOfThisRun(): string | undefined {
  try {
    const w = Context.current().info.workflowExecution;
    return w ? `${w.workflowId}/${w.runId}` : undefined;
  } catch {
    return undefined;
  }
}

/** How long prepared (two-phase) transactions may take to finish once writers are held. */
const PREPARED_DRAIN_MS = 2_000;
/** How long every group's point segment may take to reach the repository. */
const ARCHIVE_WAIT_MS = 120_000;

interface Session {
  group: string;
  member: string;
  client: Client;
}

/** Opens one superuser session per member (nested: each stays open until fn settles). */
async function withSessions<T>(
  deps: ActivityDeps,
  spec: ClusterSpec,
  targets: readonly { group: string; member: string }[],
  fn: (sessions: Session[]) => Promise<T>,
  opened: Session[] = [],
): Promise<T> {
  const [next, ...rest] = targets;
  if (!next) return fn(opened);
  return asSuperuser(deps, spec, next.member, (client) =>
    withSessions(deps, spec, rest, fn, [...opened, { ...next, client }]),
  );
}

export function createRestorePointActivities(deps: ActivityDeps) {
  const catalogOf = (spec: ClusterSpec) =>
    new BackupCatalog(deps.docker, spec.name, resolveImages(spec, deps.env).postgres);

  const groupTargets = async (spec: ClusterSpec) => {
    const p = await livePrimariesOf(deps, spec);
    return [
      { group: COORDINATOR_GROUP, member: p.coordinator },
      ...Object.entries(p.workers).map(([group, member]) => ({ group, member })),
    ];
  };

  /** The window: every node's distributed commits held, rows counted, the point made, positions read. */
  async function makePoint(
    spec: ClusterSpec,
    input: CreateRestorePointInput,
    targets: { group: string; member: string }[],
  ): Promise<Omit<RestorePointRecord, 'origin'>> {
    return withSessions(deps, spec, targets, async (sessions) => {
      const [coord, ...workers] = sessions;
      const tables = input.rowCounts ? (await citusTables(coord!.client)).map(qualifiedName) : [];
      // Which commit-blocking catalogs each worker has (the double has no pg_dist_transaction).
      const workerCatalogs = await Promise.all(
        workers.map(async (w) =>
          (
            await existingRelations(
              w.client,
              COMMIT_BLOCKING_CATALOGS.map((c) => `pg_catalog.${c}`),
            )
          ).map((c) => c.replace(/^pg_catalog\./, '')),
        ),
      );
      const started = Date.now();
      let open = true;
      try {
        await runStatements(coord!.client, holdWritesStatements({ tables, catalogs: [] }));
        // Then every worker's catalogs (its shell tables are locked already: holdWritesStatements says why).
        await Promise.all(
          workers.map((w, i) =>
            runStatements(w.client, holdWritesStatements({ tables: [], catalogs: workerCatalogs[i]! })),
          ),
        );
        let rowCounts: Record<string, number> | null = null;
        if (input.rowCounts) {
          await drainPrepared(sessions);
          rowCounts = {};
          for (const t of tables) rowCounts[t] = await countRows(coord!.client, t);
        }
        const made = await citusCreateRestorePoint(coord!.client, input.name);
        const groups: Record<string, RestorePointGroup> = {};
        await Promise.all(
          sessions.map(async (s) => {
            const p = await walInsertPosition(s.client);
            groups[s.group] = {
              primary: s.member,
              lsn: p.lsn,
              walFile: p.walFile,
              timeline: timelineOfWalFile(p.walFile),
            };
          }),
        );
        await Promise.all(sessions.map((s) => commit(s.client)));
        open = false;
        return {
          name: input.name,
          cluster: spec.name,
          createdAt: new Date(made.at).toISOString(),
          coordinatorLsn: made.lsn,
          groups,
          rowCounts,
          pauseMs: Date.now() - started,
        };
      } finally {
        if (open) await Promise.all(sessions.map((s) => rollbackQuietly(s.client)));
      }
    });
  }

  /** Waits (bounded) until no Citus prepared transaction is left on any node; else the attempt is retried. */
  async function drainPrepared(sessions: Session[]): Promise<void> {
    const deadline = Date.now() + PREPARED_DRAIN_MS;
    for (;;) {
      const left = await Promise.all(sessions.map(async (w) => ({ w, n: await preparedCitusTransactions(w.client) })));
      const busy = left.filter((x) => x.n > 0);
      if (!busy.length) return;
      if (Date.now() >= deadline)
        throw notReady(
          `prepared transactions still pending after ${PREPARED_DRAIN_MS} ms on ` +
            `${busy.map((x) => `${x.w.member} (${x.n})`).join(', ')}: their commits would be missing from the ` +
            'row counts; retrying',
        );
      await sleep(50);
    }
  }

  /** Refuses (before any point is made) a group primary that archives nothing: its point would never be usable. */
  async function refuseUnarchived(spec: ClusterSpec, targets: { group: string; member: string }[]): Promise<void> {
    for (const { member } of targets) {
      if ((await asSuperuser(deps, spec, member, archiveMode)) === 'off')
        throw fatal(
          'BadConfig',
          `WAL archiving is off on ${member}: a restore point could not reach the backup repository ` +
            '(`citusctl up` turns archiving on with backup.enabled)',
        );
    }
  }

  /** Switches every group primary's WAL and waits until the segment holding the point is archived. */
  async function archivePoint(spec: ClusterSpec, record: RestorePointRecord): Promise<void> {
    const targets = await groupTargets(spec);
    await Promise.all(
      targets.map(async ({ group, member }) => {
        const walFile = record.groups[group]?.walFile;
        if (!walFile) return; // a group added after the point was made
        await asSuperuser(deps, spec, member, async (c) => {
          await switchWal(c);
          const deadline = Date.now() + ARCHIVE_WAIT_MS;
          for (;;) {
            const s = await segmentArchiveState(c, walFile);
            if (segmentArchived(walFile, s)) return;
            if (Date.now() >= deadline)
              throw notReady(
                `${group}: WAL segment ${walFile} holding restore point ${record.name} not archived from ${member} ` +
                  `after ${ARCHIVE_WAIT_MS / 1000} s` +
                  (s.failed ? ` (archiving last failed on ${s.failed} at ${new Date(s.failedAt!).toISOString()})` : ''),
              );
            await sleep(200);
          }
        });
      }),
    );
  }

  async function createRestorePoint(input: CreateRestorePointInput): Promise<RestorePointRecord> {
    const { spec, name, origin } = input;
    return withHeartbeat(async () => {
      if (!spec.backup.enabled)
        throw fatal(
          'BadConfig',
          `backups are disabled for ${spec.name} (backup.enabled: false): no restore point made`,
        );
      const problem = pointNameProblem(name);
      if (problem) throw fatal('BadConfig', `restore point name "${name}": ${problem}`);
      const catalog = catalogOf(spec);
      const request = requestOfThisRun();
      let record = await catalog.get('restore-points', name);
      if (record && (record.cluster !== spec.name || !sameRequest(record, origin, request)))
        throw fatal(
          'Conflict',
          `a restore point named "${name}" exists already (made ${record.createdAt}, ${record.origin}); ` +
            'choose another name',
        );
      try {
        if (!record) {
          const targets = await groupTargets(spec);
          await refuseUnarchived(spec, targets);
          const made = await makePoint(spec, input, targets);
          record = { ...made, origin, ...(request ? { request } : {}) };
          // Recorded before the archive wait: a retry from here on finds it and only waits again.
          if (!(await catalog.put('restore-points', name, record)))
            record = (await catalog.get('restore-points', name))!;
        }
        await archivePoint(spec, record);
      } catch (err) {
        throw classifyPgError(err, `restore point ${name} of ${spec.name}`);
      }
      return record;
    });
  }

  return { createRestorePoint };
}
