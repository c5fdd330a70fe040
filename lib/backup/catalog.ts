/**
 * The backup catalog: citusctl's records of backups, restore points and verified restores, as JSON
 * files in the backup repository (`<repo>/citusctl/<kind>/<name>.json`). Kept with the backups, so
 * a cluster removed with `down --volumes` (the repository volume stays) can still be restored.
 *
 * Read and written through Docker's archive API on the cluster's backup container, or, when it
 * has none (the cluster is down), on a throwaway container mounting the repository volume that is
 * never started. A record is written once under its own name and never replaced.
 *
 * In an S3 repository the same files sit under the repository's prefix; pgBackRest reads and writes
 * them (repo-ls, repo-get, repo-put), in the backup container or, when the cluster has none, in a
 * throwaway one on the cluster's network (else Docker's default one) holding the configuration. So
 * only containers talk to the endpoint, with pgBackRest's TLS verification and request signing, and
 * the keys stay in its configuration file. (repo-put is marked for internal use in pgBackRest's
 * help; it is the one writer that shares pgBackRest's own S3 settings, and a record is a small file.)
 */
import type Docker from 'dockerode';
import { extract } from 'tar-stream';
import type { BackupRecord, RestorePointRecord, VerificationRecord } from '../../common/backup-records';
import { LABEL_CLUSTER, LABEL_HELPER } from '../../common/labels';
import { BACKUP_MEMBER, BACKUP_REPO_PATH } from '../../common/names';
import { backupRepoVolumeName, containerName } from '../../common/topology';
import { containerState, tarOf } from '../docker/docker-helpers';
import { stateDir } from '../state-dir';
import { PGBACKREST_CONF } from './pgbackrest-config';
import { describeRepository, RepositoryStore, type S3RepositoryAccess } from './repository';
import { pgbackrestErrorSummary } from './pgbackrest-output';
import { execWithS3Repository } from './s3-exec';

export interface CatalogRecords {
  'restore-points': RestorePointRecord;
  backups: BackupRecord;
  verifications: VerificationRecord;
}
export type CatalogKind = keyof CatalogRecords;

export const CATALOG_DIR = `${BACKUP_REPO_PATH}/citusctl`;

const isNotFound = (err: unknown) => (err as { statusCode?: number }).statusCode === 404;

export class BackupCatalog {
  private readonly repositories: RepositoryStore;

  /**
   * `image`: any image with a shell-less `/bin/true` (the cluster's postgres image) for the throwaway
   * container. `root`: the state directory, where an S3 repository's access is kept.
   */
  constructor(
    private readonly docker: Docker,
    private readonly cluster: string,
    private readonly image: string,
    root: string = stateDir(),
  ) {
    this.repositories = new RepositoryStore(root);
  }

  /** Does the cluster have a backup repository at all? */
  async exists(): Promise<boolean> {
    if (await this.repositories.read(this.cluster)) return true;
    return this.docker
      .getVolume(backupRepoVolumeName(this.cluster))
      .inspect()
      .then(
        () => true,
        (err: unknown) => {
          if (isNotFound(err)) return false;
          throw err;
        },
      );
  }

  async list<K extends CatalogKind>(kind: K): Promise<CatalogRecords[K][]> {
    const s3 = await this.repositories.read(this.cluster);
    if (s3) {
      // One exec for the whole kind: a name per line from repo-ls, then each file (one line of JSON).
      const pgbackrest = `pgbackrest --config=${PGBACKREST_CONF}`;
      const script =
        `for f in $(${pgbackrest} repo-ls citusctl/"$1"); do ` +
        `case "$f" in *.json) ${pgbackrest} repo-get citusctl/"$1/$f" || exit 1; echo;; esac; done`;
      const out = await this.inS3Container(s3, ['sh', '-c', script, 'sh', kind], `listing ${kind}`);
      return out
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as CatalogRecords[K]);
    }
    if (!(await this.exists())) return [];
    return this.withRepoContainer(async (c) => {
      let stream: NodeJS.ReadableStream;
      try {
        stream = await c.getArchive({ path: `${CATALOG_DIR}/${kind}` });
      } catch (err) {
        if (isNotFound(err)) return [];
        throw err;
      }
      const texts = await jsonFilesOf(stream);
      return texts.map((t) => JSON.parse(t) as CatalogRecords[K]);
    });
  }

  async get<K extends CatalogKind>(kind: K, name: string): Promise<CatalogRecords[K] | undefined> {
    if (await this.repositories.read(this.cluster)) return (await this.list(kind)).find((r) => nameOf(r) === name);
    if (!(await this.exists())) return undefined;
    return this.withRepoContainer((c) => readRecord(c, kind, name));
  }

  /**
   * Writes the record under its name. Returns false (and writes nothing) when a record of that name
   * is there already: a retried step finds its own record, a second point of one name is refused.
   */
  async put<K extends CatalogKind>(kind: K, name: string, record: CatalogRecords[K]): Promise<boolean> {
    const s3 = await this.repositories.read(this.cluster);
    if (s3) {
      if (await this.get(kind, name)) return false;
      const script = `printf '%s\\n' "$1" | pgbackrest --config=${PGBACKREST_CONF} repo-put citusctl/"$2"`;
      await this.inS3Container(
        s3,
        ['sh', '-c', script, 'sh', JSON.stringify(record), `${kind}/${name}.json`],
        `writing ${kind}/${name}`,
      );
      return true;
    }
    // The check and the write on one container (one lookup of it).
    return this.withRepoContainer(async (c) => {
      if (await readRecord(c, kind, name)) return false;
      const tar = await tarOf(
        { [`citusctl/${kind}/${name}.json`]: { content: JSON.stringify(record) + '\n', mode: 0o644 } },
        { directories: true },
      );
      await c.putArchive(tar, { path: BACKUP_REPO_PATH });
      return true;
    });
  }

  /** Runs `cmd` as postgres where this cluster's S3 repository is configured; its stdout. */
  private async inS3Container(s3: S3RepositoryAccess, cmd: string[], what: string): Promise<string> {
    const r = await execWithS3Repository(this.docker, { cluster: this.cluster, image: this.image, access: s3 }, cmd);
    if (r.exitCode !== 0)
      throw new Error(
        `${this.cluster}'s backup catalog in ${describeRepository('', s3)}: ${what} failed ` +
          `(exit ${r.exitCode}): ${pgbackrestErrorSummary(r.stderr + r.stdout)}`,
      );
    return r.stdout;
  }

  private async withRepoContainer<T>(fn: (c: Docker.Container) => Promise<T>): Promise<T> {
    const name = containerName(this.cluster, BACKUP_MEMBER);
    if ((await containerState(this.docker, name)) !== 'absent') return fn(this.docker.getContainer(name));
    const helper = await this.docker.createContainer({
      Image: this.image,
      Entrypoint: ['/bin/true'],
      Cmd: [],
      Labels: { [LABEL_CLUSTER]: this.cluster, [LABEL_HELPER]: 'backup-catalog' },
      HostConfig: {
        Mounts: [{ Type: 'volume', Source: backupRepoVolumeName(this.cluster), Target: BACKUP_REPO_PATH }],
      },
    });
    try {
      return await fn(helper);
    } finally {
      await helper.remove({ force: true }).catch(() => undefined);
    }
  }
}

const nameOf = (r: CatalogRecords[CatalogKind]) => ('name' in r ? r.name : r.id);

/**
 * The record written under this name (put writes `<kind>/<name>.json`), read alone: a lookup does
 * not fetch every record of its kind. Undefined when there is none.
 */
async function readRecord<K extends CatalogKind>(
  c: Docker.Container,
  kind: K,
  name: string,
): Promise<CatalogRecords[K] | undefined> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = await c.getArchive({ path: `${CATALOG_DIR}/${kind}/${name}.json` });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  const [text] = await jsonFilesOf(stream);
  const record = text === undefined ? undefined : (JSON.parse(text) as CatalogRecords[K]);
  return record && nameOf(record) === name ? record : undefined;
}

/** The contents of every `*.json` file in a tar stream. */
function jsonFilesOf(stream: NodeJS.ReadableStream): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const x = extract();
    const files: string[] = [];
    x.on('entry', (header, body, next) => {
      const chunks: Buffer[] = [];
      body.on('data', (c: unknown) => chunks.push(c as Buffer));
      body.on('end', () => {
        if (header.type === 'file' && header.name.endsWith('.json')) files.push(Buffer.concat(chunks).toString('utf8'));
        next();
      });
      body.resume();
    });
    x.on('finish', () => resolve(files));
    x.on('error', reject);
    stream.on('error', reject);
    stream.pipe(x);
  });
}
