/**
 * The cluster's etcd as a set of members (pure: workflows may call it). One member keeps today's
 * layout exactly (name `etcd`, its container, volume and flags in lib/docker/node-containers.ts). Several
 * members (3 or 5, one per host) are named `etcd-<host>`, each reached by peers and clients at its
 * host's address and the ports its host publishes: the client port inside is ETCD_PORT, the peer
 * port ETCD_PEER_PORT.
 *
 * Bootstrapping and joining: every member of a new cluster starts with the same --initial-cluster and
 * state `new` (etcd waits for a quorum of them before it serves). A member whose data directory is
 * gone (volume re-created) cannot start `new` again: it is removed from the cluster, added back with
 * `member add`, and started with state `existing` (lib/etcd-cluster-repair.ts). A member restarted
 * with its data directory ignores every --initial-* flag and rejoins from what it holds.
 */
import { resolveHosts } from './hosts';
import { ETCD_MEMBER, ETCD_PORT } from './names';
import { placeCluster } from './placement';
import type { ClusterSpec } from './spec';

/** etcd's peer port inside every member's container. */
export const ETCD_PEER_PORT = 2380;

/** Where one member runs and is reached: its host, that host's address, the ports the host publishes. */
export interface EtcdMemberPlace {
  host: string;
  address: string;
  clientPort: number;
  peerPort: number;
}

export interface EtcdMember extends EtcdMemberPlace {
  /** etcd's member name; also the citusctl member name of its container and volume. */
  name: string;
  clientUrl: string;
  peerUrl: string;
}

export interface EtcdCluster {
  /** The cluster's bootstrap token: members of another cluster that share an address cannot join by mistake. */
  token: string;
  members: EtcdMember[];
  /** `name=peerUrl,...`: etcd's --initial-cluster, the same for every member. */
  initialCluster: string;
}

export type EtcdInitialState = 'new' | 'existing';

/** `https://addr:port`, with an IPv6 address bracketed. */
export function httpsUrl(address: string, port: number): string {
  return `https://${address.includes(':') ? `[${address}]` : address}:${port}`;
}

export const etcdMemberName = (host: string) => `${ETCD_MEMBER}-${host}`;

export const etcdClusterToken = (cluster: string) => `citusctl-${cluster}`;

/**
 * The members of an etcd cluster at the places given, in that order. One place keeps the name
 * `etcd` (today's single member); several are named after their hosts, which must then differ.
 */
export function etcdClusterAt(cluster: string, places: readonly EtcdMemberPlace[]): EtcdCluster {
  if (![1, 3, 5].includes(places.length))
    throw new Error(`an etcd cluster has 1, 3 or 5 members, not ${places.length}`);
  const single = places.length === 1;
  const members = places.map((p) => ({
    ...p,
    name: single ? ETCD_MEMBER : etcdMemberName(p.host),
    clientUrl: httpsUrl(p.address, p.clientPort),
    peerUrl: httpsUrl(p.address, p.peerPort),
  }));
  const names = members.map((m) => m.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new Error(`two etcd members on host ${twice.slice(ETCD_MEMBER.length + 1)}`);
  return {
    token: etcdClusterToken(cluster),
    members,
    initialCluster: members.map((m) => `${m.name}=${m.peerUrl}`).join(','),
  };
}

/**
 * The peer port a host publishes for its etcd member: the one after the client port (2380 with the
 * default 2379), as etcd's own defaults. Only multi-member clusters publish it.
 */
export const etcdPeerPortOf = (spec: Pick<ClusterSpec, 'etcd'>) => spec.etcd.port + 1;

/** The spec's etcd: one member per host placement gives it, at each host's address. */
export function etcdClusterOf(spec: ClusterSpec): EtcdCluster {
  const hosts = new Map(resolveHosts(spec.hosts).map((h) => [h.name, h]));
  const places = placeCluster(spec).etcd.map((host) => ({
    host,
    address: hosts.get(host)?.address ?? '127.0.0.1',
    clientPort: spec.etcd.port,
    peerPort: etcdPeerPortOf(spec),
  }));
  return etcdClusterAt(spec.name, places);
}

export const isMultiMember = (c: EtcdCluster) => c.members.length > 1;

/** Every client endpoint (`https://addr:port`), for a client that fails over between them. */
export const etcdEndpoints = (c: EtcdCluster) => c.members.map((m) => m.clientUrl);

export function etcdMemberOf(c: EtcdCluster, name: string): EtcdMember {
  const m = c.members.find((x) => x.name === name);
  if (!m) throw new Error(`etcd has no member ${name} (members: ${c.members.map((x) => x.name).join(', ')})`);
  return m;
}

/**
 * A multi-member cluster member's etcd flags, after the TLS ones: it listens on every interface
 * inside its container and advertises the address and published ports the others reach it on.
 * Peers authenticate each other by the cluster's CA and the common name `etcd`, which only etcd's
 * certificates carry (not a PostgreSQL member's or PgBouncer's, also issued by the CA); etcd's own
 * check of a peer's certificate against the peer's source address is off, because that address is
 * whatever NAT makes of it (Docker's userland proxy presents its bridge's gateway), not an identity.
 * The dialling side still checks that the peer's certificate names the address it dialled.
 */
export function etcdMemberFlags(c: EtcdCluster, name: string, state: EtcdInitialState, dataDir: string): string[] {
  const m = etcdMemberOf(c, name);
  return [
    `--name=${m.name}`,
    `--data-dir=${dataDir}`,
    `--listen-client-urls=https://0.0.0.0:${ETCD_PORT}`,
    `--advertise-client-urls=${m.clientUrl}`,
    `--listen-peer-urls=https://0.0.0.0:${ETCD_PEER_PORT}`,
    `--initial-advertise-peer-urls=${m.peerUrl}`,
    `--initial-cluster=${c.initialCluster}`,
    `--initial-cluster-state=${state}`,
    `--initial-cluster-token=${c.token}`,
    `--peer-cert-allowed-cn=${ETCD_MEMBER}`,
    '--experimental-peer-skip-client-san-verification',
  ];
}

/** What etcd's member list says about one member (etcd3's IMember, reduced). */
export interface ListedMember {
  id: string;
  /** Empty for a member added but never started. */
  name: string;
  peerURLs: readonly string[];
}

/**
 * What brings back a member whose data directory is empty (its volume re-created): its old entry,
 * if it ever started, goes (`member remove`), a new one is added unless one added earlier waits for
 * it (a rerun after `member add`), then it starts with state `existing`. Matched by peer URL: the
 * address and port are the member's identity across re-creations, its id is not.
 */
export function rejoinPlan(listed: readonly ListedMember[], member: EtcdMember): { remove: string[]; add: boolean } {
  const mine = listed.filter((l) => l.peerURLs.includes(member.peerUrl));
  const started = mine.filter((l) => l.name !== '');
  const waiting = mine.filter((l) => l.name === '');
  // More than one waiting entry would be an earlier add racing this one: keep one, drop the rest.
  return { remove: [...started, ...waiting.slice(1)].map((l) => l.id), add: waiting.length === 0 };
}
