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
 * Idempotent: a name already recorded with the same origin is this request retried (its archive
 * wait is redone and the record returned); with another origin it is refused.
 */
import type { Client } from 'pg';
import type { RestorePointGroup, RestorePointOrigin, RestorePointRecord } from '../../common/backup-records';
import { COORDINATOR_GROUP } from '../../common/names';
import { resolveImages } from '../../common/images';
import {
  COMMIT_BLOCKING_CATALOGS,
  holdWritesStatements,
  pointNameProblem,
  qualifiedName,
  segmentArchived,
  timelineOfWalFile,
  type ArchiveState,
} from '../../common/restore-point';
import type { ClusterSpec } from '../../common/spec';
import { BackupCatalog } from '../../lib/backup/catalog';
import { classifyPgError, fatal, notReady } from '../../lib/errors';
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

const one = async <R>(c: Client, sql: string, params: unknown[] = []): Promise<R> =>
  (await c.query(sql, params)).rows[0] as R;

/** Citus tables as `schema.table` (citus_tables' names), from the coordinator's pg_dist_partition. */
async function citusTables(c: Client): Promise<{ schema: string; name: string }[]> {
  const r = await c.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, t.relname AS name
       FROM pg_dist_partition p JOIN pg_class t ON t.oid = p.logicalrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      ORDER BY 1, 2`,
  );
  return r.rows;
}

/** Of the given names, those that exist on this node (to_regclass), in order. */
async function existing(c: Client, names: readonly string[]): Promise<string[]> {
  if (!names.length) return [];
  const r = await c.query<{ present: boolean[] }>(
    'SELECT array_agg(to_regclass(n) IS NOT NULL ORDER BY i) AS present FROM unnest($1::text[]) WITH ORDINALITY AS u(n, i)',
    [names],
  );
  const present = r.rows[0]?.present ?? [];
  return names.filter((_, i) => present[i]);
}

async function runAll(c: Client, statements: readonly string[]): Promise<void> {
  for (const s of statements) await c.query(s);
}

/** Citus's prepared transactions still on a node (a commit whose COMMIT PREPARED has not arrived yet). */
const preparedCitusTransactions = async (c: Client): Promise<number> =>
  Number((await one<{ n: string }>(c, "SELECT count(*) AS n FROM pg_prepared_xacts WHERE gid LIKE 'citus\\_%'")).n);

/** The node's WAL insert position and the segment holding everything before it. */
async function walPosition(c: Client): Promise<{ lsn: string; walFile: string }> {
  return one(c, 'SELECT l::text AS lsn, pg_walfile_name(l) AS "walFile" FROM pg_current_wal_insert_lsn() AS l');
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
      // Which tables and catalogs each worker has, read before the window opens.
      const workerLocks = await Promise.all(
        workers.map(async (w) => ({
          tables: await existing(w.client, tables),
          catalogs: (
            await existing(
              w.client,
              COMMIT_BLOCKING_CATALOGS.map((c) => `pg_catalog.${c}`),
            )
          ).map((c) => c.replace(/^pg_catalog\./, '')),
        })),
      );
      const started = Date.now();
      let open = true;
      try {
        await runAll(coord!.client, holdWritesStatements({ tables, catalogs: [] }));
        await Promise.all(workers.map((w, i) => runAll(w.client, holdWritesStatements(workerLocks[i]!))));
        let rowCounts: Record<string, number> | null = null;
        if (input.rowCounts) {
          await drainPrepared(workers);
          rowCounts = {};
          for (const t of tables)
            rowCounts[t] = Number((await one<{ n: string }>(coord!.client, `SELECT count(*) AS n FROM ${t}`)).n);
        }
        const made = await one<{ lsn: string; at: Date }>(
          coord!.client,
          'SELECT citus_create_restore_point($1)::text AS lsn, clock_timestamp() AS at',
          [input.name],
        );
        const groups: Record<string, RestorePointGroup> = {};
        await Promise.all(
          sessions.map(async (s) => {
            const p = await walPosition(s.client);
            groups[s.group] = {
              primary: s.member,
              lsn: p.lsn,
              walFile: p.walFile,
              timeline: timelineOfWalFile(p.walFile),
            };
          }),
        );
        await Promise.all(sessions.map((s) => s.client.query('COMMIT')));
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
        if (open) await Promise.all(sessions.map((s) => s.client.query('ROLLBACK').catch(() => undefined)));
      }
    });
  }

  /** Waits (bounded) until no Citus prepared transaction is left on any worker; else the attempt is retried. */
  async function drainPrepared(workers: Session[]): Promise<void> {
    const deadline = Date.now() + PREPARED_DRAIN_MS;
    for (;;) {
      const left = await Promise.all(workers.map(async (w) => ({ w, n: await preparedCitusTransactions(w.client) })));
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

  /** Switches every group primary's WAL and waits until the segment holding the point is archived. */
  async function archivePoint(spec: ClusterSpec, record: RestorePointRecord): Promise<void> {
    const targets = await groupTargets(spec);
    await Promise.all(
      targets.map(async ({ group, member }) => {
        const walFile = record.groups[group]?.walFile;
        if (!walFile) return; // a group added after the point was made
        await asSuperuser(deps, spec, member, async (c) => {
          const mode = (await one<{ archive_mode: string }>(c, 'SHOW archive_mode')).archive_mode;
          if (mode === 'off')
            throw fatal(
              'BadConfig',
              `WAL archiving is off on ${member}: the restore point cannot reach the backup repository ` +
                '(`citusctl up` turns archiving on with backup.enabled)',
            );
          await c.query('SELECT pg_switch_wal()');
          const deadline = Date.now() + ARCHIVE_WAIT_MS;
          for (;;) {
            const s = await one<ArchiveState & { failed: string | null; failedAt: Date | null }>(
              c,
              `SELECT (pg_stat_file('pg_wal/archive_status/' || $1 || '.ready', true)).size IS NOT NULL AS ready,
                      (pg_stat_file('pg_wal/archive_status/' || $1 || '.done', true)).size IS NOT NULL AS done,
                      a.last_archived_wal AS "lastArchived", a.last_failed_wal AS failed, a.last_failed_time AS "failedAt"
                 FROM pg_stat_archiver a`,
              [walFile],
            );
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
      let record = await catalog.get('restore-points', name);
      if (record && (record.origin !== origin || record.cluster !== spec.name))
        throw fatal(
          'Conflict',
          `a restore point named "${name}" exists already (made ${record.createdAt} by ${record.origin}); ` +
            'choose another name',
        );
      try {
        if (!record) {
          const made = await makePoint(spec, input, await groupTargets(spec));
          record = { ...made, origin };
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
