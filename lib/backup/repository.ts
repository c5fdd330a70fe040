/**
 * The backup repository a cluster's pgBackRest uses: its Docker volume, or an S3-compatible
 * endpoint. For S3 the access keys (and the CA bundle) are read once from the files the spec names
 * and kept in the state directory, readable by the owner only, outside the cluster's own directory:
 * `down --volumes` keeps them with the backups they open (`--backups` removes both). They reach
 * containers only inside pgBackRest's configuration file (never in a spec, a workflow's history, a
 * log, a process's arguments or environment).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { ClusterSpec, S3RepositorySpec } from '../../common/spec';
import { replaceFile } from '../file-writes';

/** Everything pgBackRest needs to open an S3 repository: where (path resolved) and the keys. */
export interface S3RepositoryAccess {
  type: 's3';
  endpoint: string;
  bucket: string;
  region: string;
  path: string;
  uriStyle: 'path' | 'host';
  accessKeyId: string;
  secretAccessKey: string;
  /** The PEM bundle the endpoint's certificate chains to (else the image's system CAs). */
  caPem?: string;
}
export type RepositoryAccess = { type: 'volume' } | S3RepositoryAccess;

/** The key prefix of a cluster's S3 repository. */
export const s3RepoPath = (cluster: string, repo: Pick<S3RepositorySpec, 'path'>) =>
  repo.path ?? `/citusctl/${cluster}`;

/** Thrown for a credentials or CA file that cannot be used; the message never holds a key. */
export class RepositoryCredentialsError extends Error {}

/**
 * The access key id and secret of a credentials file: the AWS CLI's format (`aws_access_key_id =
 * ...` and `aws_secret_access_key = ...`, a `[profile]` header and comments ignored; the first of each).
 */
export function parseCredentials(text: string, file: string): { accessKeyId: string; secretAccessKey: string } {
  const values = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';') || line.startsWith('[')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim().toLowerCase();
    if (!values.has(key)) values.set(key, line.slice(eq + 1).trim());
  }
  const accessKeyId = values.get('aws_access_key_id');
  const secretAccessKey = values.get('aws_secret_access_key');
  const missing = [
    ...(accessKeyId ? [] : ['aws_access_key_id']),
    ...(secretAccessKey ? [] : ['aws_secret_access_key']),
  ];
  if (missing.length)
    throw new RepositoryCredentialsError(`backup.repository.credentialsFile ${file}: no ${missing.join(' or ')}`);
  // A value pgBackRest's configuration file could not hold as one line.
  if (/[\r\n\0]/.test(accessKeyId! + secretAccessKey!))
    throw new RepositoryCredentialsError(`backup.repository.credentialsFile ${file}: a key holds a control character`);
  return { accessKeyId: accessKeyId!, secretAccessKey: secretAccessKey! };
}

async function readFileNamed(file: string, field: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new RepositoryCredentialsError(
      `backup.repository.${field} ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    );
  }
}

/** Reads the files the spec names: the repository's full access. */
export async function readS3Access(cluster: string, repo: S3RepositorySpec): Promise<S3RepositoryAccess> {
  const keys = parseCredentials(await readFileNamed(repo.credentialsFile, 'credentialsFile'), repo.credentialsFile);
  let caPem: string | undefined;
  if (repo.caFile) {
    caPem = await readFileNamed(repo.caFile, 'caFile');
    if (!caPem.includes('-----BEGIN CERTIFICATE-----'))
      throw new RepositoryCredentialsError(`backup.repository.caFile ${repo.caFile}: holds no PEM certificate`);
  }
  return {
    type: 's3',
    endpoint: repo.endpoint,
    bucket: repo.bucket,
    region: repo.region,
    path: s3RepoPath(cluster, repo),
    uriStyle: repo.uriStyle,
    ...keys,
    ...(caPem ? { caPem } : {}),
  };
}

const sameLocation = (a: S3RepositoryAccess, b: Omit<S3RepositoryAccess, 'accessKeyId' | 'secretAccessKey'>) =>
  a.endpoint === b.endpoint &&
  a.bucket === b.bucket &&
  a.region === b.region &&
  a.path === b.path &&
  a.uriStyle === b.uriStyle;

export class RepositoryStore {
  constructor(private readonly root: string) {}

  private file(cluster: string) {
    return path.join(this.root, 'backup-repositories', `${cluster}.json`);
  }

  /** The stored access of the cluster's S3 repository; undefined for none (a volume repository). */
  async read(cluster: string): Promise<S3RepositoryAccess | undefined> {
    let text: string;
    try {
      text = await fs.readFile(this.file(cluster), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    return JSON.parse(text) as S3RepositoryAccess;
  }

  /** When the cluster's S3 repository was configured here (its file is rewritten only when it changes). */
  async configuredAt(cluster: string): Promise<string | null> {
    return fs.stat(this.file(cluster)).then(
      (s) => s.mtime.toISOString(),
      () => null,
    );
  }

  async write(cluster: string, access: S3RepositoryAccess): Promise<void> {
    if (JSON.stringify(await this.read(cluster)) === JSON.stringify(access)) return;
    await fs.mkdir(path.dirname(this.file(cluster)), { recursive: true, mode: 0o700 });
    await replaceFile(this.file(cluster), JSON.stringify(access, null, 2) + '\n', 0o600);
  }

  /**
   * The access the spec's repository needs. `refresh` (what `up` does) reads the spec's files again
   * (new keys take effect); otherwise the stored access serves while it names the same place (a
   * worker, or a restored cluster, may run where the files are gone), and the files are read when not.
   */
  async ensure(spec: ClusterSpec, opts: { refresh?: boolean } = {}): Promise<RepositoryAccess> {
    const repo = spec.backup.repository;
    // Backups off (a verification's scratch cluster): no repository to open.
    if (repo.type === 'volume' || !spec.backup.enabled) return { type: 'volume' };
    const stored = await this.read(spec.name);
    if (!opts.refresh && stored && sameLocation(stored, { ...repo, path: s3RepoPath(spec.name, repo) })) return stored;
    const access = await readS3Access(spec.name, repo);
    await this.write(spec.name, access);
    return access;
  }

  /** The repository a cluster's backups are in, by name alone: its stored S3 access, else its volume. */
  async of(cluster: string): Promise<RepositoryAccess> {
    return (await this.read(cluster)) ?? { type: 'volume' };
  }

  async remove(cluster: string): Promise<void> {
    await fs.rm(this.file(cluster), { force: true });
  }
}

/** Where a repository is, for people: the volume's name, or the S3 location (never a key). */
export const describeRepository = (volumeName: string, access: RepositoryAccess): string =>
  access.type === 'volume' ? volumeName : `s3://${access.bucket}${access.path} at ${access.endpoint}`;
