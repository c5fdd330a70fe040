/**
 * Bringing back one member of a multi-member etcd (common/etcd-members.ts) on its host's engine.
 * Check, then act, so a rerun after any step (a crash between `member remove` and `member add`, or
 * after the start) finishes the work and never removes a member that serves:
 * - its container runs: nothing to do (whether etcd inside answers is the caller's observation);
 * - it stopped with its data directory: start it, it rejoins from what it holds;
 * - its data directory is gone (the volume was re-created): its old entry leaves the cluster
 *   (`member remove`), a new one is added (`member add`) unless one added earlier waits for it, and
 *   it starts with `--initial-cluster-state existing`. Membership changes need a quorum of the
 *   others: without one this throws (etcd's own error), and a retry later succeeds.
 */
import type Docker from 'dockerode';
import type { Etcd3 } from 'etcd3';
import {
  etcdMemberOf,
  rejoinPlan,
  type EtcdCluster,
  type EtcdInitialState,
  type ListedMember,
} from '../common/etcd-members';
import { ETCD_MEMBER, containerName, volumeName } from '../common/topology';
import { ensureContainerRunning, ensureVolume } from './docker/docker-helpers';
import { ETCD_MEMBER_DATA, etcdMemberContainer, labelsFor } from './docker/node-containers';

export type EtcdMemberRepair = 'running' | 'restarted' | 'rejoined';

export interface EtcdMemberRepairDeps {
  /** The engine of the member's host. */
  docker: Docker;
  /** A client given every member's endpoint: membership calls go to whichever member answers. */
  etcd: Etcd3;
  /** Puts the member's trust bundle, certificate and key into its (stopped) container. */
  installTls(member: string): Promise<void>;
}

export interface EtcdMemberTarget {
  cluster: string;
  etcd: EtcdCluster;
  /** The member's name (`etcd-<host>`). */
  member: string;
  image: string;
  /** The host address its ports are published on (etcdMemberContainer). */
  publishOn: string;
}

/** Whether the member's volume holds an etcd data directory (read from its container, stopped or not). */
export async function etcdDataPresent(docker: Docker, container: string): Promise<boolean> {
  try {
    const archive = await docker.getContainer(container).getArchive({ path: `${ETCD_MEMBER_DATA}/member` });
    (archive as NodeJS.ReadableStream).resume(); // only its existence matters
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}

const stateOf = (info: Docker.ContainerInspectInfo): EtcdInitialState | undefined =>
  info.Config.Cmd?.includes('--initial-cluster-state=new')
    ? 'new'
    : info.Config.Cmd?.includes('--initial-cluster-state=existing')
      ? 'existing'
      : undefined;

/** The cluster's members as etcd lists them. */
export async function listEtcdMembers(etcd: Etcd3): Promise<ListedMember[]> {
  const res = await etcd.cluster.memberList({ linearizable: true });
  return res.members.map((m) => ({ id: m.ID, name: m.name, peerURLs: m.peerURLs }));
}

/**
 * Leaves the member's entry in the cluster ready for a member with an empty data directory:
 * removes what its earlier incarnation left and adds it back, each only if needed.
 */
export async function readmitEtcdMember(etcd: Etcd3, cluster: EtcdCluster, member: string): Promise<void> {
  const m = etcdMemberOf(cluster, member);
  const plan = rejoinPlan(await listEtcdMembers(etcd), m);
  for (const id of plan.remove) await etcd.cluster.memberRemove({ ID: id });
  if (plan.add) await etcd.cluster.memberAdd({ peerURLs: [m.peerUrl] });
}

/** Its volume and container (made with `state` when absent); whether the container runs. */
async function ensureMemberContainer(
  docker: Docker,
  t: EtcdMemberTarget,
  state: EtcdInitialState,
): Promise<Docker.ContainerInspectInfo> {
  await ensureVolume(docker, volumeName(t.cluster, t.member), labelsFor(t.cluster, ETCD_MEMBER, t.member));
  const definition = etcdMemberContainer(t.cluster, t.etcd, t.member, state, t.image, t.publishOn);
  await ensureContainerRunning(docker, t.cluster, definition, async () => ({}), false);
  return docker.getContainer(definition.name).inspect();
}

async function startMember(
  deps: Pick<EtcdMemberRepairDeps, 'docker' | 'installTls'>,
  t: EtcdMemberTarget,
): Promise<void> {
  await deps.installTls(t.member);
  await deps.docker
    .getContainer(containerName(t.cluster, t.member))
    .start()
    .catch((e: { statusCode?: number }) => {
      if (e.statusCode !== 304) throw e; // 304: already started
    });
}

/**
 * One member of a cluster being bootstrapped: its volume and container (state `new`), its TLS
 * files, started. Start every member this way (in any order: etcd serves once a quorum of them
 * runs), then secure the cluster once (lib/etcd-auth.ts secureEtcd with every endpoint). A member
 * already running is left as it is.
 */
export async function startEtcdMember(
  deps: Pick<EtcdMemberRepairDeps, 'docker' | 'installTls'>,
  t: EtcdMemberTarget,
): Promise<{ started: boolean }> {
  const info = await ensureMemberContainer(deps.docker, t, 'new');
  if (info.State.Running) return { started: false };
  await startMember(deps, t);
  return { started: true };
}

export async function repairEtcdMember(deps: EtcdMemberRepairDeps, t: EtcdMemberTarget): Promise<EtcdMemberRepair> {
  const { docker } = deps;
  const name = containerName(t.cluster, t.member);
  // A repaired member never bootstraps a cluster: with an empty data directory it must join.
  const info = await ensureMemberContainer(docker, t, 'existing');
  if (info.State.Running) return 'running';

  const hasData = await etcdDataPresent(docker, name);
  if (!hasData) {
    await readmitEtcdMember(deps.etcd, t.etcd, t.member);
    if (stateOf(info) !== 'existing') {
      // Made for the cluster's bootstrap and never started: a `new` member cannot join a running cluster.
      await docker.getContainer(name).remove({ force: true });
      await ensureMemberContainer(docker, t, 'existing');
    }
  }
  await startMember(deps, t);
  return hasData ? 'restarted' : 'rejoined';
}
