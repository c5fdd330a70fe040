/** Provision: network, volumes and containers, each created only if absent (check, then act). */
import { hostOfContainer, pgbouncerHosts, publishAddress } from '../../common/addressing';
import { etcdClusterOf, isMultiMember } from '../../common/etcd-members';
import { resolveHosts, type ResolvedHost } from '../../common/hosts';
import { startEtcdMember } from '../../lib/etcd-cluster-repair';
import { etcdTargetOf } from '../../lib/etcd-connector';
import type { ClusterSpec } from '../../common/spec';
import {
  BACKUP_MEMBER,
  ETCD_MEMBER,
  PGBOUNCER_MEMBER,
  backupRepoVolumeName,
  containerName,
  networkName,
  volumeName,
} from '../../common/topology';
import { backupContainerFiles } from '../../lib/backup/pgbackrest-config';
import { RepositoryCredentialsError, RepositoryStore } from '../../lib/backup/repository';
import type { ActivityDeps } from '../deps';
import {
  ensureContainerRunning,
  ensureNetwork,
  ensureRestartPolicy,
  ensureVolume,
  imagePresent,
} from '../../lib/docker/docker-helpers';
import { describeTarget, EtcdCredentialsRejected, secureEtcd, type SecureOutcome } from '../../lib/etcd-auth';
import { fatal, notReady } from '../../lib/errors';
import { pollUntil, withHeartbeat } from '../heartbeat';
import { resolveImages, ROLES, IMAGE_ENV } from '../../common/images';
import {
  SERVICE_RESTART_POLICY,
  backupContainer,
  labelsFor,
  pgbouncerContainer,
  postgresContainer,
} from '../../lib/docker/node-containers';
import { memberContainerFiles } from '../members/member-tls';
import { orchestratorTls } from '../../lib/tls/orchestrator-tls';
import { ensureEtcdRunning, installEtcdMemberTls } from './etcd-tls';

const hostNamed = (spec: ClusterSpec, name: string): ResolvedHost =>
  resolveHosts(spec.hosts).find((h) => h.name === name)!;

/** Which part of the cluster to provision: everything (one host), or one host's share. */
export interface ProvisionScope {
  host?: string;
}

export interface ProvisionResult {
  network: string;
  subnet: string;
  created: string[];
}

export function createProvisionActivities(deps: ActivityDeps) {
  const { docker } = deps;

  /**
   * With `scope.host` (several hosts), only what placement puts on that host, on this worker's engine
   * (that host's): the workflow calls it once per host on the host's queue.
   */
  async function provisionCluster(spec: ClusterSpec, scope: ProvisionScope = {}): Promise<ProvisionResult> {
    const here = (member: string) => !scope.host || hostOfContainer(spec, member).name === scope.host;
    // A PgBouncer on each host placement names for one (two with several hosts).
    const pgbouncerHere = !scope.host || pgbouncerHosts(spec).some((h) => h.name === scope.host);
    return withHeartbeat(async () => {
      const images = resolveImages(spec, deps.env);
      for (const role of ROLES) {
        if (!(await imagePresent(docker, images[role]))) {
          throw fatal(
            'BadConfig',
            `image ${images[role]} (${role}) is not present on the Docker engine; pull or build it, or set ` +
              `${IMAGE_ENV[role]}`,
          );
        }
      }
      const secrets = await deps.secrets.ensure(spec.name);
      const subnet = await ensureNetwork(docker, networkName(spec.name), spec.name);
      const created: string[] = [];
      // The repository first: every member mounts it.
      const repo = await new RepositoryStore(deps.secrets.root).ensure(spec).catch((err: unknown) => {
        if (err instanceof RepositoryCredentialsError) throw fatal('BadConfig', err.message);
        throw err;
      });
      if (spec.backup.enabled && repo.type === 'volume')
        await ensureVolume(docker, backupRepoVolumeName(spec.name), labelsFor(spec.name, BACKUP_MEMBER, BACKUP_MEMBER));
      // Members are independent: create and start them concurrently (initdb starts sooner).
      // Every container created or found stopped gets its files again, among them pg_hba.conf for
      // the network's current subnet (the bootstrap copies it into PGDATA at every start), so a
      // cluster brought down and up again on another subnet still admits its own connections.
      await Promise.all(
        spec.members
          .filter((m) => here(m.name))
          .map(async (member) => {
            await ensureVolume(
              docker,
              volumeName(spec.name, member.name),
              labelsFor(spec.name, member.group, member.name),
            );
            const r = await ensureContainerRunning(
              docker,
              spec.name,
              postgresContainer(spec, member, images.postgres),
              async () => memberContainerFiles(deps, spec, member.name, secrets, subnet),
            );
            if (r.created) created.push(member.name);
          }),
      );
      created.sort((a, b) => spec.members.findIndex((m) => m.name === a) - spec.members.findIndex((m) => m.name === b));
      const etcd = etcdClusterOf(spec);
      if (isMultiMember(etcd)) {
        // A member per etcd host, started `new`: etcd serves once a quorum of them runs, so the hosts'
        // provisions run at once, and the first member's host secures the cluster (once, for all).
        for (const m of etcd.members.filter((x) => !scope.host || x.host === scope.host)) {
          const started = await startEtcdMember(
            { docker, installTls: (member) => installEtcdMemberTls(deps, spec, member) },
            {
              cluster: spec.name,
              etcd,
              member: m.name,
              image: images.etcd,
              publishOn: publishAddress(spec, hostNamed(spec, m.host)),
            },
          );
          if (started.started) created.push(m.name);
        }
        if (!scope.host || scope.host === etcd.members[0]!.host)
          await secureClusterEtcd(spec, secrets.etcdRootPassword);
      } else if (here(ETCD_MEMBER)) {
        await ensureVolume(docker, volumeName(spec.name, ETCD_MEMBER), labelsFor(spec.name, ETCD_MEMBER, ETCD_MEMBER));
        if ((await ensureEtcdRunning(deps, spec, images.etcd)).created) created.push(ETCD_MEMBER);
        // containers created before it had one
        await ensureRestartPolicy(docker, containerName(spec.name, ETCD_MEMBER), SERVICE_RESTART_POLICY);
        // Before anything else uses etcd (readiness is its first reader); a no-op once done.
        await secureClusterEtcd(spec, secrets.etcdRootPassword);
      }
      // PgBouncer is created here but configured and started by its own step, once the coordinator serves.
      if (
        pgbouncerHere &&
        (
          await ensureContainerRunning(
            docker,
            spec.name,
            pgbouncerContainer(
              spec,
              images.pgbouncer,
              scope.host ? pgbouncerHosts(spec).find((h) => h.name === scope.host) : undefined,
            ),
            async () => ({}),
            false,
          )
        ).created
      )
        created.push(PGBOUNCER_MEMBER);
      if (pgbouncerHere)
        await ensureRestartPolicy(docker, containerName(spec.name, PGBOUNCER_MEMBER), SERVICE_RESTART_POLICY);
      if (
        spec.backup.enabled &&
        here(BACKUP_MEMBER) &&
        (
          await ensureContainerRunning(docker, spec.name, backupContainer(spec, images.postgres), async () =>
            backupContainerFiles(spec, repo),
          )
        ).created
      )
        created.push(BACKUP_MEMBER);
      return { network: networkName(spec.name), subnet, created };
    });
  }

  /** etcd requires the root password from the secrets file; converges a half-done earlier attempt. */
  async function secureClusterEtcd(spec: ClusterSpec, password: string): Promise<SecureOutcome> {
    try {
      return await pollUntil(
        async () => {
          try {
            return await secureEtcd(etcdTargetOf(spec), password, orchestratorTls(deps.tls, spec.name));
          } catch (err) {
            if (err instanceof EtcdCredentialsRejected) return err; // final: stop polling
            throw err; // etcd still starting: poll again
          }
        },
        30_000,
        200,
      ).then((r) => {
        if (r instanceof EtcdCredentialsRejected)
          throw fatal('Auth', `${r.message}; it was not secured by this cluster's citusctl`);
        return r;
      });
    } catch (err) {
      if ((err as { type?: string }).type) throw err;
      throw notReady(`securing etcd at ${describeTarget(etcdTargetOf(spec))}: ${(err as Error).message}`);
    }
  }

  return { provisionCluster };
}
