/** Every certificate of a cluster as the store holds it, with no key: for `citusctl certs` and the health check. */
import type { CertificateExpiry } from '../../common/certificates';
import type { ClusterSpec } from '../../common/spec';
import { tlsIdentities } from '../../common/tls-identities';
import type { TlsStore } from './tls-store';
import { certificateInfo, splitPem } from './x509';

export interface CertificateListing extends CertificateExpiry {
  serial: string;
  issuer: string;
  subject: string;
}

const listing = (id: string, pem: string): CertificateListing => {
  const i = certificateInfo(pem);
  return {
    id,
    notAfter: i.notAfter.toISOString(),
    serial: i.serialNumber,
    issuer: i.issuer,
    subject: i.subject,
  };
};

/**
 * The CA (id `ca`), every CA still trusted beside it (`ca-trusted-<n>`, during a CA rotation), and
 * every identity the spec names that the store holds.
 */
export async function listCertificates(store: TlsStore, spec: ClusterSpec): Promise<CertificateListing[]> {
  const out: CertificateListing[] = [];
  const ca = await store.readCa(spec.name);
  if (!ca) return out;
  out.push(listing('ca', ca.certPem));
  const caSerial = certificateInfo(ca.certPem).serialNumber;
  const others = splitPem(await store.trust(spec.name)).filter((p) => certificateInfo(p).serialNumber !== caSerial);
  others.forEach((p, n) => out.push(listing(`ca-trusted-${n + 1}`, p)));
  for (const identity of tlsIdentities(spec)) {
    const pair = await store.read(spec.name, identity.id);
    if (pair) out.push(listing(identity.id, pair.certPem));
  }
  return out;
}
