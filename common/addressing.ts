/**
 * How the parts of a cluster reach each other, on one host or several. Pure and workflow-safe.
 *
 * One host (a spec without `hosts`, or listing one): exactly as before hosts existed. Members reach
 * each other by container name on the cluster's Docker network at PostgreSQL's own port (5432), and
 * citusctl reaches their ports published on 127.0.0.1.
 *
 * Several hosts: each engine has its own cluster network, and a member is reached at its host's
 * address and its published port (`members[].port`), from citusctl and from the other members alike.
 * Member names stay the names everything uses (pg_dist_node, primary_conninfo, PgBouncer, TLS server
 * names): every container maps each name to its host's address in its /etc/hosts (Docker's
 * ExtraHosts, read before the network's own DNS), so `g1-a:5434` means the same member from every
 * host, a member on the same host included (Docker forwards a container's connection to its own
 * host's published port).
 */
import { resolveHosts, type ResolvedHost } from './hosts';
import { BACKUP_MEMBER, ETCD_MEMBER, PGBOUNCER_MEMBER, PG_PORT } from './names';
import { placeCluster, type PlacementInput } from './placement';

export interface AddressingInput extends PlacementInput {
  members: readonly { name: string; group: string; host?: string; port: number }[];
}

/** More than one host: members are reached at host addresses and published ports. */
export const isMultiHost = (spec: Pick<PlacementInput, 'hosts'>): boolean => resolveHosts(spec.hosts).length > 1;

/**
 * The host each container of the cluster runs on: members by placement; PgBouncer and etcd on the
 * first host placement gives them; the backup container on the first host.
 */
export function hostOfContainer(spec: PlacementInput, member: string): ResolvedHost {
  const hosts = resolveHosts(spec.hosts);
  const placed = placeCluster(spec);
  const name =
    member === PGBOUNCER_MEMBER
      ? placed.pgbouncer[0]
      : member === ETCD_MEMBER
        ? placed.etcd[0]
        : member === BACKUP_MEMBER
          ? hosts[0]!.name
          : placed.members[member];
  const host = hosts.find((h) => h.name === name);
  if (!host) throw new Error(`unknown member ${member} of the spec`);
  return host;
}

/** The containers (members, then services) that run on one host. */
export function containersOnHost(spec: PlacementInput, host: string): string[] {
  return [...spec.members.map((m) => m.name), PGBOUNCER_MEMBER, ETCD_MEMBER, BACKUP_MEMBER].filter(
    (m) => hostOfContainer(spec, m).name === host,
  );
}

/**
 * The hosts running a PgBouncer: every host placement names for it (two with two hosts or more),
 * all pointing at the coordinator's primary; the implicit local host with one.
 */
export function pgbouncerHosts(spec: PlacementInput): ResolvedHost[] {
  if (!isMultiHost(spec)) return resolveHosts(spec.hosts).slice(0, 1);
  const hosts = resolveHosts(spec.hosts);
  return placeCluster(spec).pgbouncer.map((name) => hosts.find((h) => h.name === name)!);
}

/**
 * What clients put in their connection string: every PgBouncer's address and port, and with several
 * `target_session_attrs=read-write` (libpq tries them in order and keeps the first that accepts writes).
 */
export function clientHosts(spec: PlacementInput & { pgbouncer: { port: number } }): string {
  const hosts = pgbouncerHosts(spec).map((h) => (isMultiHost(spec) ? h.address : '127.0.0.1'));
  const ports = hosts.map(() => spec.pgbouncer.port);
  return hosts.length > 1
    ? `host=${hosts.join(',')} port=${ports.join(',')} target_session_attrs=read-write`
    : `host=${hosts[0]} port=${ports[0]}`;
}

/** A spec host's address (the one others reach its published ports on). */
export function hostAddress(spec: Pick<PlacementInput, 'hosts'>, host: string): string {
  const h = resolveHosts(spec.hosts).find((x) => x.name === host);
  if (!h) throw new Error(`unknown host ${host} of the spec`);
  return h.address;
}

/** Where citusctl connects to a member's published port: 127.0.0.1 on one host, else its host's address. */
export function addressOf(spec: PlacementInput, member: string): string {
  return isMultiHost(spec) ? hostOfContainer(spec, member).address : '127.0.0.1';
}

/**
 * The port other members reach a member's PostgreSQL on (pg_dist_node's nodeport, primary_conninfo,
 * PgBouncer's target): 5432 on the shared network with one host, its published port across hosts.
 */
export function peerPort(spec: AddressingInput, member: string): number {
  if (!isMultiHost(spec)) return PG_PORT;
  const m = spec.members.find((x) => x.name === member);
  if (!m) throw new Error(`unknown member ${member} of the spec`);
  return m.port;
}

/**
 * The /etc/hosts entries every container gets with several hosts (`name:address`, Docker's
 * ExtraHosts): each member and service name to its host's address. None with one host.
 */
export function extraHosts(spec: PlacementInput): string[] | undefined {
  if (!isMultiHost(spec)) return undefined;
  return [...spec.members.map((m) => m.name), PGBOUNCER_MEMBER, ETCD_MEMBER].map(
    (name) => `${name}:${hostOfContainer(spec, name).address}`,
  );
}

/** A dotted IPv4 address (what a certificate names as an IP, what Docker can bind). */
export const isIpv4 = (a: string): boolean => /^\d{1,3}(\.\d{1,3}){3}$/.test(a);

/**
 * The address a host publishes the cluster's ports on: 127.0.0.1 with one host; with several, the
 * host's address when it is an IPv4 address of its own (only that interface listens), else every
 * interface (a DNS name: the engine binds addresses, not names).
 */
export function publishAddress(spec: Pick<PlacementInput, 'hosts'>, host: ResolvedHost): string {
  if (!isMultiHost(spec)) return '127.0.0.1';
  return isIpv4(host.address) ? host.address : '0.0.0.0';
}

/**
 * The addresses, besides the cluster network, that pg_hba admits (hostssl, SCRAM): with several hosts
 * every host's address (a member's connection from another host arrives from it), as CIDRs, and the
 * spec's `controlAddresses` (citusctl running on none of the hosts).
 */
export function hostCidrs(spec: Pick<PlacementInput, 'hosts'> & { controlAddresses?: readonly string[] }): string[] {
  if (!isMultiHost(spec)) return [];
  const hosts = resolveHosts(spec.hosts).map((h) => (isIpv4(h.address) ? `${h.address}/32` : h.address));
  return [...hosts, ...(spec.controlAddresses ?? [])];
}
