/**
 * citusctl's own client credentials (identity `client-citusctl`) with the cluster's trust bundle,
 * as its clients of etcd take them. Read from the store, never from an argument or the environment.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { splitPem } from './x509';
import type { TlsStore } from './tls-store';

/** The orchestrator's identity in the store (common/tls-identities.ts). */
export const ORCHESTRATOR_IDENTITY = 'client-citusctl';

export interface ClientTls {
  /** PEM bundle of the CAs to trust. */
  ca: string;
  /** PEM certificate and key the client presents. */
  cert: string;
  key: string;
}

const KEY_RE = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n?/;

function readOrUndefined(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Read synchronously (the etcd connector builds its client synchronously). Undefined until `up` has issued
 * them (validateSpec): a client built without them presents no certificate, which etcd refuses.
 */
export function orchestratorTls(store: TlsStore, cluster: string): ClientTls | undefined {
  const ca = readOrUndefined(store.caPath(cluster));
  const pair = readOrUndefined(path.join(store.dir(cluster), `${ORCHESTRATOR_IDENTITY}.pem`));
  const cert = pair && splitPem(pair)[0];
  const key = pair?.match(KEY_RE)?.[0];
  return ca && cert && key ? { ca, cert, key } : undefined;
}
