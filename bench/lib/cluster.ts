/**
 * The cluster under benchmark as seen from outside, the way an operator sees it: its spec, its
 * secrets file, its containers (docker CLI), and each member's PostgreSQL on its published port.
 * Nothing here goes through citusctl's own code paths except the spec parser.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Client, type ClientConfig } from 'pg';
import YAML from 'yaml';
import { parseSpec, type ClusterSpec, type MemberSpec } from '../../common/spec';

const execFileP = promisify(execFile);

export const COORDINATOR = 'coordinator';

export interface Secrets {
  superuserPassword: string;
  appPassword: string;
  [key: string]: unknown;
}

export type ContainerState =
  'running' | 'paused' | 'exited' | 'created' | 'restarting' | 'dead' | 'removing' | 'missing';
export type Role = 'primary' | 'standby' | 'down';

export interface ClusterContainer {
  name: string;
  member: string;
  group: string;
  state: ContainerState;
}

export class BenchCluster {
  readonly spec: ClusterSpec;

  constructor(
    readonly specFile: string,
    readonly stateDir: string,
    readonly appName: string,
  ) {
    this.spec = parseSpec(YAML.parse(fs.readFileSync(specFile, 'utf8')));
  }

  get name(): string {
    return this.spec.name;
  }

  /** Coordinator first, then the worker groups in spec order. */
  groups(): string[] {
    return [COORDINATOR, ...this.spec.workers];
  }

  members(group: string): MemberSpec[] {
    return this.spec.members.filter((m) => m.group === group);
  }

  member(name: string): MemberSpec {
    const m = this.spec.members.find((x) => x.name === name);
    if (!m) throw new Error(`unknown member ${name}`);
    return m;
  }

  containerOf(member: string): string {
    return `citusctl-${this.name}-${member}`;
  }

  secretsFile(): string {
    return path.join(this.stateDir, 'clusters', this.name, 'secrets.json');
  }

  /** Read each time: the secrets file may gain fields (the etcd password) while a run goes on. */
  secrets(): Secrets {
    return JSON.parse(fs.readFileSync(this.secretsFile(), 'utf8')) as Secrets;
  }

  /** The cluster's trust bundle (sslrootcert). */
  caPath(): string {
    return path.join(this.stateDir, 'clusters', this.name, 'tls', 'ca.crt');
  }

  /** Members take TLS only: verify-full, the member's name as the TLS server name (the address is 127.0.0.1). */
  superuser(member: string, extra: Partial<ClientConfig> = {}): ClientConfig {
    return {
      host: '127.0.0.1',
      port: this.member(member).port,
      user: 'postgres',
      password: this.secrets().superuserPassword,
      database: 'postgres',
      ssl: { ca: fs.readFileSync(this.caPath(), 'utf8'), servername: member },
      connectionTimeoutMillis: 1500,
      application_name: this.appName,
      ...extra,
    };
  }

  /** The app user through PgBouncer over TLS, verified with the cluster's CA: how a client of the cluster connects. */
  app(extra: Partial<ClientConfig> = {}): ClientConfig {
    return {
      host: '127.0.0.1',
      port: this.spec.pgbouncer.port,
      user: 'app',
      password: this.secrets().appPassword,
      database: 'postgres',
      connectionTimeoutMillis: 1500,
      application_name: this.appName,
      ssl: { ca: fs.readFileSync(this.caPath(), 'utf8'), servername: 'pgbouncer' },
      ...extra,
    };
  }

  async withClient<T>(cfg: ClientConfig, fn: (c: Client) => Promise<T>): Promise<T> {
    const c = new Client(cfg);
    c.on('error', () => undefined);
    try {
      await c.connect();
      return await fn(c);
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  /** `pg_is_in_recovery()` of a member; 'down' when it does not answer within the timeout. */
  async role(member: string, timeoutMs = 1500): Promise<Role> {
    try {
      const rec = await this.withClient(
        this.superuser(member, { connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs }),
        async (c) => (await c.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]?.r,
      );
      return rec === false ? 'primary' : rec === true ? 'standby' : 'down';
    } catch {
      return 'down';
    }
  }

  /** application_name of every standby streaming from this member. */
  async streamingFrom(member: string): Promise<string[]> {
    return this.withClient(this.superuser(member, { query_timeout: 2000 }), async (c) =>
      (
        await c.query<{ n: string }>("SELECT application_name AS n FROM pg_stat_replication WHERE state = 'streaming'")
      ).rows.map((r) => r.n),
    );
  }

  async citusVersion(member: string): Promise<string> {
    return this.withClient(
      this.superuser(member),
      async (c) => (await c.query<{ v: string }>('SELECT citus_version() AS v')).rows[0]?.v ?? '?',
    );
  }

  // ---------------------------------------------------------------- Docker (the CLI, as an operator would)
  /** The pid of the supervised worker `up` started for this state dir, while it runs. */
  supervisedWorkerPid(): number | undefined {
    try {
      const pid = (
        JSON.parse(fs.readFileSync(path.join(this.stateDir, 'worker', 'worker.json'), 'utf8')) as { pid?: number }
      ).pid;
      if (!pid) return undefined;
      process.kill(pid, 0);
      return pid;
    } catch {
      return undefined;
    }
  }

  async docker(args: string[], timeoutMs = 60_000): Promise<string> {
    const { stdout } = await execFileP('docker', args, { timeout: timeoutMs });
    return stdout;
  }

  async containerState(member: string): Promise<ContainerState> {
    try {
      return (
        await this.docker(['inspect', '-f', '{{.State.Status}}', this.containerOf(member)])
      ).trim() as ContainerState;
    } catch {
      return 'missing';
    }
  }

  /** Every container labelled with this cluster, whatever its state (not only those the spec or Citus know). */
  async containers(): Promise<ClusterContainer[]> {
    const out = await this.docker([
      'ps',
      '-a',
      '--filter',
      `label=citusctl.cluster=${this.name}`,
      '--format',
      '{{.Names}}\t{{.Label "citusctl.member"}}\t{{.Label "citusctl.group"}}\t{{.State}}',
    ]);
    return out
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [name = '', member = '', group = '', state = ''] = l.split('\t');
        return { name, member, group, state: state as ContainerState };
      });
  }

  /** Last resort when `citusctl down --volumes` fails: removes what carries this cluster's label. */
  async removeByLabel(): Promise<string> {
    const label = `label=citusctl.cluster=${this.name}`;
    const ids = (kind: string[]) =>
      this.docker([...kind, '-q', '--filter', label]).then((o) => o.split('\n').filter(Boolean));
    const containers = await ids(['ps', '-a']);
    if (containers.length) await this.docker(['rm', '-f', ...containers]);
    const volumes = await ids(['volume', 'ls']);
    if (volumes.length) await this.docker(['volume', 'rm', '-f', ...volumes]);
    const networks = await ids(['network', 'ls']);
    if (networks.length) await this.docker(['network', 'rm', ...networks]);
    return `${containers.length} containers, ${volumes.length} volumes, ${networks.length} networks`;
  }
}
