/**
 * One group's data restored to a named restore point into its new primary member's volume: a
 * one-shot container (the cluster's postgres image, no network) mounting that volume and the source
 * cluster's backup repository runs lib/docker/scripts/restore-group.sh as its command, once: pgBackRest's
 * restore, the archive replayed to the point and promoted in a PostgreSQL reachable only over its
 * socket, the new cluster's role secrets, a clean stop, and the member recorded primary in its volume,
 * which is what its bootstrap then starts as it is (no initdb). No exec, poll or helper container in
 * between: each costs a Docker round trip per group. From an S3 repository it mounts none and joins
 * the new cluster's network to reach the endpoint.
 *
 * Idempotent: a member recorded primary is done (the script says so and changes nothing); anything a
 * crashed attempt left (the one-shot container, a half-restored data directory) is replaced or
 * restored over (--delta).
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
import { containerLogs, containerState, ensureNetwork, tarOf } from '../../lib/docker/docker-helpers';
import { PG_VOLUME_TARGET, readScript } from '../../lib/docker/node-containers';
import { PgbackrestError, classifyPgbackrestError } from '../../lib/backup/pgbackrest';
import { pgbackrestFiles } from '../../lib/backup/pgbackrest-config';
import { RepositoryStore } from '../../lib/backup/repository';
import { scramVerifier } from '../../lib/scram';
import type { ClusterSecrets } from '../../lib/secrets';
import { fatal, notReady } from '../../lib/errors';
import type { ActivityDeps } from '../deps';
import { withHeartbeat } from '../heartbeat';
import { MEMBER_STATE_FILE, formatMemberState } from '../../common/member-state';

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
  /** Where the time went, ms: each phase of the script, and the whole activity (`total`). */
  ms?: Record<string, number>;
}

const SCRIPT = '/citusctl/restore-group.sh';
const ROLES_SQL = '/citusctl/restore-roles.sql';
const STATE = `/citusctl/${MEMBER_STATE_FILE}`;
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

/** What the script's output says: the phases done (ms each), the one it failed in, whether it was done before. */
export function scriptPhases(output: string): { ms: Record<string, number>; failedIn?: string; already: boolean } {
  const ms: Record<string, number> = {};
  let current: string | undefined;
  let already = false;
  for (const line of output.split('\n')) {
    const m = /^@(phase|done|already) ?(\S*) ?(\d*)/.exec(line.trim());
    if (!m) continue;
    if (m[1] === 'already') already = true;
    else if (m[1] === 'phase') current = m[2];
    else if (m[2]) {
      ms[m[2]] = Number(m[3]);
      if (current === m[2]) current = undefined;
    }
  }
  return { ms, ...(current ? { failedIn: current } : {}), already };
}

/** The script's output without its phase markers, for an error message. */
const withoutMarkers = (output: string) =>
  output
    .split('\n')
    .filter((l) => !l.startsWith('@'))
    .join('\n')
    .trim();

export function createRestoreGroupActivities(deps: ActivityDeps) {
  const { docker } = deps;

  async function removeIfPresent(name: string): Promise<void> {
    if ((await containerState(docker, name)) !== 'absent') await docker.getContainer(name).remove({ force: true });
  }

  /** The failure a non-zero exit of the script stands for, by the phase it failed in. */
  function failureOf(input: RestoreGroupInput, exitCode: number, output: string, failedIn: string | undefined): Error {
    const { group, member, label, point } = input;
    const text = withoutMarkers(output);
    if (failedIn === 'restore')
      return classifyPgbackrestError(
        new PgbackrestError('restore', exitCode, text),
        `restoring group ${group} (backup ${label}) into ${member}`,
      );
    if (failedIn === 'replay' && text.includes(TARGET_MISSED))
      return ApplicationFailure.create({
        type: ErrorTypes.BadConfig,
        nonRetryable: true,
        message:
          `group ${group}: ${TARGET_MISSED} (restore point ${point}): the archive lacks WAL between backup ` +
          `${label} and the point`,
      });
    if (failedIn === 'replay') return notReady(`PostgreSQL stopped while replaying group ${group}'s archive: ${text}`);
    // psql's "error in the script": the same SQL fails the same way again.
    if (failedIn === 'roles' && exitCode === 3)
      return fatal('Invariant', `setting the restored roles' secrets in ${member} failed: ${text}`);
    return notReady(
      `restoring group ${group} into ${member}: ${failedIn ?? 'the script'} failed (exit ${exitCode}): ${text}`,
    );
  }

  async function restoreGroupData(input: RestoreGroupInput): Promise<RestoreGroupResult> {
    const { spec, from, group, member, label, point } = input;
    if (!spec.members.some((m) => m.name === member && m.group === group))
      throw fatal('BadConfig', `${member} is not a member of group ${group} of ${spec.name}`);
    return withHeartbeat(async (signal) => {
      const t0 = Date.now();
      const secrets = await deps.secrets.ensure(spec.name);
      const repo = await new RepositoryStore(deps.secrets.root).of(from);
      if (repo.type === 's3') await ensureNetwork(docker, networkName(spec.name), spec.name);
      const name = restoreContainerName(spec.name, member);
      await removeIfPresent(name);
      const container = await docker.createContainer({
        name,
        Image: resolveImage(spec, 'postgres', deps.env),
        Labels: { [LABEL_CLUSTER]: spec.name, [LABEL_HELPER]: 'restore' },
        User: '0',
        Entrypoint: ['/bin/sh', SCRIPT],
        Cmd: [],
        Env: [`GROUP=${group}`, `LABEL=${label}`, `POINT=${point}`],
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
      // A cancelled restore stops here and now, not when pgBackRest or the replay ends.
      const stop = () => void container.remove({ force: true }).catch(() => undefined);
      signal?.addEventListener('abort', stop);
      try {
        // Into the created container, before it starts: the archive API needs no running process.
        await container.putArchive(
          await tarOf({
            [SCRIPT.slice(1)]: { content: readScript('restore-group.sh'), mode: 0o755 },
            ...pgbackrestFiles({ stanzas: [group], retentionFull: spec.backup.retentionFull, repo }),
            [ROLES_SQL.slice(1)]: { content: restoreRolesSql(secrets), mode: 0o600 },
            [STATE.slice(1)]: {
              content: formatMemberState({
                state: 'primary',
                at: new Date().toISOString(),
                reason: `restored from ${from}'s backup ${label} to restore point ${point}`,
              }),
              mode: 0o644,
            },
          }),
          { path: '/' },
        );
        await container.start();
        const { StatusCode } = (await container.wait()) as { StatusCode: number };
        const output = withoutVerifiers(await containerLogs(docker, name, 200));
        const phases = scriptPhases(output);
        if (StatusCode !== 0) throw failureOf(input, StatusCode, output, phases.failedIn);
        return { group, member, restored: !phases.already, ms: { ...phases.ms, total: Date.now() - t0 } };
      } finally {
        signal?.removeEventListener('abort', stop);
        await removeIfPresent(name).catch(() => undefined);
      }
    });
  }

  return { restoreGroupData };
}
