/**
 * Decisions about the cluster's certificates (pure: the rotateCertificates workflow, the health
 * verdict and the CLI call them): in which order a rotation acts, which container carries which
 * identity, whether a server serves what the store holds, and how near the nearest expiry is.
 */
import type { ClusterSpec } from './spec';
import { tlsIdentities, daysLeft, type TlsRole } from './tls-identities';
import { ETCD_MEMBER, PGBOUNCER_MEMBER, containerName } from './topology';

/** What an install step puts into a container: the trust bundle only, or the bundle, certificate and key. */
export type TlsPart = 'trust' | 'all';

export type RotationStep = { name: string } & (
  { kind: 'rotate-ca' } | { kind: 'renew' } | { kind: 'install'; part: TlsPart } | { kind: 'retire-old-cas' }
);

/**
 * The order of a rotation. No client that trusts the distributed bundle may meet a certificate it
 * cannot verify: every container gets the store's trust bundle before any certificate (a no-op
 * unless a CA rotation is under way, maybe another run's), and each install reads the store as it
 * is then, bundle included. With a new CA: the bundle with the new CA beside the old one reaches
 * every container before any certificate signed by the new CA does; the old CA leaves the bundle
 * only once every server presents a certificate of the new one. Only a CA rotation retires a CA: a
 * plain renewal running beside one must not drop the CA its servers still present.
 */
export function rotationSteps(opts: { rotateCa: boolean }): RotationStep[] {
  const renewal: RotationStep[] = [
    { name: 'trust', kind: 'install', part: 'trust' },
    { name: 'renew', kind: 'renew' },
    { name: 'install', kind: 'install', part: 'all' },
  ];
  if (!opts.rotateCa) return renewal;
  return [
    { name: 'new-ca', kind: 'rotate-ca' },
    ...renewal,
    { name: 'retire-old-ca', kind: 'retire-old-cas' },
    { name: 'trust-new', kind: 'install', part: 'trust' },
  ];
}

/** A container that holds an identity's files (the orchestrator's client identity lives in the store only). */
export interface TlsTarget {
  id: string;
  role: Exclude<TlsRole, 'client'>;
  container: string;
  /** The server's name: a member's, `pgbouncer` or `etcd`. */
  server: string;
}

export function tlsTargets(spec: ClusterSpec): TlsTarget[] {
  return tlsIdentities(spec).flatMap((i): TlsTarget[] => {
    if (i.role === 'client') return [];
    const server = i.role === 'postgres' ? i.member! : i.role === 'pgbouncer' ? PGBOUNCER_MEMBER : ETCD_MEMBER;
    // An etcd identity's id is its member's name (`etcd`, or `etcd-<host>` of a multi-member cluster).
    const container = containerName(spec.name, i.role === 'etcd' ? i.id : server);
    return [{ id: i.id, role: i.role, container, server }];
  });
}

/**
 * What a server presents, against the store: `current` the store's certificate, `previous` the
 * one its container held before the install (the reload has not taken yet), `other` neither (the
 * server does not use the cluster's files), `no-tls` it refuses TLS.
 */
export type Served = 'current' | 'previous' | 'other' | 'no-tls';

export function servedVerdict(served: string | null, current: string, previous: string | undefined): Served {
  if (served === null) return 'no-tls';
  const s = served.toLowerCase();
  if (s === current.toLowerCase()) return 'current';
  if (previous !== undefined && s === previous.toLowerCase()) return 'previous';
  return 'other';
}

/** A certificate's end of validity as the store holds it (ISO time: plain JSON for histories and reports). */
export interface CertificateExpiry {
  /** Identity id, or `ca` for the CA. */
  id: string;
  notAfter: string;
  serial?: string;
  issuer?: string;
}

export type CertificatesObservation = { ok: true; certificates: CertificateExpiry[] } | { ok: false; error: string };

/** Under this many days left the health check turns degraded. */
export const EXPIRY_DEGRADED_DAYS = 7;

/** The certificate that ends first (undefined for none). */
export function nearestExpiry(certificates: readonly CertificateExpiry[]): CertificateExpiry | undefined {
  let first: CertificateExpiry | undefined;
  for (const c of certificates) if (!first || Date.parse(c.notAfter) < Date.parse(first.notAfter)) first = c;
  return first;
}

export interface ExpiryVerdict {
  nearest?: CertificateExpiry & { daysLeft: number };
  /** One line per certificate with fewer than `degradedDays` left (or already expired). */
  problems: { subject: string; message: string }[];
}

export function expiryVerdict(
  obs: CertificatesObservation,
  at: number,
  degradedDays = EXPIRY_DEGRADED_DAYS,
): ExpiryVerdict {
  if (!obs.ok) return { problems: [{ subject: 'certificates', message: `cannot read the store: ${obs.error}` }] };
  if (!obs.certificates.length)
    return {
      problems: [{ subject: 'certificates', message: 'the cluster has no certificates (citusctl up issues them)' }],
    };
  const problems: ExpiryVerdict['problems'] = [];
  for (const c of obs.certificates) {
    const left = daysLeft(Date.parse(c.notAfter), at);
    if (Date.parse(c.notAfter) <= at) problems.push({ subject: c.id, message: `certificate expired ${c.notAfter}` });
    else if (left < degradedDays)
      problems.push({
        subject: c.id,
        message:
          `certificate expires in ${left} day(s) (${c.notAfter}); the schedule renews it, ` +
          '`citusctl certs rotate` does now',
      });
  }
  const n = nearestExpiry(obs.certificates)!;
  return { nearest: { ...n, daysLeft: daysLeft(Date.parse(n.notAfter), at) }, problems };
}
