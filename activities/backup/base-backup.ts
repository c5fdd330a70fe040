/**
 * One group's full base backup with pgBackRest, run inside the group's live primary (it reads the
 * data directory there and writes the repository volume mounted in every member).
 *
 * Idempotent per backup run: the backup carries the run's id as a pgBackRest annotation, so a retry
 * (a crashed worker, a timed-out heartbeat) first looks in `info` for the backup of this run and
 * returns it instead of taking another.
 *
 * A failover mid-way: the old primary's backup fails (its server stops or its container goes), the
 * attempt fails retryably naming the new primary, and the retry backs up the new primary. pgBackRest
 * (resume=y, its default) finds the aborted backup in the repository and, as the new attempt is the
 * same type from the same stanza, cleans it of files that changed and resumes it (files of the new
 * primary differ in time stamps, so most are copied again); one it cannot resume is removed. Two
 * backups of one stanza never run at once: pgBackRest's backup lock lives on the repository volume
 * (pgbackrest-config.ts lock-path), shared by every member and the backup container.
 *
 * Cancelled (the backup workflow was): the run's pgBackRest processes in the primary are stopped
 * (lib/backup/stop-backup.ts) before the cancellation is reported, so its lock is free again.
 */
import { Context } from '@temporalio/activity';
import type { BackupGroup } from '../../common/backup-records';
import { BACKUP_MEMBER } from '../../common/names';
import type { ClusterSpec } from '../../common/spec';
import { containerName } from '../../common/topology';
import {
  BACKUP_ID_ANNOTATION,
  BACKUP_MEMBER_ANNOTATION,
  backupOfRun,
  backupProgressOf,
  groupBackupOf,
} from '../../lib/backup/backup-info';
import { classifyPgbackrestError, runPgbackrest, stanzaInfo } from '../../lib/backup/pgbackrest';
import { backupProcessPattern, stopBackupProcesses } from '../../lib/backup/stop-backup';
import { containerState } from '../../lib/docker/docker-helpers';
import { notReady } from '../../lib/errors';
import type { ActivityDeps } from '../deps';
import { cancellable } from '../heartbeat';
import { storeOf } from '../store';

export interface BaseBackupInput {
  spec: ClusterSpec;
  group: string;
  /** The backup run (`b-<time>`): the annotation that makes a retry find the backup it already took. */
  backupId: string;
  /** The workflow's attempt at this group (1 first: no earlier backup of the run to look for); absent: look. */
  attempt?: number;
}

/** What the activity heartbeats: how far pgBackRest is. */
export interface BaseBackupProgress {
  member: string;
  bytesDone: number;
  bytesTotal: number;
}

/**
 * pgBackRest expires old backups at the end of every backup with the configured retention; here
 * expiring is a step of its own (expire.ts), which knows what a verified restore depends on, so the
 * backup itself keeps everything (the largest count pgBackRest accepts).
 */
const KEEP_ALL = '--repo1-retention-full=9999999';
const PROGRESS_EVERY_MS = 3000;
const HEARTBEAT_EVERY_MS = 1000;

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // called outside an activity (tests)
  }
}

export function createBaseBackupActivities(deps: ActivityDeps) {
  const backupHost = (spec: ClusterSpec) => containerName(spec.name, BACKUP_MEMBER);

  async function findRun(spec: ClusterSpec, group: string, backupId: string) {
    const [stanza] = await stanzaInfo(deps.docker, backupHost(spec), group);
    return { stanza, done: backupOfRun(stanza, backupId) };
  }

  async function livePrimary(spec: ClusterSpec, group: string): Promise<string> {
    const live = await storeOf(deps, spec).livePrimary(group);
    if (!live || !spec.members.some((m) => m.name === live && m.group === group))
      throw notReady(`${group}: etcd names no primary of the group yet`);
    return live;
  }

  /** The group's full backup of this run: the one already taken, or a new one from the live primary. */
  async function baseBackupGroup(input: BaseBackupInput): Promise<BackupGroup> {
    const { spec, group, backupId } = input;
    const ctx = activityContext();
    if (input.attempt !== 1) {
      try {
        const before = await findRun(spec, group, backupId);
        if (before.done) return groupBackupOf(before.done);
      } catch (err) {
        throw classifyPgbackrestError(err, `${group}: reading the repository`);
      }
    }
    const member = await livePrimary(spec, group);
    let progress: BaseBackupProgress = { member, bytesDone: 0, bytesTotal: 0 };
    const beat = ctx ? setInterval(() => ctx.heartbeat(progress), HEARTBEAT_EVERY_MS) : undefined;
    // The backup's lock, shared through the repository volume, says how many bytes are copied.
    const watch = setInterval(() => {
      findRun(spec, group, backupId)
        .then(({ stanza }) => {
          const p = backupProgressOf(stanza);
          if (p) progress = { member, bytesDone: p.done, bytesTotal: p.total };
        })
        .catch(() => undefined); // progress only: the backup's own outcome decides
    }, PROGRESS_EVERY_MS);
    ctx?.heartbeat(progress);
    try {
      await cancellable(() =>
        runPgbackrest(deps.docker, containerName(spec.name, member), [
          `--stanza=${group}`,
          '--type=full',
          KEEP_ALL,
          `--annotation=${BACKUP_ID_ANNOTATION}=${backupId}`,
          `--annotation=${BACKUP_MEMBER_ANNOTATION}=${member}`,
          'backup',
        ]),
      );
    } catch (err) {
      // Cancelled (the workflow was): the exec's end is not waited for, so end pgBackRest itself,
      // still heartbeating, before reporting the cancellation.
      if (ctx?.cancellationSignal.aborted) {
        await stopBackupProcesses(
          deps.docker,
          containerName(spec.name, member),
          backupProcessPattern(group, BACKUP_ID_ANNOTATION, backupId),
        ).catch((stopErr: unknown) =>
          ctx.log.warn(`${group}: stopping the cancelled backup on ${member}: ${String(stopErr)}`),
        );
        throw err;
      }
      throw await failureOf(spec, group, member, err);
    } finally {
      clearInterval(watch);
      if (beat) clearInterval(beat);
    }
    const after = await findRun(spec, group, backupId).catch((err: unknown) => {
      throw classifyPgbackrestError(err, `${group}: reading the repository`);
    });
    if (!after.done) throw notReady(`${group}: pgBackRest finished, but info lists no backup of run ${backupId}`);
    return groupBackupOf(after.done, member);
  }

  /**
   * Why the backup on `member` failed: a failover (etcd names another primary, or the member's
   * container is not running) is retried on the new primary; anything else as pgBackRest says.
   */
  async function failureOf(spec: ClusterSpec, group: string, member: string, err: unknown) {
    const now = await storeOf(deps, spec)
      .livePrimary(group)
      .catch(() => null);
    const state = await containerState(deps.docker, containerName(spec.name, member)).catch(() => 'unknown');
    if ((now && now !== member) || state !== 'running') {
      const why = now && now !== member ? `${now} is the primary now` : `${member} is ${state}`;
      return notReady(
        `${group}: the backup on ${member} failed (${why}); the retry backs up the group's current primary: ` +
          `${err instanceof Error ? err.message : String(err)}`,
      );
    }
    return classifyPgbackrestError(err, `${group}: full backup on ${member}`);
  }

  return { baseBackupGroup };
}
