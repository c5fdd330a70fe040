/**
 * The certificates a cluster's CA issues, derived from its spec (pure: workflows may call it). Every
 * server certificate names what its clients connect to: the member's network alias (Citus's
 * pg_dist_node, replication, PgBouncer), its container name, and localhost / 127.0.0.1 (citusctl
 * through the published port, with the member's name as the TLS server name; Citus's own
 * connections to citus.local_hostname).
 */
import { addressOf, isIpv4, isMultiHost, pgbouncerHosts } from './addressing';
import { etcdClusterOf, isMultiMember, type EtcdMember } from './etcd-members';
import type { ClusterSpec } from './spec';
import { ETCD_MEMBER, PGBOUNCER_MEMBER, containerName } from './topology';

export type TlsRole = 'postgres' | 'pgbouncer' | 'etcd' | 'client';

export interface TlsIdentity {
  /** File stem in the store: `member-g1-a`, `pgbouncer`, `etcd`, `client-citusctl`. */
  id: string;
  role: TlsRole;
  commonName: string;
  usages: ('server' | 'client')[];
  dnsNames: string[];
  ipAddresses: string[];
  /** For a PostgreSQL member: its name. */
  member?: string;
}

/** The common name of the orchestrator's client certificate (etcd's client-certificate auth: its root user). */
export const ORCHESTRATOR_CLIENT = 'root';

const LOCAL = { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'] };

/**
 * `address`: with several hosts, the address of the host the container runs on (etcd3 checks etcd's
 * certificate against the address it dials, not a server name).
 */
function server(
  cluster: string,
  id: string,
  role: TlsRole,
  name: string,
  client: boolean,
  address?: string,
): TlsIdentity {
  const ip = address !== undefined && isIpv4(address);
  return {
    id,
    role,
    commonName: name,
    usages: client ? ['server', 'client'] : ['server'],
    dnsNames: [name, containerName(cluster, name), ...LOCAL.dnsNames, ...(address && !ip ? [address] : [])],
    ipAddresses: [...LOCAL.ipAddresses, ...(address && ip ? [address] : [])],
  };
}

/** An identity that also names these addresses (every PgBouncer's host: clients verify the one they reach). */
function withAddresses(id: TlsIdentity, addresses: readonly string[]): TlsIdentity {
  return {
    ...id,
    dnsNames: [...id.dnsNames, ...addresses.filter((a) => !isIpv4(a))],
    ipAddresses: [...id.ipAddresses, ...addresses.filter((a) => isIpv4(a))],
  };
}

/** The host address a container's certificate names too: none with one host (127.0.0.1 is named already). */
const hostAddressOf = (spec: ClusterSpec, name: string) => (isMultiHost(spec) ? addressOf(spec, name) : undefined);

export const memberIdentityId = (member: string) => `member-${member}`;

const isIpAddress = (a: string) => isIpv4(a) || a.includes(':');

/**
 * A member of a multi-member etcd: its own key, the common name `etcd` (peers admit only that name,
 * --peer-cert-allowed-cn; clients check it as the server name), and the address its peers and
 * clients dial (a peer checks that the certificate names it). Also a client: it presents it to its peers.
 */
export function etcdMemberIdentity(cluster: string, member: EtcdMember): TlsIdentity {
  const base = server(cluster, member.name, 'etcd', ETCD_MEMBER, true);
  const ip = isIpAddress(member.address);
  return {
    ...base,
    dnsNames: [
      ETCD_MEMBER,
      member.name,
      containerName(cluster, member.name),
      ...LOCAL.dnsNames,
      ...(ip ? [] : [member.address]),
    ],
    ipAddresses: [...LOCAL.ipAddresses, ...(ip && !LOCAL.ipAddresses.includes(member.address) ? [member.address] : [])],
  };
}

/** etcd's identities: today's single `etcd`, or one per member of a multi-member cluster. */
function etcdIdentities(spec: ClusterSpec): TlsIdentity[] {
  const etcd = etcdClusterOf(spec);
  // Also a client: etcd presents it to its peers (--peer-client-cert-auth) and its gRPC gateway to itself.
  if (!isMultiMember(etcd))
    return [server(spec.name, ETCD_MEMBER, 'etcd', ETCD_MEMBER, true, hostAddressOf(spec, ETCD_MEMBER))];
  return etcd.members.map((m) => etcdMemberIdentity(spec.name, m));
}

/** Every identity of the cluster, in a stable order. */
export function tlsIdentities(spec: ClusterSpec): TlsIdentity[] {
  return [
    // A member is also a client: Citus's connections to the other nodes, replication.
    ...spec.members.map((m) => ({
      ...server(spec.name, memberIdentityId(m.name), 'postgres', m.name, true, hostAddressOf(spec, m.name)),
      member: m.name,
    })),
    withAddresses(
      server(spec.name, PGBOUNCER_MEMBER, 'pgbouncer', PGBOUNCER_MEMBER, true),
      isMultiHost(spec) ? pgbouncerHosts(spec).map((h) => h.address) : [],
    ),
    ...etcdIdentities(spec),
    {
      id: 'client-citusctl',
      role: 'client',
      commonName: ORCHESTRATOR_CLIENT,
      usages: ['client'],
      dnsNames: [],
      ipAddresses: [],
    },
  ];
}

export interface TlsLifetimes {
  /** Lifetime of a certificate the CA issues (days). */
  certificateDays: number;
  /** A certificate with fewer days left is renewed. */
  renewBeforeDays: number;
  /** Lifetime of the CA itself (days). */
  caDays: number;
}

const DAY_MS = 86_400_000;

/** Whether a certificate ending at `notAfter` is due for renewal at `now`. */
export function dueForRenewal(notAfter: number, now: number, renewBeforeDays: number): boolean {
  return notAfter - now <= renewBeforeDays * DAY_MS;
}

/** Whole days left until `notAfter` (negative once expired). */
export function daysLeft(notAfter: number, now: number): number {
  return Math.floor((notAfter - now) / DAY_MS);
}
