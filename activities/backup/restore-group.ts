/**
 * One group's data restored to a named restore point into its new primary member's volume: a
 * one-shot container (the cluster's postgres image, no network) mounting that volume and the source
 * cluster's backup repository runs pgBackRest's restore, replays the archive to the point in a
 * PostgreSQL reachable only over its socket, sets the new cluster's role secrets, stops it cleanly
 * and records the member as primary, which is what its bootstrap then starts as it is (no initdb).
 * From an S3 repository it mounts none and joins the new cluster's network to reach the endpoint.
 *
 * Idempotent: a member recorded primary is done; anything a crashed attempt left (the one-shot
 * container, a half-restored data directory) is replaced or restored over (--delta).
 */
import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes } from '../../common/error-types';
import { resolveImage } from '../../common/images';
import { LABEL_CLUSTER, LABEL_HELPER } from '../../common/labels';
import type { ClusterSpec } from '../../common/spec';
import {
  APP_USER,
  BACKUP_REPO_PATH,
  REPLICATION_USER,
  SUPERUSER,
  backupRepoVolumeName,
  containerName,
  networkName,
  volumeName,
} from '../../common/topology';
import { containerState, ensureNetwork, execIn, tarOf } from '../../lib/docker/docker-helpers';
import { PG_VOLUME_TARGET, readScript } from '../../lib/docker/node-containers';
import { PgbackrestError, classifyPgbackrestError } from '../../lib/backup/pgbackrest';
import { pgbackrestFiles } from '../../lib/backup/pgbackrest-config';
import { RepositoryStore } from '../../lib/backup/repository';
import { scramVerifier } from '../../lib/scram';
import type { ClusterSecrets } from '../../lib/secrets';
import { fatal, notReady } from '../../lib/errors';
import type { ActivityDeps } from '../deps';
import { pollUntil, withHeartbeat } from '../heartbeat';
import { readVolumeState, writeVolumeState } from '../members/state';

export interface RestoreGroupInput {
  /** The new cluster's spec (its first member of `group` is `member`). */
  spec: ClusterSpec;
  /** The cluster whose repository holds the backup. */
  from: string;
  group: string;
  /** The new primary: the member that was the group's primary at the point. */
  member: string;
  /** pgBackRest's label of the group's base backup the restore starts from. */
  label: string;
  /** The named restore point recovery stops at. */
  point: string;
}

export interface RestoreGroupResult {
  group: string;
  member: string;
  /** false: the member was restored before (a retry or a rerun). */
  restored: boolean;
}

const SCRIPT = '/citusctl/restore-group.sh';
const ROLES_SQL = '/citusctl/restore-roles.sql';
/** How long replaying the archive may take (the activity's own timeout is longer). */
const REPLAY_TIMEOUT_MS = 50 * 60_000;
const TARGET_MISSED = 'recovery ended before configured recovery target was reached';

/**
 * The new cluster's secrets for the roles the backup carries, as SCRAM verifiers (never a password
 * in a file). Role changes are not propagated to other nodes: each group's restore sets its own.
 */
export function restoreRolesSql(s: ClusterSecrets): string {
  // current_setting(.., true): Citus hides its settings from pg_settings; NULL where Citus is not loaded.
  const setting = (name: string) =>
    `  IF current_setting('${name}', true) IS NOT NULL THEN ` + `PERFORM set_config('${name}', 'off', false); END IF;`;
  const alter = (role: string, verifier: string) =>
    `  IF EXISTS (SELECT FROM pg_roles WHERE rolname = '${role}') THEN ` +
    `EXECUTE format('ALTER ROLE %I PASSWORD %L', '${role}', $v$${verifier}$v$); END IF;`;
  return [
    'DO $restore$ BEGIN',
    setting('citus.enable_alter_role_propagation'),
    setting('citus.enable_ddl_propagation'),
    alter(SUPERUSER, scramVerifier(s.superuserPassword)),
    alter(REPLICATION_USER, scramVerifier(s.replicationPassword)),
    // The very verifier PgBouncer's auth file holds (its SCRAM pass-through needs the same secret).
    alter(APP_USER, s.appScramVerifier),
    'END $restore$;',
    '',
  ].join('\n');
}

/** PostgreSQL echoes a failed statement: its SCRAM verifiers never reach an error (workflow history, logs). */
export const withoutVerifiers = (text: string) => text.replace(/SCRAM-SHA-256\$[^'"\s]*/g, 'SCRAM-SHA-256$(hidden)');

export const restoreContainerName = (cluster: string, member: string) => `${containerName(cluster, member)}-restore`;

export function createRestoreGroupActivities(deps: ActivityDeps) {
  const { docker } = deps;

  async function removeIfPresent(name: string): Promise<void> {
    if ((await containerState(docker, name)) !== 'absent') await docker.getContainer(name).remove({ force: true });
  }

  async function step(name: string, which: string, env: string[] = []): Promise<string> {
    const raw = await execIn(docker, name, ['/bin/sh', SCRIPT, which], 'root', env);
    const r = { ...raw, stdout: withoutVerifiers(raw.stdout), stderr: withoutVerifiers(raw.stderr) };
    if (r.exitCode !== 0) {
      if (which === 'restore') throw new PgbackrestError('restore', r.exitCode, r.stderr + r.stdout);
      // psql's "error in the script": the same SQL fails the same way again.
      if (which === 'roles' && r.exitCode === 3)
        throw fatal(
          'Invariant',
          `setting the restored roles' secrets in ${name} failed: ${(r.stderr + r.stdout).trim()}`,
        );
      throw notReady(`restore step ${which} in ${name} failed (exit ${r.exitCode}): ${(r.stderr + r.stdout).trim()}`);
    }
    return r.stdout.trim();
  }

  async function restoreGroupData(input: RestoreGroupInput): Promise<RestoreGroupResult> {
    const { spec, from, group, member, label, point } = input;
    if (!spec.members.some((m) => m.name === member && m.group === group))
      throw fatal('BadConfig', `${member} is not a member of group ${group} of ${spec.name}`);
    return withHeartbeat(async () => {
      if ((await readVolumeState(deps, spec, member))?.state === 'primary') return { group, member, restored: false };
      const secrets = await deps.secrets.ensure(spec.name);
      const repo = await new RepositoryStore(deps.secrets.root).of(from);
      if (repo.type === 's3') await ensureNetwork(docker, networkName(spec.name), spec.name);
      const name = restoreContainerName(spec.name, member);
      await removeIfPresent(name);
      await docker.createContainer({
        name,
        Image: resolveImage(spec, 'postgres', deps.env),
        Labels: { [LABEL_CLUSTER]: spec.name, [LABEL_HELPER]: 'restore' },
        User: '0',
        Entrypoint: ['/bin/sh', '-c', "trap 'exit 0' INT TERM; while :; do sleep 3600 & wait $!; done"],
        Cmd: [],
        HostConfig: {
          NetworkMode: repo.type === 's3' ? networkName(spec.name) : 'none',
          Mounts: [
            { Type: 'volume', Source: volumeName(spec.name, member), Target: PG_VOLUME_TARGET },
            // Read only: a restore never writes into the repository it reads.
            ...(repo.type === 'volume'
              ? [
                  {
                    Type: 'volume' as const,
                    Source: backupRepoVolumeName(from),
                    Target: BACKUP_REPO_PATH,
                    ReadOnly: true,
                  },
                ]
              : []),
          ],
          ShmSize: 256 * 1024 * 1024,
        },
      });
      const container = docker.getContainer(name);
      await container.start();
      try {
        await container.putArchive(
          await tarOf({
            [SCRIPT.slice(1)]: { content: readScript('restore-group.sh'), mode: 0o755 },
            ...pgbackrestFiles({ stanzas: [group], retentionFull: spec.backup.retentionFull, repo }),
            [ROLES_SQL.slice(1)]: { content: restoreRolesSql(secrets), mode: 0o600 },
          }),
          { path: '/' },
        );
        try {
          await step(name, 'restore', [`GROUP=${group}`, `LABEL=${label}`, `POINT=${point}`]);
        } catch (err) {
          throw classifyPgbackrestError(err, `restoring group ${group} (backup ${label}) into ${member}`);
        }
        await step(name, 'start');
        const replay = await pollUntil(
          async () => {
            const r = await execIn(docker, name, ['/bin/sh', SCRIPT, 'promoted'], 'root');
            if (r.exitCode === 3) return { stopped: r.stdout.trim() };
            return r.stdout.trim() === 'f' ? { stopped: undefined } : undefined;
          },
          REPLAY_TIMEOUT_MS,
          500,
        );
        if (replay.stopped !== undefined) {
          if (replay.stopped.includes(TARGET_MISSED))
            throw ApplicationFailure.create({
              type: ErrorTypes.BadConfig,
              nonRetryable: true,
              message:
                `group ${group}: ${TARGET_MISSED} (restore point ${point}): the archive lacks WAL between backup ` +
                `${label} and the point`,
            });
          throw notReady(`PostgreSQL stopped while replaying group ${group}'s archive: ${replay.stopped}`);
        }
        await step(name, 'roles');
        await step(name, 'stop');
        await writeVolumeState(deps, spec, member, {
          state: 'primary',
          at: new Date().toISOString(),
          reason: `restored from ${from}'s backup ${label} to restore point ${point}`,
        });
      } finally {
        await removeIfPresent(name).catch(() => undefined);
      }
      return { group, member, restored: true };
    });
  }

  return { restoreGroupData };
}
