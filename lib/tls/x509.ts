/**
 * Certificates for a cluster's own CA, with @peculiar/x509 on Node's WebCrypto: ECDSA P-256 keys
 * (every PostgreSQL, PgBouncer and etcd build here speaks them; a key takes milliseconds, not the
 * hundreds an RSA key would cost `up`), SHA-256 signatures. No ASN.1 is written by hand here.
 */
import 'reflect-metadata'; // @peculiar/x509's dependency injection needs the polyfill before it loads
import * as x509 from '@peculiar/x509';
import { randomBytes, webcrypto } from 'node:crypto';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type Key = webcrypto.CryptoKey;
type Keys = webcrypto.CryptoKeyPair;

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

/** A certificate and its private key, both PEM. */
export interface KeyPair {
  certPem: string;
  keyPem: string;
}

export interface CertificateRequest {
  commonName: string;
  /** serverAuth, clientAuth or both (a member is a server and, for Citus and replication, a client). */
  usages: readonly ('server' | 'client')[];
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  days: number;
}

/** What is known of a certificate without its key. */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  dnsNames: string[];
  ipAddresses: string[];
  isCa: boolean;
}

// A clock a few minutes off on another machine must not reject a certificate issued just now.
const backdated = (now: Date) => new Date(now.getTime() - 5 * 60_000);
const serial = () => {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f; // positive
  return b.toString('hex');
};

async function exportKey(key: Key): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY') + '\n';
}

async function importKey(pem: string): Promise<Key> {
  const der = x509.PemConverter.decodeFirst(pem);
  return webcrypto.subtle.importKey('pkcs8', der, ALGORITHM, false, ['sign']);
}

async function newKeys(): Promise<Keys> {
  return webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
}

/** A self-signed CA, allowed to sign end-entity certificates only (path length 0). */
export async function createCa(commonName: string, days: number, now = new Date()): Promise<KeyPair> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    notBefore: backdated(now),
    notAfter: new Date(now.getTime() + days * DAY_MS),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportKey(keys.privateKey) };
}

/** An end-entity certificate signed by `ca`, with a fresh key. */
export async function issueCertificate(ca: KeyPair, req: CertificateRequest, now = new Date()): Promise<KeyPair> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const keys = await newKeys();
  const names = [
    ...(req.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(req.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const usages = [
    ...(req.usages.includes('server') ? [x509.ExtendedKeyUsage.serverAuth] : []),
    ...(req.usages.includes('client') ? [x509.ExtendedKeyUsage.clientAuth] : []),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${req.commonName}`,
    issuer: caCert.subject,
    notBefore: backdated(now),
    notAfter: new Date(now.getTime() + req.days * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: await importKey(ca.keyPem),
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension(usages, false),
      ...(names.length ? [new x509.SubjectAlternativeNameExtension(names, false)] : []),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportKey(keys.privateKey) };
}

/** Reads the first certificate of a PEM text. */
export function certificateInfo(pem: string): CertificateInfo {
  const cert = new x509.X509Certificate(pem);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const basic = cert.getExtension(x509.BasicConstraintsExtension);
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    serialNumber: cert.serialNumber,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    dnsNames: san?.names.items.filter((n) => n.type === 'dns').map((n) => n.value) ?? [],
    ipAddresses: san?.names.items.filter((n) => n.type === 'ip').map((n) => n.value) ?? [],
    isCa: basic?.ca ?? false,
  };
}

/** Whether `cert` was signed by `ca` (its signature verifies with the CA's key). */
export async function signedBy(certPem: string, caPem: string): Promise<boolean> {
  const cert = new x509.X509Certificate(certPem);
  return cert.verify({ publicKey: new x509.X509Certificate(caPem), signatureOnly: true });
}

/** The PEM certificates of a bundle, one per entry. */
export function splitPem(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}
