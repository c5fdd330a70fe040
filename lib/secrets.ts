/**
 * Cluster secrets, generated once and kept in the state directory readable by the owner only.
 * Workflows and their histories only ever carry the cluster name; activities resolve secrets here.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { APP_USER, DATABASE, REPLICATION_USER, SUPERUSER } from '../common/topology';
import { clusterDir, pgpassPath } from './state-dir';
import { scramVerifier } from './scram';
import { writeExclusive } from './file-writes';

export interface ClusterSecrets {
  superuserPassword: string;
  replicationPassword: string;
  appPassword: string;
  /** SCRAM verifier of appPassword, stored on the server and in PgBouncer's auth file. */
  appScramVerifier: string;
  /** etcd's `root` user: only the orchestrator (and `citusctl status`) talk to etcd. */
  etcdRootPassword: string;
  /** PgBouncer's admin console user (PAUSE/RELOAD/RESUME), known to the orchestrator only. */
  pgbouncerAdminPassword: string;
  /** SCRAM verifier of pgbouncerAdminPassword, in PgBouncer's auth file. */
  pgbouncerAdminScramVerifier: string;
}

const FIELDS: readonly (keyof ClusterSecrets)[] = [
  'superuserPassword',
  'replicationPassword',
  'appPassword',
  'appScramVerifier',
  'etcdRootPassword',
  'pgbouncerAdminPassword',
  'pgbouncerAdminScramVerifier',
];

const generatePassword = () => randomBytes(24).toString('base64url');

/**
 * The file as this citusctl writes it, or an error naming what is missing: a damaged or hand-edited
 * file is never completed with new passwords, which the cluster's nodes would not know.
 */
function complete(file: string, s: Partial<ClusterSecrets>): ClusterSecrets {
  const missing = FIELDS.filter((f) => typeof s[f] !== 'string' || !s[f]);
  if (missing.length)
    throw new Error(
      `${file} lacks ${missing.join(', ')}: it was not written by citusctl, or was edited; restore it from a backup`,
    );
  return s as ClusterSecrets;
}

export class SecretStore {
  /** `root`: the state directory (other per-cluster stores keep their files under it too). */
  constructor(readonly root: string) {}

  private file(cluster: string) {
    return path.join(clusterDir(this.root, cluster), 'secrets.json');
  }

  /** Returns the cluster's secrets, generating them on first use (concurrent callers agree). */
  async ensure(cluster: string): Promise<ClusterSecrets> {
    const existing = await this.read(cluster);
    if (existing) return existing;
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
    await writeExclusive(this.file(cluster), JSON.stringify(secrets, null, 2), 0o600);
    const stored = await this.read(cluster);
    if (!stored) throw new Error(`could not store secrets for cluster ${cluster}`);
    return stored;
  }

  /** The stored secrets; undefined if none (an incomplete file is an error). */
  async read(cluster: string): Promise<ClusterSecrets | undefined> {
    let text: string;
    try {
      text = await fs.readFile(this.file(cluster), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    return complete(this.file(cluster), JSON.parse(text) as Partial<ClusterSecrets>);
  }

  /** Synchronous read, for clients that are built synchronously (the etcd connector). */
  readSync(cluster: string): ClusterSecrets | undefined {
    let text: string;
    try {
      text = readFileSync(this.file(cluster), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    return complete(this.file(cluster), JSON.parse(text) as Partial<ClusterSecrets>);
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
export function nodePgpass(s: ClusterSecrets): string {
  return (
    [
      `*:*:*:${SUPERUSER}:${s.superuserPassword}`,
      `*:*:*:${REPLICATION_USER}:${s.replicationPassword}`,
      `*:*:*:${APP_USER}:${s.appPassword}`,
    ].join('\n') + '\n'
  );
}
