/**
 * The steps of rotateCertificates: renew in the store, rotate or retire the CA, and install an
 * identity's files into its container and put them in service without a restart. Keys stay here:
 * inputs and results carry identity ids, serials and dates only.
 *
 * installTls checks before it acts: it compares what the container holds with the store, writes only
 * what differs, and asks the server which certificate it presents; a server still presenting the old
 * one is reloaded (again, after a crash between the write and the reload) until it presents the new.
 *
 * How each server takes new files (the path TLS_FILES is the contract of every role):
 * - PostgreSQL re-reads ssl_cert_file, ssl_key_file and ssl_ca_file on `pg_reload_conf()`; new
 *   connections get the new certificate, established ones keep theirs.
 * - PgBouncer re-reads its TLS files on `RELOAD`.
 * - etcd re-reads its certificate and key on every handshake (nothing to do), but loads the CAs it
 *   verifies client certificates with once at start: a changed trust bundle needs a restart (a CA
 *   rotation only, a few seconds once in years; etcd clients retry).
 */
import { ApplicationFailure } from '@temporalio/activity';
import { servedVerdict, tlsTargets, type Served, type TlsPart, type TlsTarget } from '../../common/certificates';
import { ErrorTypes } from '../../common/error-types';
import type { ClusterSpec } from '../../common/spec';
import { tlsIdentities } from '../../common/tls-identities';
import { containerState } from '../../lib/docker/docker-helpers';
import { containerUser, userOwner } from '../../lib/docker/container-user';
import { readContainerFile, replaceContainerFiles, type ContainerFile } from '../../lib/docker/container-files';
import { fatal } from '../../lib/errors';
import { reloadConfiguration } from '../../lib/postgres/reload';
import { lifetimesOf, tlsFilesFor, TLS_FILES } from '../../lib/tls/cluster-tls';
import { listCertificates } from '../../lib/tls/certificate-list';
import { normalSerial, servedSerial } from '../../lib/tls/served-certificate';
import { certificateInfo, splitPem } from '../../lib/tls/x509';
import type { ActivityDeps } from '../deps';
import { sleep, withHeartbeat } from '../heartbeat';
import { onMember } from '../members/superuser';
import { reloadPgbouncer } from '../setup/pgbouncer-admin';
import type { CertificatesObservation } from '../../common/certificates';

export interface RenewedCertificate {
  id: string;
  renewed: boolean;
  serial: string;
  notAfter: string;
}

export interface InstalledTls {
  id: string;
  container: string;
  /** absent: no container (its creation writes the files); stopped: written, read when it starts. */
  state: 'absent' | 'stopped' | 'running';
  /** The files that differed from the store and were written. */
  written: string[];
  /** What was done to put them in service. */
  reloaded: 'none' | 'reload' | 'restart';
  /**
   * What the server presents afterwards (part `all` on a running server); `other` / `no-tls`: it
   * does not use the cluster's files.
   */
  served?: Served;
  serial?: string;
}

/** How long a reloaded server gets to present the new certificate before the step fails (and is retried). */
const SERVE_WAIT_MS = 15_000;
/** PgBouncer may run several processes on one port: each handshake may reach another one. */
const BOUNCER_HANDSHAKES = 4;

const notReady = (message: string) =>
  ApplicationFailure.create({ type: ErrorTypes.NotReady, message, nonRetryable: false });

export function createTlsRotationActivities(deps: ActivityDeps) {
  const store = deps.tls;

  function targetOf(spec: ClusterSpec, id: string): TlsTarget {
    const t = tlsTargets(spec).find((x) => x.id === id);
    if (!t) throw fatal('BadConfig', `cluster ${spec.name} has no container for TLS identity ${id}`);
    return t;
  }

  /** Renews each identity that is due (or every one with force), and any the current CA did not sign. */
  async function renewCertificates(input: { spec: ClusterSpec; force?: boolean }): Promise<RenewedCertificate[]> {
    const { spec } = input;
    return withHeartbeat(async () => {
      const out: RenewedCertificate[] = [];
      for (const identity of tlsIdentities(spec)) {
        const { pair, renewed } = await store
          .renew(spec.name, identity, lifetimesOf(spec), { force: input.force })
          .catch((err: unknown) => {
            // A store file that is not a certificate and key does not get better by retrying.
            if (/not written by citusctl/.test((err as Error).message))
              throw fatal('BadConfig', (err as Error).message);
            throw err;
          });
        const info = certificateInfo(pair.certPem);
        out.push({ id: identity.id, renewed, serial: info.serialNumber, notAfter: info.notAfter.toISOString() });
      }
      return out;
    });
  }

  /** A new CA signs from now on; the trust bundle keeps the old ones after it. */
  async function rotateClusterCa(input: {
    spec: ClusterSpec;
    /** The asking run: a retry after a crash gets the CA this rotation made, not another one. */
    rotation?: string;
  }): Promise<{ serial: string; trusted: number }> {
    return withHeartbeat(async () => {
      const ca = await store.rotateCa(input.spec.name, lifetimesOf(input.spec), input.rotation);
      return {
        serial: certificateInfo(ca.certPem).serialNumber,
        trusted: splitPem(await store.trust(input.spec.name)).length,
      };
    });
  }

  /** Only the current CA stays trusted (run once every server presents a certificate it signed). */
  async function retireOldClusterCas(input: { spec: ClusterSpec }): Promise<{ retired: number }> {
    return withHeartbeat(async () => ({ retired: await store.retireOldCas(input.spec.name) }));
  }

  /** The owner a new file gets when the container has none yet: the user the server runs as. */
  async function defaultOwner(t: TlsTarget, running: boolean): Promise<{ uid: number; gid: number }> {
    if (!running) return { uid: 0, gid: 0 };
    // A member's container runs its bootstrap as root, PostgreSQL as postgres.
    const owner =
      t.role === 'postgres' ? userOwner(deps.docker, t.container, 'postgres') : containerUser(deps.docker, t.container);
    return owner.catch(() => ({ uid: 0, gid: 0 }));
  }

  /**
   * Writes the changed files into the container. For a PostgreSQL member this is the minimal form
   * of installing its TLS (the files at TLS_FILES, each keeping its owner and mode, the key
   * postgres-owned 0600 when it is new); where the member's own setup makes the key usable another
   * way, its installMemberTls belongs here (it must leave the files at TLS_FILES as the store has them).
   */
  async function writeTlsFiles(
    _spec: ClusterSpec,
    t: TlsTarget,
    files: Record<string, ContainerFile>,
    running: boolean,
  ): Promise<void> {
    await replaceContainerFiles(deps.docker, t.container, files, running);
  }

  async function reload(spec: ClusterSpec, t: TlsTarget): Promise<'reload' | 'restart' | 'none'> {
    if (t.role === 'postgres') {
      await onMember(deps, spec, t.server, 'pg_reload_conf', (c) => reloadConfiguration(c));
      return 'reload';
    }
    if (t.role === 'pgbouncer') {
      // Every process: they share the port, each has its own TLS context.
      await reloadPgbouncer(deps, spec).catch((err: unknown) => {
        throw notReady(`PgBouncer's reload: ${(err as Error).message}`);
      });
      return 'reload';
    }
    return 'none'; // etcd reads its certificate per handshake
  }

  function probeOf(spec: ClusterSpec, t: TlsTarget) {
    if (t.role === 'postgres')
      return { port: spec.members.find((m) => m.name === t.server)!.port, starttls: 'postgres' as const };
    if (t.role === 'pgbouncer') return { port: spec.pgbouncer.port, starttls: 'postgres' as const };
    return { port: spec.etcd.port, starttls: 'none' as const };
  }

  /** What the server presents now, against the store's serial and the one the container held before. */
  async function served(spec: ClusterSpec, t: TlsTarget, current: string, previous?: string): Promise<Served> {
    const client = await store.read(spec.name, 'client-citusctl');
    const probe = { ...probeOf(spec, t), servername: t.server, ...(client ? { clientCert: client } : {}) };
    const rounds = t.role === 'pgbouncer' ? BOUNCER_HANDSHAKES : 1;
    let verdict: Served = 'current';
    for (let i = 0; i < rounds; i++) {
      const v = servedVerdict(await servedSerial(probe), current, previous);
      if (v !== 'current') verdict = v;
      if (v === 'previous') break;
    }
    return verdict;
  }

  /**
   * Puts the identity's files (`all`) or the trust bundle only (`trust`) into its container where
   * they differ from the store, and puts them in service; for `all` on a running server, waits until
   * it presents the store's certificate.
   */
  async function installTls(input: { spec: ClusterSpec; id: string; part: TlsPart }): Promise<InstalledTls> {
    const { spec, id, part } = input;
    const t = targetOf(spec, id);
    return withHeartbeat(async () => {
      const state = await containerState(deps.docker, t.container);
      if (state === 'absent') return { id, container: t.container, state, written: [], reloaded: 'none' };
      const running = state === 'running';
      const want = await tlsFilesFor(store, spec, id);
      const paths = part === 'trust' ? [TLS_FILES.ca] : [TLS_FILES.ca, TLS_FILES.cert, TLS_FILES.key];
      const have = new Map<string, ContainerFile | undefined>();
      for (const p of paths) have.set(p, await readContainerFile(deps.docker, t.container, p));
      const changed = paths.filter((p) => have.get(p)?.content !== want[p]!.content);
      let owner: { uid: number; gid: number } | undefined;
      const files: Record<string, ContainerFile> = {};
      for (const p of changed) {
        const old = have.get(p);
        if (!old) owner ??= await defaultOwner(t, running);
        const { uid, gid } = old ?? owner!;
        files[p] = { content: want[p]!.content, mode: old?.mode ?? want[p]!.mode, uid, gid };
      }
      if (changed.length) await writeTlsFiles(spec, t, files, running);
      const result: InstalledTls = {
        id,
        container: t.container,
        state: running ? 'running' : 'stopped',
        written: changed,
        reloaded: 'none',
      };
      if (!running) return result;

      const restartEtcd = async () => {
        await deps.docker.getContainer(t.container).restart({ t: 10 });
        return 'restart' as const;
      };
      const trustChanged = changed.includes(TLS_FILES.ca);
      if (t.role === 'etcd' && trustChanged) result.reloaded = await restartEtcd();
      if (part === 'trust') {
        if (trustChanged && t.role !== 'etcd') result.reloaded = await reload(spec, t);
        return result;
      }

      const current = normalSerial(certificateInfo(want[TLS_FILES.cert]!.content).serialNumber);
      const oldCert = have.get(TLS_FILES.cert)?.content;
      const previous = oldCert ? normalSerial(certificateInfo(oldCert).serialNumber) : undefined;
      result.serial = current;
      // undefined: no answer (a restarting etcd).
      const look = () => served(spec, t, current, previous === current ? undefined : previous).catch(() => undefined);
      const first = result.reloaded === 'restart' ? undefined : await look();
      if (!changed.length && first === 'current') return { ...result, served: first };
      // New files, or a server still presenting something else (a crash came between write and reload).
      // etcd refusing the handshake of our client certificate has not loaded the bundle that trusts
      // its CA (a crash came between writing the bundle and the restart): restart it now.
      if (result.reloaded === 'none')
        result.reloaded = t.role === 'etcd' && first === undefined ? await restartEtcd() : await reload(spec, t);
      const deadline = Date.now() + SERVE_WAIT_MS;
      let verdict: Served | undefined;
      for (;;) {
        verdict = await look();
        if (verdict === 'current' || verdict === 'no-tls' || Date.now() >= deadline) break;
        await sleep(250);
      }
      if (verdict === undefined || verdict === 'previous')
        throw notReady(
          `${t.server} ${verdict ? 'still presents its previous certificate' : 'does not answer a TLS handshake'} ` +
            `${SERVE_WAIT_MS / 1000} s after the ${result.reloaded}; serial ${current} expected`,
        );
      return { ...result, served: verdict };
    });
  }

  /** The store's certificates with their ends of validity (no key), for the health check. */
  async function healthCertificates(input: { spec: ClusterSpec }): Promise<CertificatesObservation> {
    return withHeartbeat(async () => {
      try {
        const list = await listCertificates(store, input.spec);
        return {
          ok: true as const,
          certificates: list.map((c) => ({ id: c.id, notAfter: c.notAfter, serial: c.serial, issuer: c.issuer })),
        };
      } catch (err) {
        return { ok: false as const, error: (err as Error).message };
      }
    });
  }

  return { renewCertificates, rotateClusterCa, retireOldClusterCas, installTls, healthCertificates };
}
