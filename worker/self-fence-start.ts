/**
 * Starts a host worker's self-fence loop (worker/self-fence-loop.ts) for one cluster's spec: on with
 * several hosts unless turned off (`citusctl worker --host NAME --no-self-fence`), never with one.
 */
import type Docker from 'dockerode';
import { resolveHosts } from '../common/hosts';
import { placeCluster } from '../common/placement';
import { SELF_FENCE_TIMINGS, fenceAfterMs, peerTargets, type PlacedMember } from '../common/self-fence';
import type { ClusterSpec } from '../common/spec';
import { groupsOf } from '../common/topology';
import { writeVolumeState } from '../activities/members/state';
import type { ActivityDeps } from '../activities/deps';
import { etcdClusterOf, etcdEndpoints } from '../common/etcd-members';
import { etcdConnector } from '../lib/etcd-connector';
import { clusterDir, stateDir } from '../lib/state-dir';
import { startSelfFenceLoop, type SelfFenceLoop } from './self-fence-loop';

/** The journal of host `host`'s fences of cluster `cluster`, in the state directory. */
export const selfFenceJournalPath = (root: string, cluster: string, host: string) =>
  `${clusterDir(root, cluster)}/self-fence-${host}.json`;

/** The spec's members with their hosts. */
export function placedMembers(spec: ClusterSpec): Array<PlacedMember & { port: number }> {
  const placed = placeCluster(spec).members;
  return spec.members.map((m) => ({ name: m.name, group: m.group, host: placed[m.name]!, port: m.port }));
}

/** The loop, or undefined when it does not run (one host, or turned off), saying why in the log. */
export function startHostSelfFence(
  spec: ClusterSpec,
  host: string,
  deps: ActivityDeps,
  docker: Docker,
  opts: { enabled: boolean; log: (line: string) => void },
): { loop: SelfFenceLoop; close(): Promise<void> } | undefined {
  const hosts = resolveHosts(spec.hosts);
  if (hosts.length < 2) {
    opts.log('self-fence: off (one host: an etcd outage never stops its primaries)');
    return undefined;
  }
  if (!opts.enabled) {
    opts.log('self-fence: off (--no-self-fence): an isolated primary is fenced by synchronous replication only');
    return undefined;
  }
  const members = placedMembers(spec);
  // Its own clients, one per etcd member: the loop's short deadlines and failures must not touch the
  // activities' client, and a read must not wait on a member that is gone (the client's failover to
  // the next member takes longer than a round's deadline: a healthy host would see etcd lost and,
  // with another host down, fence its primaries). Any member's linearizable read means a quorum.
  const perMember = etcdEndpoints(etcdClusterOf(spec)).map((endpoint) => ({
    endpoint,
    connector: etcdConnector(deps.secrets, deps.tls, 1_000),
  }));
  const loop = startSelfFenceLoop({
    cluster: spec.name,
    host,
    hostCount: hosts.length,
    groups: groupsOf(spec).map((g) => g.group),
    members,
    docker,
    // Asked each round: the connectors' cached clients, remade once `up` has written the TLS files.
    etcd: () => perMember.map((m) => m.connector.client(spec, [m.endpoint])),
    peers: peerTargets(hosts, members, host),
    journalPath: selfFenceJournalPath(stateDir(deps.env), spec.name, host),
    writeVolumeState: (member, state) => writeVolumeState({ ...deps, docker }, spec, member, state),
    fenceAfterMs: fenceAfterMs(SELF_FENCE_TIMINGS),
    log: opts.log,
  });
  return {
    loop,
    async close() {
      await loop.stop();
      for (const m of perMember) m.connector.close();
    },
  };
}
