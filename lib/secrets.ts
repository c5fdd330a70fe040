/**
 * Cluster secrets, generated once and kept in the state directory readable by the owner only.
 * Workflows and their histories only ever carry the cluster name; activities resolve secrets here.
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { APP_USER, DATABASE, REPLICATION_USER, SUPERUSER } from '../common/topology';
import { clusterDir, pgpassPath } from './state-dir';
import { scramVerifier } from './scram';

/** The fields of the first version of secrets.json. */
export interface BaseSecrets {
  superuserPassword: string;
  replicationPassword: string;
  appPassword: string;
  /** SCRAM verifier of appPassword, stored on the server and in PgBouncer's auth file. */
  appScramVerifier: string;
}

/** Fields added later; an older file gets them filled in by ensure(). */
export interface AddedSecrets {
  /** etcd's `root` user: only the orchestrator (and `citusctl status`) talk to etcd. */
  etcdRootPassword: string;
  /** PgBouncer's admin console user (PAUSE/RELOAD/RESUME), known to the orchestrator only. */
  pgbouncerAdminPassword: string;
  /** SCRAM verifier of pgbouncerAdminPassword, in PgBouncer's auth file. */
  pgbouncerAdminScramVerifier: string;
}

export type ClusterSecrets = BaseSecrets & AddedSecrets;
/** What a secrets file may hold: an older version lacks the added fields. */
export type StoredSecrets = BaseSecrets & Partial<AddedSecrets>;

const generatePassword = () => randomBytes(24).toString('base64url');

function isComplete(s: StoredSecrets): s is ClusterSecrets {
  return Boolean(s.etcdRootPassword && s.pgbouncerAdminPassword && s.pgbouncerAdminScramVerifier);
}

/**
 * The added fields of an older file, derived from its existing random passwords (HKDF, one label
 * per field): two processes upgrading the same file at once compute the same values, so the
 * upgrade needs no lock and a racing reader never sees a password that is later replaced.
 */
export function upgradeSecrets(s: StoredSecrets): ClusterSecrets {
  const ikm = Buffer.from(JSON.stringify([s.superuserPassword, s.replicationPassword, s.appPassword]));
  const derive = (label: string, bytes: number) => Buffer.from(hkdfSync('sha256', ikm, 'citusctl-secrets', label, bytes));
  const pgbouncerAdminPassword = s.pgbouncerAdminPassword ?? derive('pgbouncerAdminPassword', 24).toString('base64url');
  return {
    ...s,
    etcdRootPassword: s.etcdRootPassword ?? derive('etcdRootPassword', 24).toString('base64url'),
    pgbouncerAdminPassword,
    pgbouncerAdminScramVerifier: s.pgbouncerAdminScramVerifier ?? scramVerifier(pgbouncerAdminPassword, derive('pgbouncerAdminScramSalt', 16)),
  };
}

const tmpName = (file: string) => `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;

async function writeExclusive(file: string, content: string): Promise<boolean> {
  const tmp = tmpName(file);
  await fs.writeFile(tmp, content, { mode: 0o600 });
  try {
    await fs.link(tmp, file); // atomic, fails if another process won the race
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  finally {
    await fs.rm(tmp, { force: true });
  }
}

/** Atomic replace (rename): a reader sees the old file or the new one, never half of one. */
async function writeReplace(file: string, content: string): Promise<void> {
  const tmp = tmpName(file);
  try {
    await fs.writeFile(tmp, content, { mode: 0o600 });
    await fs.rename(tmp, file);
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

export class SecretStore {
  constructor(private readonly root: string) {}

  private file(cluster: string) {
    return path.join(clusterDir(this.root, cluster), 'secrets.json');
  }

  /**
   * Returns the cluster's secrets, generating them on first use (concurrent callers agree), and
   * filling the fields a newer version added into an older file (keeping every existing field).
   */
  async ensure(cluster: string): Promise<ClusterSecrets> {
    const existing = await this.read(cluster);
    if (existing) {
      if (isComplete(existing)) return existing;
      await writeReplace(this.file(cluster), JSON.stringify(upgradeSecrets(existing), null, 2));
      return this.ensure(cluster);
    }
    await fs.mkdir(clusterDir(this.root, cluster), { recursive: true, mode: 0o700 });
    const appPassword = generatePassword();
    const pgbouncerAdminPassword = generatePassword();
    const secrets: ClusterSecrets = {
      superuserPassword: generatePassword(),
      replicationPassword: generatePassword(),
      appPassword,
      appScramVerifier: scramVerifier(appPassword),
      etcdRootPassword: generatePassword(),
      pgbouncerAdminPassword,
      pgbouncerAdminScramVerifier: scramVerifier(pgbouncerAdminPassword),
    };
    await writeExclusive(this.file(cluster), JSON.stringify(secrets, null, 2));
    const stored = await this.read(cluster);
    if (!stored) throw new Error(`could not store secrets for cluster ${cluster}`);
    return isComplete(stored) ? stored : this.ensure(cluster);
  }

  /** The stored secrets as they are (an older file may lack the added fields); undefined if none. */
  async read(cluster: string): Promise<StoredSecrets | undefined> {
    try {
      return JSON.parse(await fs.readFile(this.file(cluster), 'utf8')) as StoredSecrets;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Synchronous read, for clients that are built synchronously (the etcd connector). */
  readSync(cluster: string): StoredSecrets | undefined {
    try {
      return JSON.parse(readFileSync(this.file(cluster), 'utf8')) as StoredSecrets;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Writes a pgpass file (usable as PGPASSFILE) for the superuser and the app user on the host ports. */
  async writeHostPgpass(cluster: string, ports: { postgres: number[]; pgbouncer: number }): Promise<string> {
    const s = await this.ensure(cluster);
    const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
    const lines = [
      ...ports.postgres.flatMap((p) => [
        `127.0.0.1:${p}:*:${SUPERUSER}:${esc(s.superuserPassword)}`,
        `127.0.0.1:${p}:*:${APP_USER}:${esc(s.appPassword)}`,
      ]),
      `127.0.0.1:${ports.pgbouncer}:${DATABASE}:${APP_USER}:${esc(s.appPassword)}`,
    ];
    const file = pgpassPath(this.root, cluster);
    await fs.writeFile(file, lines.join('\n') + '\n', { mode: 0o600 });
    await fs.chmod(file, 0o600);
    return file;
  }

  async remove(cluster: string): Promise<void> {
    await fs.rm(clusterDir(this.root, cluster), { recursive: true, force: true });
  }
}

/** The pgpass every PostgreSQL node uses for node-to-node connections (Citus, replication). */
export function nodePgpass(s: BaseSecrets): string {
  return [
    `*:*:*:${SUPERUSER}:${s.superuserPassword}`,
    `*:*:*:${REPLICATION_USER}:${s.replicationPassword}`,
    `*:*:*:${APP_USER}:${s.appPassword}`,
  ].join('\n') + '\n';
}
