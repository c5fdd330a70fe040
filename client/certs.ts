/** `citusctl certs`: every certificate of the cluster as the store holds it (no key is read out). */
import { daysLeft } from '../common/tls-identities';
import type { ClusterSpec } from '../common/spec';
import { stateDir } from '../lib/state-dir';
import { listCertificates, type CertificateListing } from '../lib/tls/certificate-list';
import { TlsStore } from '../lib/tls/tls-store';

export interface CertificateRow extends CertificateListing {
  daysLeft: number;
}

export interface CertsReport {
  cluster: string;
  /** The trust bundle clients pass as sslrootcert / --cacert. */
  caPath: string;
  certificates: CertificateRow[];
}

export async function certs(spec: ClusterSpec, now = new Date()): Promise<CertsReport> {
  const store = new TlsStore(stateDir());
  const list = await listCertificates(store, spec);
  return {
    cluster: spec.name,
    caPath: store.caPath(spec.name),
    certificates: list.map((c) => ({ ...c, daysLeft: daysLeft(Date.parse(c.notAfter), now.getTime()) })),
  };
}

export function certsLines(r: CertsReport): string[] {
  if (!r.certificates.length) return [`cluster ${r.cluster} has no certificates yet (citusctl up issues them)`];
  const rows = r.certificates.map((c) => [
    c.id,
    c.notAfter,
    String(c.daysLeft),
    c.issuer.replace(/^CN=/, ''),
    c.serial,
  ]);
  const head = ['IDENTITY', 'NOT AFTER', 'DAYS LEFT', 'ISSUER', 'SERIAL'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line), '', `trust bundle (sslrootcert): ${r.caPath}`];
}
