/**
 * A cluster's TLS material as the containers and citusctl's own clients use it. Every container
 * gets its files under TLS_DIR: the trust bundle, its certificate and its key. Keys are read from
 * the store (lib/tls/tls-store.ts) by activities only, never carried by a workflow.
 */
import type { ClusterSpec } from '../../common/spec';
import { tlsIdentities, type TlsIdentity, type TlsLifetimes } from '../../common/tls-identities';
import type { ContainerFiles } from '../docker/docker-helpers';
import type { TlsStore } from './tls-store';

/** Where a container finds its TLS files. */
export const TLS_DIR = '/citusctl/tls';
export const TLS_FILES = {
  /** The CAs to trust (sslrootcert, server_tls_ca_file, --trusted-ca-file). */
  ca: `${TLS_DIR}/ca.crt`,
  cert: `${TLS_DIR}/server.crt`,
  key: `${TLS_DIR}/server.key`,
} as const;

export const lifetimesOf = (spec: ClusterSpec): TlsLifetimes => spec.tls;

/** The CA and every identity the spec names, issued where missing (existing ones are kept as they are). */
export async function ensureClusterTls(store: TlsStore, spec: ClusterSpec): Promise<void> {
  await store.ensureCa(spec.name, lifetimesOf(spec));
  await Promise.all(tlsIdentities(spec).map((i) => store.ensure(spec.name, i, lifetimesOf(spec))));
}

export function identityOf(spec: ClusterSpec, id: string): TlsIdentity {
  const identity = tlsIdentities(spec).find((i) => i.id === id);
  if (!identity) throw new Error(`cluster ${spec.name} has no TLS identity ${id}`);
  return identity;
}

/** The files a container of `identity` gets: trust bundle, certificate, key (0600). */
export async function tlsFilesFor(store: TlsStore, spec: ClusterSpec, id: string): Promise<ContainerFiles> {
  const pair = await store.ensure(spec.name, identityOf(spec, id), lifetimesOf(spec));
  return {
    [TLS_FILES.ca]: { content: await store.trust(spec.name), mode: 0o644 },
    [TLS_FILES.cert]: { content: pair.certPem, mode: 0o644 },
    [TLS_FILES.key]: { content: pair.keyPem, mode: 0o600 },
  };
}
