/**
 * The cluster's CA and the certificates it issued, kept beside the other secrets in the state
 * directory (owner only, keys 0600). Workflows and their histories only ever carry the cluster's
 * name and identity ids; activities read the keys here.
 *
 *   <cluster dir>/tls/ca.pem       the CA's certificate and key (0600)
 *   <cluster dir>/tls/ca.crt       the CAs to trust: the current one first, then any being retired
 *                                  (what `psql "sslmode=verify-full sslrootcert=..."` takes)
 *   <cluster dir>/tls/<id>.pem     an identity's certificate and key (0600)
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { TlsIdentity, TlsLifetimes } from '../../common/tls-identities';
import { dueForRenewal } from '../../common/tls-identities';
import { replaceFile, writeExclusive } from '../file-writes';
import { clusterDir } from '../state-dir';
import { certificateInfo, createCa, issueCertificate, signedBy, splitPem, type KeyPair } from './x509';

export interface IdentityExpiry {
  id: string;
  notAfter: Date;
}

const KEY_RE = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n?/;

function parsePair(file: string, text: string): KeyPair {
  const certPem = splitPem(text)[0];
  const keyPem = text.match(KEY_RE)?.[0];
  if (!certPem || !keyPem) throw new Error(`${file} lacks a certificate or a key: it was not written by citusctl`);
  return { certPem, keyPem };
}

const joinPair = (p: KeyPair) => `${p.certPem.trimEnd()}\n${p.keyPem.trimEnd()}\n`;
async function readOrUndefined(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export class TlsStore {
  constructor(private readonly root: string) {}

  dir(cluster: string): string {
    return path.join(clusterDir(this.root, cluster), 'tls');
  }

  /** The trust bundle a client passes as sslrootcert / --cacert. */
  caPath(cluster: string): string {
    return path.join(this.dir(cluster), 'ca.crt');
  }

  private caKeyPath(cluster: string) {
    return path.join(this.dir(cluster), 'ca.pem');
  }

  private identityPath(cluster: string, id: string) {
    return path.join(this.dir(cluster), `${id}.pem`);
  }

  /** The CA's certificate and key; created on first use. */
  async ensureCa(cluster: string, lifetimes: TlsLifetimes): Promise<KeyPair> {
    const existing = await this.readCa(cluster);
    if (existing) return existing;
    await fs.mkdir(this.dir(cluster), { recursive: true, mode: 0o700 });
    const ca = await createCa(caName(cluster), lifetimes.caDays);
    if (await writeExclusive(this.caKeyPath(cluster), joinPair(ca), 0o600)) {
      await replaceFile(this.caPath(cluster), ca.certPem, 0o644);
      return ca;
    }
    const won = await this.readCa(cluster);
    if (!won) throw new Error(`could not store the CA of cluster ${cluster}`);
    return won;
  }

  async readCa(cluster: string): Promise<KeyPair | undefined> {
    const text = await readOrUndefined(this.caKeyPath(cluster));
    return text === undefined ? undefined : parsePair(this.caKeyPath(cluster), text);
  }

  /** The PEM bundle of the CAs to trust (the current CA first). */
  async trust(cluster: string): Promise<string> {
    const text = await readOrUndefined(this.caPath(cluster));
    if (text !== undefined) return text;
    const ca = await this.readCa(cluster);
    if (!ca) throw new Error(`cluster ${cluster} has no CA yet (citusctl up creates it)`);
    await replaceFile(this.caPath(cluster), ca.certPem, 0o644);
    return ca.certPem;
  }

  async read(cluster: string, id: string): Promise<KeyPair | undefined> {
    const file = this.identityPath(cluster, id);
    const text = await readOrUndefined(file);
    return text === undefined ? undefined : parsePair(file, text);
  }

  /** The identity's certificate and key, issued on first use. Never renews (see renew). */
  async ensure(cluster: string, identity: TlsIdentity, lifetimes: TlsLifetimes): Promise<KeyPair> {
    const existing = await this.read(cluster, identity.id);
    if (existing) return existing;
    const pair = await this.issue(cluster, identity, lifetimes);
    if (await writeExclusive(this.identityPath(cluster, identity.id), joinPair(pair), 0o600)) return pair;
    const won = await this.read(cluster, identity.id);
    if (!won) throw new Error(`could not store the certificate ${identity.id} of cluster ${cluster}`);
    return won;
  }

  /**
   * Issues the identity again when it is due (or `force`), or when the current CA did not sign it
   * (after a CA rotation). Returns the pair in the store afterwards and whether it is new.
   */
  async renew(
    cluster: string,
    identity: TlsIdentity,
    lifetimes: TlsLifetimes,
    opts: { force?: boolean; now?: Date } = {},
  ): Promise<{ pair: KeyPair; renewed: boolean }> {
    const existing = await this.read(cluster, identity.id);
    const ca = await this.ensureCa(cluster, lifetimes);
    const now = opts.now ?? new Date();
    const stale =
      !existing ||
      opts.force ||
      dueForRenewal(certificateInfo(existing.certPem).notAfter.getTime(), now.getTime(), lifetimes.renewBeforeDays) ||
      !(await signedBy(existing.certPem, ca.certPem));
    if (!stale) return { pair: existing, renewed: false };
    const pair = await this.issue(cluster, identity, lifetimes, now);
    await replaceFile(this.identityPath(cluster, identity.id), joinPair(pair), 0o600);
    return { pair, renewed: true };
  }

  /**
   * A new CA replaces the current one for signing; the trust bundle keeps the old one after it, so
   * servers still presenting certificates it signed stay trusted until every one is renewed.
   * `rotation` names the run asking: a retry of the same rotation gets the CA it made, not another.
   */
  async rotateCa(cluster: string, lifetimes: TlsLifetimes, rotation?: string): Promise<KeyPair> {
    const current = await this.ensureCa(cluster, lifetimes);
    const marker = path.join(this.dir(cluster), 'ca.rotation');
    if (rotation && (await readOrUndefined(marker)) === rotation) return current;
    const trust = await this.trust(cluster);
    const ca = await createCa(caName(cluster), lifetimes.caDays);
    // Trust first: a certificate signed by the new CA may reach a client as soon as the CA is written.
    await replaceFile(this.caPath(cluster), ca.certPem.trimEnd() + '\n' + trust, 0o644);
    await replaceFile(this.caKeyPath(cluster), joinPair(ca), 0o600);
    if (rotation) await replaceFile(marker, rotation, 0o600);
    return ca;
  }

  /** Drops every CA but the current one from the trust bundle (once no server presents an old one). */
  async retireOldCas(cluster: string): Promise<number> {
    const ca = await this.readCa(cluster);
    if (!ca) return 0;
    const before = splitPem(await this.trust(cluster)).length;
    await replaceFile(this.caPath(cluster), ca.certPem, 0o644);
    return Math.max(0, before - 1);
  }

  /** Every stored certificate's end of validity (the CA's as id `ca`). */
  async expiries(cluster: string): Promise<IdentityExpiry[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir(cluster));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: IdentityExpiry[] = [];
    for (const name of names.filter((n) => n.endsWith('.pem')).sort()) {
      const text = await readOrUndefined(path.join(this.dir(cluster), name));
      const cert = text && splitPem(text)[0];
      if (cert)
        out.push({ id: name === 'ca.pem' ? 'ca' : name.slice(0, -4), notAfter: certificateInfo(cert).notAfter });
    }
    return out;
  }

  private async issue(cluster: string, identity: TlsIdentity, lifetimes: TlsLifetimes, now?: Date): Promise<KeyPair> {
    const ca = await this.ensureCa(cluster, lifetimes);
    return issueCertificate(
      ca,
      {
        commonName: identity.commonName,
        usages: identity.usages,
        dnsNames: identity.dnsNames,
        ipAddresses: identity.ipAddresses,
        days: lifetimes.certificateDays,
      },
      now,
    );
  }
}

/** Each CA its own subject (with its creation time): old and new side by side in a trust bundle stay apart. */
const caName = (cluster: string) => `citusctl ${cluster} CA ${new Date().toISOString().replace(/[-:]|\.\d+/g, '')}`;
