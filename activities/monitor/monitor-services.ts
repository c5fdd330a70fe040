/**
 * The monitor's repair of PgBouncer and etcd: a stopped container is started again, a removed one
 * re-created as provisioning creates it. Checks before it acts (a service that runs again is left
 * alone), and never needs etcd to repair etcd.
 *  - A stopped PgBouncer or etcd is started as it is (`docker start`: the quickest way back).
 *  - A re-created PgBouncer gets its config and auth file (verifiers only, from the secrets file)
 *    before it starts, pointing at the coordinator primary etcd names, or, when etcd does not
 *    answer, the one the monitor last knew. A failover re-points it afterwards as usual.
 *  - etcd keeps its data volume (a re-created etcd without it would lose who is primary: refused,
 *    `citusctl up` decides), hence its authentication. The activity returns once the container
 *    runs, not once etcd answers (seconds on a loaded machine): the monitor's next probes see etcd
 *    come back, and meanwhile it goes on watching and repairing what needs no etcd.
 */
import type Docker from 'dockerode';
import type { ClusterSpec, ImageRole } from '../../common/spec';
import {
  COORDINATOR_GROUP,
  ETCD_MEMBER,
  PGBOUNCER_MEMBER,
  containerName,
  networkName,
  volumeName,
} from '../../common/topology';
import type { ServiceName } from '../../common/monitor-service-decisions';
import { errMessage, withDeadline } from '../../lib/deadline';
import type { ActivityDeps } from '../deps';
import { LABEL_CLUSTER } from '../../common/labels';
import { ensureContainerRunning, ensureNetwork, imagePresent } from '../../lib/docker/docker-helpers';
import { fatal, notReady } from '../../lib/errors';
import { pollUntil, withHeartbeat } from '../heartbeat';
import { OFFLINE_IMAGES, resolveImage } from '../../common/images';
import { etcdContainer, pgbouncerContainer } from '../../lib/docker/node-containers';
import { pgbouncerContainerFiles } from '../setup/pgbouncer';
import { storeOf } from '../store';

export interface HealServiceInput {
  spec: ClusterSpec;
  service: ServiceName;
  /** PgBouncer: the coordinator primary to use when etcd does not answer. */
  coordinator?: string;
}

export interface HealServiceResult {
  /** What was found: running (nothing done), stopped (started) or absent (re-created). */
  found: 'running' | 'stopped' | 'absent';
  /** PgBouncer created: the coordinator it points at, and where that came from. */
  coordinator?: { member: string; from: 'etcd' | 'monitor' };
}

/** How long the coordinator primary is asked of etcd before the monitor's own view is used. */
const ETCD_READ_MS = 1000;
/** How long a removal in progress is waited out before the container is looked at anyway. */
const REMOVAL_WAIT_MS = 10_000;

export function createMonitorServiceActivities(deps: ActivityDeps) {
  /**
   * The image to re-create with: the one the cluster resolves
   * to, else the offline stand-in, whichever is on the engine.
   */
  async function imageFor(spec: ClusterSpec, role: ImageRole): Promise<string> {
    const wanted = resolveImage(spec, role, deps.env);
    for (const image of [wanted, OFFLINE_IMAGES[role]]) if (await imagePresent(deps.docker, image)) return image;
    throw fatal(
      'BadConfig',
      `image ${wanted} (${role}) is no longer on the Docker engine: \`citusctl up\` resolves it`,
    );
  }

  async function coordinatorPrimary(
    spec: ClusterSpec,
    hint: string | undefined,
  ): Promise<NonNullable<HealServiceResult['coordinator']>> {
    const fromEtcd = await withDeadline(storeOf(deps, spec).livePrimary(COORDINATOR_GROUP), ETCD_READ_MS, 'etcd').catch(
      (err: unknown) => {
        deps.log(
          'PgBouncer repair: etcd does not answer ' +
            `(${errMessage(err)})${hint ? `: using ${hint}, the monitor's last view` : ''}`,
        );
        return null;
      },
    );
    const known = (m: string | null | undefined): m is string =>
      !!m && spec.members.some((x) => x.name === m && x.group === COORDINATOR_GROUP);
    if (known(fromEtcd)) return { member: fromEtcd, from: 'etcd' };
    if (known(hint)) return { member: hint, from: 'monitor' };
    throw notReady(
      'PgBouncer repair: the coordinator primary is unknown (etcd does not answer and the monitor has not seen it yet)',
    );
  }

  /**
   * Re-created, or created but never started (a setup that stopped between creating and starting
   * it): the config and the auth file go in first, pointing at the coordinator primary of now.
   */
  async function createPgBouncer(
    spec: ClusterSpec,
    hint: string | undefined,
  ): Promise<NonNullable<HealServiceResult['coordinator']>> {
    const coordinator = await coordinatorPrimary(spec, hint);
    const secrets = await deps.secrets.ensure(spec.name);
    await ensureNetwork(deps.docker, networkName(spec.name), spec.name);
    const image = await imageFor(spec, 'pgbouncer');
    // Files go in only when it does not run: one that came back meanwhile keeps what it serves.
    await ensureContainerRunning(deps.docker, spec.name, pgbouncerContainer(spec, image), async () =>
      pgbouncerContainerFiles(deps, spec, coordinator.member, secrets),
    );
    return coordinator;
  }

  async function createEtcd(spec: ClusterSpec): Promise<void> {
    const volume = volumeName(spec.name, ETCD_MEMBER);
    const exists = await deps.docker
      .getVolume(volume)
      .inspect()
      .then(
        () => true,
        (e: { statusCode?: number }) => (e.statusCode === 404 ? false : Promise.reject(e)),
      );
    if (!exists)
      throw fatal(
        'Refused',
        `etcd's volume ${volume} is gone with its container: a new etcd would not know who is primary; ` +
          `\`citusctl up\` decides`,
      );
    await ensureNetwork(deps.docker, networkName(spec.name), spec.name);
    await ensureContainerRunning(
      deps.docker,
      spec.name,
      etcdContainer(spec, await imageFor(spec, 'etcd')),
      async () => ({}),
    );
  }

  /**
   * Docker's view of the container once it is done removing it (`docker rm -f`
   * kills it first: the probe may see it dead); undefined when gone.
   */
  async function settledInspect(name: string): Promise<Docker.ContainerInspectInfo | undefined> {
    const inspect = () =>
      deps.docker
        .getContainer(name)
        .inspect()
        .catch((e: { statusCode?: number }) => (e.statusCode === 404 ? undefined : Promise.reject(e)));
    await pollUntil(
      async () => ((await inspect())?.State.Status === 'removing' ? undefined : true),
      REMOVAL_WAIT_MS,
      50,
    ).catch(() => undefined);
    return inspect();
  }

  async function healService(input: HealServiceInput): Promise<HealServiceResult> {
    const { spec, service } = input;
    if (service !== PGBOUNCER_MEMBER && service !== ETCD_MEMBER)
      throw fatal('BadConfig', `unknown service ${String(service)}`);
    return withHeartbeat(async () => {
      const name = containerName(spec.name, service);
      const info = await settledInspect(name);
      if (!info)
        return service === PGBOUNCER_MEMBER
          ? { found: 'absent', coordinator: await createPgBouncer(spec, input.coordinator) }
          : (await createEtcd(spec), { found: 'absent' });
      if (info.Config.Labels?.[LABEL_CLUSTER] !== spec.name)
        throw fatal(
          'Conflict',
          `container "${name}" exists but does not belong to citusctl cluster "${spec.name}"; remove or rename it`,
        );
      if (info.State.Running) return { found: 'running' };
      if (service === PGBOUNCER_MEMBER && info.State.Status === 'created')
        return { found: 'stopped', coordinator: await createPgBouncer(spec, input.coordinator) };
      // Stopped after it ran: a plain start, the quickest way back. Its files are what citusctl last
      // wrote; a coordinator failover meanwhile re-points it itself (and starts it if it is down).
      await deps.docker
        .getContainer(name)
        .start()
        .catch((e: { statusCode?: number }) => {
          if (e.statusCode !== 304) throw e; // 304: already started
        });
      return { found: 'stopped' };
    });
  }

  return { healService };
}
