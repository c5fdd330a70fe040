/**
 * createRestorePoint: one named restore point consistent across every group (common/restore-point.ts
 * says why every metadata node is locked, not only the coordinator), recorded in the backup catalog
 * and returned once every group's segment holding it is archived.
 *
 * Straight to each group's primary as superuser (never through PgBouncer): one session per primary
 * holds that node's distributed commits; in that window the coordinator counts the rows (when
 * asked: its SHARE locks hold writers, so the counts are those at the point), then every session
 * writes its node's point with its WAL position, and everything is released. Counting before the
 * points are written keeps a failed count from leaving an unrecorded point of this name in the WAL
 * (a retry would write a second one; recovery stops at the first). The same sessions then switch
 * WAL and wait for the archive while the record is written: a backup's path pays for one set of
 * sessions, opened at once, and for the archive push, not for the record besides.
 *
 * Idempotent: a name already recorded by this workflow run is this request retried (its archive
 * wait is redone and the record returned); any other request of a recorded name is refused.
 */
import { peerPort } from '../../common/addressing';
import { Context } from '@temporalio/activity';
import type { Client } from 'pg';
import type { RestorePointGroup, RestorePointOrigin, RestorePointRecord } from '../../common/backup-records';
import { errorMessage } from '../../common/error-message';
import { COORDINATOR_GROUP, PG_PORT } from '../../common/names';
import { resolveImages } from '../../common/images';
import {
  COMMIT_BLOCKING_CATALOGS,
  POINT_LOCK_ATTEMPTS,
  lockRetryDelayMs,
  pointNameProblem,
  pointNodesProblem,
  sameRequest,
  segmentArchived,
  timelineOfWalFile,
} from '../../common/restore-point';
import type { ClusterSpec } from '../../common/spec';
import { BackupCatalog } from '../../lib/backup/catalog';
import { classifyPgError, fatal, notReady } from '../../lib/errors';
import {
  BEGIN_POINT,
  LOCK_GIVEN_UP_SQLSTATES,
  archiveMode,
  citusTables,
  commit,
  countRows,
  createLocalPoint,
  existingRelations,
  lockCatalogs,
  lockTablesStatement,
  preparedCitusTransactions,
  qualifiedName,
  rollbackQuietly,
  segmentArchiveState,
  switchWal,
  warmUpCounts,
} from '../../lib/postgres/restore-point';
import type { ActivityDeps } from '../deps';
import { settledAll, withAll } from '../../lib/settled-all';
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

/**
 * How long prepared (two-phase) transactions may take to finish once writers are held (with row
 * counts): their COMMIT PREPARED is on its way; longer, the attempt is given up and tried again.
 */
const PREPARED_DRAIN_MS = 100;
/** How long every group's point segment may take to reach the repository. */
const ARCHIVE_WAIT_MS = 120_000;
/** How often the archive state is read meanwhile (one cheap query on a session already open). */
const ARCHIVE_POLL_MS = 50;

/** A group and its primary. */
interface Target {
  group: string;
  member: string;
}

interface Session extends Target {
  client: Client;
}

/**
 * One superuser session per member, opened all at once (a TLS + SCRAM handshake is a few round
 * trips: one after the other they added up on the backup's path), all closed once fn settles.
 */
const withSessions = <T>(
  deps: ActivityDeps,
  spec: ClusterSpec,
  targets: readonly Target[],
  fn: (sessions: Session[]) => Promise<T>,
): Promise<T> =>
  withAll<Session, T>(
    targets.map((t) => (use) => asSuperuser(deps, spec, t.member, (client) => use({ ...t, client }))),
    fn,
  );

export function createRestorePointActivities(deps: ActivityDeps) {
  const catalogOf = (spec: ClusterSpec) =>
    new BackupCatalog(deps.docker, spec.name, resolveImages(spec, deps.env).postgres);

  const groupTargets = async (spec: ClusterSpec): Promise<Target[]> => {
    const p = await livePrimariesOf(deps, spec);
    return [
      { group: COORDINATOR_GROUP, member: p.coordinator },
      ...Object.entries(p.workers).map(([group, member]) => ({ group, member })),
    ];
  };

  /**
   * The point on every node, consistent (common/restore-point.ts says why and how). Prepared before
   * the window, on every session at once: archiving is on (else refused, before any point is made),
   * which catalogs each node has, the tables and (with counts) the coordinator's Citus metadata and
   * connections readied by a query of each table that reads no row (warmUpCounts). A lock given up
   * (lock_timeout) releases everything and is tried again a moment later.
   */
  async function makePoint(
    spec: ClusterSpec,
    input: CreateRestorePointInput,
    sessions: Session[],
  ): Promise<Omit<RestorePointRecord, 'origin'>> {
    const coord = sessions[0]!;
    await settledAll(sessions.map((s) => refuseUnarchived(s)));
    const [catalogs, tables] = await settledAll([
      settledAll(sessions.map((s) => presentCatalogs(s.client))),
      input.rowCounts ? warmedTables(coord.client) : Promise.resolve([]),
    ] as const);
    for (let attempt = 1; ; attempt++) {
      const made = await windowOnce(spec, input, sessions, catalogs, tables);
      if (typeof made !== 'string') {
        deps.log(`restore point ${input.name}: ${made.timing} (attempt ${attempt})`);
        return made.record;
      }
      if (attempt >= POINT_LOCK_ATTEMPTS)
        throw notReady(`restore point ${input.name}: ${attempt} attempts gave up a lock, the last: ${made}; retrying`);
      await sleep(lockRetryDelayMs(attempt, Math.random()));
    }
  }

  /** The Citus tables, each queried once outside the window so the count in it finds Citus ready. */
  async function warmedTables(c: Client): Promise<string[]> {
    const tables = (await citusTables(c)).map(qualifiedName);
    await warmUpCounts(c, tables);
    return tables;
  }

  /**
   * One attempt at the window: every node's commits held, the tables counted (when asked), every
   * node's point, everything released. Returns why it gave up, before any point was written, when a
   * lock was not granted in time (or, with counts, prepared transactions did not finish in time). A
   * failure once points are being written is final for this name: some nodes may have a point of it
   * in their WAL, and recovery stops at a name's first point.
   */
  async function windowOnce(
    spec: ClusterSpec,
    input: CreateRestorePointInput,
    sessions: Session[],
    catalogs: string[][],
    tables: string[],
  ): Promise<{ record: Omit<RestorePointRecord, 'origin'>; timing: string } | string> {
    const coord = sessions[0]!;
    await Promise.all(sessions.map((s) => s.client.query(BEGIN_POINT)));
    const started = Date.now();
    const at: number[] = [];
    let phase: 'lock' | 'point' | 'release' = 'lock';
    let open = true;
    try {
      if (tables.length) await coord.client.query(lockTablesStatement(tables));
      const locked = await Promise.all(
        sessions.map((s, i) => lockCatalogs(s.client, catalogs[i]!, { workerNodes: s === coord })),
      );
      at.push(Date.now());
      const problem = pointNodesProblem(
        sessions.slice(1).map((s) => s.member),
        locked[0]!.workerNodes ?? [],
        (member) => (spec.members.some((m) => m.name === member) ? peerPort(spec, member) : PG_PORT),
      );
      if (problem) throw notReady(`restore point ${input.name}: ${problem}; retrying`);
      let rowCounts: Record<string, number> | null = null;
      if (input.rowCounts) {
        const pending = locked.some((l) => l.prepared > 0) ? await pendingPrepared(sessions) : undefined;
        if (pending) return pending;
        rowCounts = await countRows(coord.client, tables);
        at.push(Date.now());
      }
      phase = 'point';
      const points = await Promise.all(sessions.map((s) => createLocalPoint(s.client, input.name)));
      at.push(Date.now());
      phase = 'release';
      const released = await Promise.allSettled(sessions.map((s) => commit(s.client)));
      open = false;
      const lost = released.flatMap((r, i) =>
        r.status === 'rejected' ? [`${sessions[i]!.member}: ${errorMessage(r.reason)}`] : [],
      );
      // A session lost before its COMMIT may have dropped its locks before another node's point.
      if (lost.length) throw new Error(`the locks of ${lost.join(', ')} were not released by a commit`);
      const ended = Date.now();
      const groups: Record<string, RestorePointGroup> = {};
      sessions.forEach((s, i) => {
        const p = points[i]!;
        groups[s.group] = { primary: s.member, lsn: p.lsn, walFile: p.walFile, timeline: timelineOfWalFile(p.walFile) };
      });
      const steps = [started, ...at, ended];
      const names = input.rowCounts ? ['lock', 'count', 'point', 'release'] : ['lock', 'point', 'release'];
      const phases = names.map((n, i) => `${n} ${steps[i + 1]! - steps[i]!} ms`).join(', ');
      return {
        record: {
          name: input.name,
          cluster: spec.name,
          createdAt: new Date(points[0]!.at).toISOString(),
          coordinatorLsn: points[0]!.lsn,
          groups,
          rowCounts,
          pauseMs: ended - started,
        },
        timing: `writes held ${ended - started} ms (${phases})`,
      };
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (phase === 'lock' && code && LOCK_GIVEN_UP_SQLSTATES.includes(code)) return errorMessage(err);
      if (phase === 'lock') throw err;
      throw fatal(
        'Conflict',
        `restore point ${input.name} failed while the points were being written (${errorMessage(err)}): some groups ` +
          'may hold a point of this name in their WAL, and recovery stops at the first one of a name; it is not ' +
          'recorded: make the point again under another name',
      );
    } finally {
      if (open) await Promise.all(sessions.map((s) => rollbackQuietly(s.client)));
    }
  }

  /** The commit-blocking catalogs a node has (the double has no pg_dist_transaction). */
  async function presentCatalogs(c: Client): Promise<string[]> {
    return (
      await existingRelations(
        c,
        COMMIT_BLOCKING_CATALOGS.map((n) => `pg_catalog.${n}`),
      )
    ).map((n) => n.replace(/^pg_catalog\./, ''));
  }

  /**
   * Waits (bounded) until no Citus prepared transaction is left on any node (their commits would be
   * missing from the row counts); undefined then, else why the attempt gives up.
   */
  async function pendingPrepared(sessions: Session[]): Promise<string | undefined> {
    const deadline = Date.now() + PREPARED_DRAIN_MS;
    for (;;) {
      await sleep(10);
      const left = await Promise.all(sessions.map(async (w) => ({ w, n: await preparedCitusTransactions(w.client) })));
      const busy = left.filter((x) => x.n > 0);
      if (!busy.length) return undefined;
      if (Date.now() >= deadline)
        return (
          `prepared transactions still pending after ${PREPARED_DRAIN_MS} ms on ` +
          busy.map((x) => `${x.w.member} (${x.n})`).join(', ')
        );
    }
  }

  /** Refuses (before any point is made) a group primary that archives nothing: its point would never be usable. */
  async function refuseUnarchived({ member, client }: Session): Promise<void> {
    if ((await archiveMode(client)) === 'off')
      throw fatal(
        'BadConfig',
        `WAL archiving is off on ${member}: a restore point could not reach the backup repository ` +
          '(`citusctl up` turns archiving on with backup.enabled)',
      );
  }

  /** Switches the primary's WAL and waits until the segment holding the point is archived. */
  async function waitArchived(session: Session, record: RestorePointRecord): Promise<void> {
    const { group, member, client } = session;
    const walFile = record.groups[group]?.walFile;
    if (!walFile) return; // a group added after the point was made
    await switchWal(client);
    const deadline = Date.now() + ARCHIVE_WAIT_MS;
    for (;;) {
      const s = await segmentArchiveState(client, walFile);
      if (segmentArchived(walFile, s)) return;
      if (Date.now() >= deadline)
        throw notReady(
          `${group}: WAL segment ${walFile} holding restore point ${record.name} not archived from ${member} ` +
            `after ${ARCHIVE_WAIT_MS / 1000} s` +
            (s.failed ? ` (archiving last failed on ${s.failed} at ${new Date(s.failedAt!).toISOString()})` : ''),
        );
      await sleep(ARCHIVE_POLL_MS);
    }
  }

  /** The archive wait of a point recorded earlier (a retry), on new sessions to the groups' current primaries. */
  async function archivePoint(spec: ClusterSpec, record: RestorePointRecord, targets: Target[]): Promise<void> {
    await withSessions(deps, spec, targets, (sessions) => settledAll(sessions.map((s) => waitArchived(s, record))));
  }

  /**
   * A new point: made, then recorded and archived at once, on the sessions that made it (the record
   * is written while the archiver works; the activity returns only once both are done). The record
   * of this name found written meanwhile (another request's, or this one's retried) is returned
   * instead, after its own archive wait.
   */
  async function newPoint(
    spec: ClusterSpec,
    input: CreateRestorePointInput,
    catalog: BackupCatalog,
    request: string | undefined,
    targets: Target[],
  ): Promise<RestorePointRecord> {
    const began = Date.now();
    const ours = await withSessions(deps, spec, targets, async (sessions) => {
      const opened = Date.now();
      const made = await makePoint(spec, input, sessions);
      const madeAt = Date.now();
      const record: RestorePointRecord = { ...made, origin: input.origin, ...(request ? { request } : {}) };
      const took = (p: Promise<unknown>) => p.then((v) => ({ v, ms: Date.now() - madeAt }));
      // The record is put even when the archive wait fails: a retry then finds it and only waits again.
      const [recorded, archived] = await settledAll([
        took(catalog.put('restore-points', input.name, record)),
        took(settledAll(sessions.map((s) => waitArchived(s, record)))),
      ] as const);
      deps.log(
        `restore point ${input.name}: sessions ${opened - began} ms, made ${madeAt - opened} ms, ` +
          `then recorded ${recorded.ms} ms and archived ${archived.ms} ms at once`,
      );
      return recorded.v ? record : undefined;
    });
    if (ours) return ours;
    const stored = (await catalog.get('restore-points', input.name))!;
    await archivePoint(spec, stored, await groupTargets(spec));
    return stored;
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
      // The primaries are looked up while the catalog is read (both are needed, whichever path follows).
      const [recorded, primaries] = await Promise.allSettled([catalog.get('restore-points', name), groupTargets(spec)]);
      if (recorded.status === 'rejected') throw recorded.reason;
      let record = recorded.value;
      if (record && (record.cluster !== spec.name || !sameRequest(record, origin, request)))
        throw fatal(
          'Conflict',
          `a restore point named "${name}" exists already (made ${record.createdAt}, ${record.origin}); ` +
            'choose another name',
        );
      if (primaries.status === 'rejected') throw primaries.reason;
      const targets = primaries.value;
      try {
        if (record) await archivePoint(spec, record, targets);
        else record = await newPoint(spec, input, catalog, request, targets);
      } catch (err) {
        throw classifyPgError(err, `restore point ${name} of ${spec.name}`);
      }
      return record;
    });
  }

  return { createRestorePoint };
}
