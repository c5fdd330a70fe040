/**
 * The monitor's repair of PgBouncer and etcd: a stopped container is started again, a removed one
 * re-created as provisioning creates it. Checks before it acts (a service that runs again is left
 * alone), and never needs etcd to repair etcd.
 *  - PgBouncer gets its config and auth file again before it starts (verifiers only, from the
 *    secrets file), pointing at the coordinator primary etcd names, or, when etcd does not answer,
 *    the one the monitor last knew. A failover re-points it afterwards as usual.
 *  - etcd keeps its data volume (a re-created etcd without it would lose who is primary: refused,
 *    `citusctl up` decides), hence its authentication. The activity returns once the container
 *    runs, not once etcd answers (seconds on a loaded machine): the monitor's next probes see etcd
 *    come back, and meanwhile it goes on watching and repairing what needs no etcd.
 */
import type { ClusterSpec, ImageRole } from '../common/spec';
import { COORDINATOR_GROUP, ETCD_MEMBER, PGBOUNCER_MEMBER, containerName, networkName, volumeName } from '../common/topology';
import type { ServiceName } from '../common/monitor-service-decisions';
import { errMessage, withDeadline } from './bounded';
import type { ActivityDeps } from './deps';
import { containerState, ensureContainerRunning, ensureNetwork, imagePresent } from './docker-helpers';
import { fatal, notReady } from './errors';
import { pollUntil, withHeartbeat } from './heartbeat';
import { OFFLINE_IMAGES, resolveImage } from './images';
import { etcdContainer, pgbouncerContainer } from './node-containers';
import { pgbouncerFiles } from './pgbouncer';
import { storeOf } from './store';

export interface HealServiceInput {
  spec: ClusterSpec;
  service: ServiceName;
  /** PgBouncer: the coordinator primary to use when etcd does not answer. */
  coordinator?: string;
}

export interface HealServiceResult {
  /** What was found: running (nothing done), stopped (started) or absent (re-created). */
  found: 'running' | 'stopped' | 'absent';
  /** PgBouncer: the coordinator it was started pointing at, and where that came from. */
  coordinator?: { member: string; from: 'etcd' | 'monitor' };
}

/** How long the coordinator primary is asked of etcd before the monitor's own view is used. */
const ETCD_READ_MS = 1000;
/** How long a removal in progress is waited out before the container is looked at anyway. */
const REMOVAL_WAIT_MS = 10_000;

export function createMonitorServiceActivities(deps: ActivityDeps) {
  /** The image to re-create with: the one the cluster resolves to, else the offline stand-in, whichever is on the engine. */
  async function imageFor(spec: ClusterSpec, role: ImageRole): Promise<string> {
    const wanted = resolveImage(spec, role, deps.env);
    for (const image of [wanted, OFFLINE_IMAGES[role]]) if (await imagePresent(deps.docker, image)) return image;
    throw fatal('BadConfig', `image ${wanted} (${role}) is no longer on the Docker engine: \`citusctl up\` resolves it`);
  }

  async function coordinatorPrimary(spec: ClusterSpec, hint: string | undefined): Promise<NonNullable<HealServiceResult['coordinator']>> {
    const fromEtcd = await withDeadline(storeOf(deps, spec).livePrimary(COORDINATOR_GROUP), ETCD_READ_MS, 'etcd').catch((err: unknown) => {
      deps.log(`PgBouncer repair: etcd does not answer (${errMessage(err)})${hint ? `: using ${hint}, the monitor's last view` : ''}`);
      return null;
    });
    const known = (m: string | null | undefined): m is string => !!m && spec.members.some((x) => x.name === m && x.group === COORDINATOR_GROUP);
    if (known(fromEtcd)) return { member: fromEtcd, from: 'etcd' };
    if (known(hint)) return { member: hint, from: 'monitor' };
    throw notReady('PgBouncer repair: the coordinator primary is unknown (etcd does not answer and the monitor has not seen it yet)');
  }

  async function healPgBouncer(spec: ClusterSpec, found: HealServiceResult['found'], hint: string | undefined): Promise<HealServiceResult> {
    const coordinator = await coordinatorPrimary(spec, hint);
    const secrets = await deps.secrets.ensure(spec.name);
    const image = found === 'absent' ? await imageFor(spec, 'pgbouncer') : resolveImage(spec, 'pgbouncer', deps.env);
    if (found === 'absent') await ensureNetwork(deps.docker, networkName(spec.name), spec.name);
    // Files go in only when it does not run: one that came back meanwhile keeps what it serves.
    await ensureContainerRunning(deps.docker, spec.name, pgbouncerContainer(spec, image), async () => pgbouncerFiles(spec, coordinator.member, secrets));
    return { found, coordinator };
  }

  async function healEtcd(spec: ClusterSpec, found: HealServiceResult['found']): Promise<HealServiceResult> {
    if (found === 'absent') {
      const volume = volumeName(spec.name, ETCD_MEMBER);
      const exists = await deps.docker
        .getVolume(volume)
        .inspect()
        .then(() => true, (e: { statusCode?: number }) => (e.statusCode === 404 ? false : Promise.reject(e)));
      if (!exists) throw fatal('Refused', `etcd's volume ${volume} is gone with its container: a new etcd would not know who is primary; \`citusctl up\` decides`);
      await ensureNetwork(deps.docker, networkName(spec.name), spec.name);
    }
    const image = found === 'absent' ? await imageFor(spec, 'etcd') : resolveImage(spec, 'etcd', deps.env);
    await ensureContainerRunning(deps.docker, spec.name, etcdContainer(spec, image), async () => ({}));
    return { found };
  }

  /** The container's state once Docker is done removing it (`docker rm -f` kills it first: the probe may see it dead). */
  async function settledState(name: string): Promise<Awaited<ReturnType<typeof containerState>>> {
    const removing = async () => (await deps.docker.getContainer(name).inspect().catch(() => undefined))?.State.Status === 'removing';
    await pollUntil(async () => ((await removing()) ? undefined : true), REMOVAL_WAIT_MS, 50).catch(() => undefined);
    return containerState(deps.docker, name);
  }

  async function healService(input: HealServiceInput): Promise<HealServiceResult> {
    const { spec, service } = input;
    if (service !== PGBOUNCER_MEMBER && service !== ETCD_MEMBER) throw fatal('BadConfig', `unknown service ${String(service)}`);
    return withHeartbeat(async () => {
      const state = await settledState(containerName(spec.name, service));
      if (state === 'running') return { found: 'running' };
      const found = state === 'absent' ? 'absent' : 'stopped';
      return service === PGBOUNCER_MEMBER ? healPgBouncer(spec, found, input.coordinator) : healEtcd(spec, found);
    });
  }

  return { healService };
}
