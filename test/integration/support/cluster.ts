/**
 * Integration-test support: throwaway clusters driven through the real CLI (dist/client/cli.js),
 * and direct reads of the end state (PostgreSQL, etcd, Docker) that never go through citusctl.
 *
 * Every cluster gets its own temp directory (spec + state dir), its own ports and, when it uses
 * Temporal, its own embedded dev server port. Nothing here touches another cluster.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { temporalBinary } from '../../../lib/temporal-server';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import { Etcd3 } from 'etcd3';
import { Client } from 'pg';
import { stringify } from 'yaml';
import { parseSpec, type ClusterSpec, type ClusterSpecInput } from '../../../common/spec';
import { slotName } from '../../../common/topology';
import { etcdClientOptions } from '../../../lib/etcd-auth';
import { orchestratorTls, type ClientTls } from '../../../lib/tls/orchestrator-tls';
import { TlsStore } from '../../../lib/tls/tls-store';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const CLI = path.join(ROOT, 'dist', 'client', 'cli.js');
export const DEFAULT_TEMPORAL_CLI = temporalBinary() ?? 'temporal';
export const DOUBLE_PREFIX = 'Citus test double';

/** The test image rule: env first, the Citus test double otherwise; offline PgBouncer/etcd. */
export function testImages(): { postgres: string; pgbouncer: string; etcd: string } {
  return {
    postgres:
      process.env.CITUSCTL_IMAGE_POSTGRES ||
      process.env.CITUSCTL_TEST_IMAGE_POSTGRES ||
      'citusctl-test/postgres-citus-double:17',
    pgbouncer: process.env.CITUSCTL_IMAGE_PGBOUNCER || 'citusctl/pgbouncer:1',
    etcd: process.env.CITUSCTL_IMAGE_ETCD || 'citusctl/etcd:3.5',
  };
}

export function temporalCli(): string {
  return process.env.TEMPORAL_CLI_PATH || DEFAULT_TEMPORAL_CLI;
}

export const docker = new Docker();

export interface TestCluster {
  name: string;
  dir: string;
  specFile: string;
  stateDir: string;
  temporalPort: number;
  spec: ClusterSpec;
  env: NodeJS.ProcessEnv;
}

export interface LayoutOptions {
  name: string;
  /** Members get basePort.., then PgBouncer and etcd. Keep within 31000-31999. */
  basePort: number;
  temporalPort: number;
  rows: number;
  shardCount?: number;
  /** Coordinator standby (coord-b) as well as one standby per worker group. Default true. */
  coordinatorStandby?: boolean;
  /** Worker groups (default g1, g2), each with a primary -a and a standby -b. */
  workers?: string[];
}

/** Spec input for a layout: coord-a[, coord-b], <g>-a, <g>-b per worker group. */
export function layout(o: LayoutOptions): ClusterSpecInput {
  const workers = o.workers ?? ['g1', 'g2'];
  let port = o.basePort;
  const members: { name: string; group: string; port: number }[] = [
    { name: 'coord-a', group: 'coordinator', port: port++ },
  ];
  if (o.coordinatorStandby !== false) members.push({ name: 'coord-b', group: 'coordinator', port: port++ });
  for (const g of workers) {
    members.push({ name: `${g}-a`, group: g, port: port++ });
    members.push({ name: `${g}-b`, group: g, port: port++ });
  }
  return {
    name: o.name,
    durability: 'synchronous',
    workers,
    members,
    pgbouncer: { port: port++, poolMode: 'transaction' },
    etcd: { port: port++ },
    demo: { table: 'events', rows: o.rows, shardCount: o.shardCount ?? 8 },
  };
}

/** A temp dir with the spec file and a fresh state dir; env for the CLI pointing at both. */
export function makeCluster(input: ClusterSpecInput, temporalPort: number): TestCluster {
  const spec = parseSpec(input);
  removeLeftovers(spec.name);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `citusctl-${spec.name}-`));
  const specFile = path.join(dir, 'spec.yaml');
  fs.writeFileSync(specFile, stringify(input));
  const stateDir = path.join(dir, 'state');
  fs.mkdirSync(stateDir, { recursive: true });
  const images = testImages();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CITUSCTL_STATE_DIR: stateDir,
    CITUSCTL_TEMPORAL_PORT: String(temporalPort),
    TEMPORAL_CLI_PATH: temporalCli(),
    CITUSCTL_IMAGE_POSTGRES: images.postgres,
    CITUSCTL_IMAGE_PGBOUNCER: images.pgbouncer,
    CITUSCTL_IMAGE_ETCD: images.etcd,
  };
  delete env.TEMPORAL_ADDRESS; // always the embedded dev server on our own port
  return { name: spec.name, dir, specFile, stateDir, temporalPort, spec, env };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function describeRun(r: CliResult): string {
  return (
    `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\n--- stdout ---\n${r.stdout.slice(-6000)}\n--- stderr ` +
    `---\n${r.stderr.slice(-6000)}`
  );
}

export interface CliRun {
  child: ChildProcess;
  /** Resolves with the first stdout/stderr line matching re (rejects if the process ends first). */
  waitForLine(re: RegExp): Promise<string>;
  done: Promise<CliResult>;
}

/** Spawns `node dist/client/cli.js <args>`; killed (SIGKILL) after timeoutMs so a hang fails the test. */
/**
 * Tests drive failovers, stops and kills themselves: their `up` runs without the self-healing
 * monitor (and its supervised worker) unless the test opts in with `withMonitor(c)`.
 */
const MONITOR_OPT_IN = 'CITUSCTL_TEST_MONITOR';
export function withMonitor(c: TestCluster): TestCluster {
  c.env[MONITOR_OPT_IN] = '1';
  return c;
}

export function startCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 8 * 60_000): CliRun {
  const argv = args[0] === 'up' && env[MONITOR_OPT_IN] !== '1' ? [...args, '--no-monitor'] : args;
  const child = spawn(process.execPath, [CLI, ...argv], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: { re: RegExp; resolve: (l: string) => void; reject: (e: Error) => void }[] = [];
  const lines: string[] = [];
  let partial = { out: '', err: '' };
  const onLine = (line: string) => {
    lines.push(line);
    for (const w of [...waiters]) {
      if (w.re.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  const feed = (which: 'out' | 'err', chunk: Buffer) => {
    const text = partial[which] + chunk.toString('utf8');
    const parts = text.split('\n');
    partial = { ...partial, [which]: parts.pop() ?? '' };
    parts.forEach(onLine);
  };
  child.stdout!.on('data', (c: Buffer) => {
    stdout += c.toString('utf8');
    feed('out', c);
  });
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
    feed('err', c);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (partial.out) onLine(partial.out);
      if (partial.err) onLine(partial.err);
      const result = { code, signal, stdout, stderr };
      for (const w of waiters.splice(0))
        w.reject(new Error(`process ended before a line matched ${w.re}: ${describeRun(result)}`));
      resolve(result);
    });
  });
  return {
    child,
    done,
    waitForLine(re) {
      const seen = lines.find((l) => re.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      if (child.exitCode !== null || child.signalCode !== null)
        return Promise.reject(new Error(`process already ended; no line matched ${re}`));
      return new Promise((resolve, reject) => waiters.push({ re, resolve, reject }));
    },
  };
}

export function runCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs?: number): Promise<CliResult> {
  return startCli(args, env, timeoutMs).done;
}

/**
 * The temporal CLI against a test's embedded server (127.0.0.1:port), as a user of the Temporal UI would act; killed
 * after timeoutMs so a hang fails.
 */
export function temporalOn(
  port: number,
  defaultTimeoutMs: number,
): (args: string[], timeoutMs?: number) => Promise<CliResult> {
  return (args, timeoutMs = defaultTimeoutMs) =>
    new Promise((resolve) => {
      const child = spawn(temporalCli(), [...args, '--address', `127.0.0.1:${port}`], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
    });
}

/** The report of `up --json` (the parts the tests read). */
export interface UpJson {
  ok: boolean;
  workflowId: string;
  runId: string;
  attached: boolean;
  steps: { name: string; state: string; detail?: string }[];
  result: {
    cluster: string;
    primaries: { coordinator: string; workers: Record<string, string> };
    workersAdded: string[];
    demoRowsInserted: number;
    demoRowsThroughPgBouncer: number;
  };
  pgpass: string;
}

/** `citusctl up --json`; fails the test (with the CLI's output) unless it exits 0. */
export async function upJson(c: TestCluster, extra: string[] = []): Promise<UpJson> {
  const r = await runCli(['up', '--json', '-c', c.specFile, ...extra], c.env);
  if (r.code !== 0) throw new Error(`citusctl up failed: ${describeRun(r)}`);
  try {
    return JSON.parse(r.stdout) as UpJson;
  } catch {
    throw new Error(`citusctl up --json printed no single JSON document: ${describeRun(r)}`);
  }
}

/**
 * `citusctl down --volumes --backups` (a test leaves no backup repository behind), then stops the
 * embedded Temporal server we started (by its pid).
 */
export async function destroyCluster(
  c: TestCluster,
  opts: { stopTemporal?: boolean; removeDir?: boolean } = {},
): Promise<void> {
  const r = await runCli(['down', '--volumes', '--backups', '--json', '-c', c.specFile], c.env, 120_000).catch(
    (e: Error) => ({
      code: -1,
      signal: null,
      stdout: '',
      stderr: e.message,
    }),
  );
  if (r.code !== 0) console.error(`[cleanup] down --volumes for ${c.name} failed: ${describeRun(r as CliResult)}`);
  // Belt and braces: anything still labelled for this cluster goes too.
  await removeLabelled(c.name);
  await stopSupervisedWorker(c.stateDir); // before Temporal: the supervisor would start it again
  if (opts.stopTemporal !== false) await stopTemporal(c.stateDir);
  if (opts.removeDir !== false) fs.rmSync(c.dir, { recursive: true, force: true });
}

export async function removeLabelled(cluster: string): Promise<void> {
  const filters = { label: [`citusctl.cluster=${cluster}`] };
  for (const ct of await docker.listContainers({ all: true, filters }))
    await docker
      .getContainer(ct.Id)
      .remove({ force: true })
      .catch(() => undefined);
  for (const n of await docker.listNetworks({ filters }))
    await docker
      .getNetwork(n.Id)
      .remove()
      .catch(() => undefined);
  const { Volumes } = await docker.listVolumes({ filters });
  for (const v of Volumes ?? [])
    await docker
      .getVolume(v.Name)
      .remove()
      .catch(() => undefined);
}

/** Stops the supervised worker `up` started for this state dir (supervisor first, then its worker). */
export async function stopSupervisedWorker(stateDir: string): Promise<void> {
  for (const file of ['supervisor.json', 'worker.json']) {
    const p = path.join(stateDir, 'worker', file);
    if (!fs.existsSync(p)) continue;
    const pid = Number((JSON.parse(fs.readFileSync(p, 'utf8')) as { pid?: number }).pid);
    if (pid) await terminate(pid, 15_000);
  }
}

/** SIGTERM, then SIGKILL after graceMs if the process still runs. */
export async function terminate(pid: number, graceMs: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  for (let i = 0; i < graceMs / 100 && alive(pid); i++) await sleep(100);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops the embedded dev server the CLI started for this state dir (pid file written by citusctl). */
export async function stopTemporal(stateDir: string): Promise<void> {
  const pidFile = path.join(stateDir, 'temporal', 'server.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  if (!pid) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  for (let i = 0; i < 50; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * A run that was killed (a CI timeout, a developer's Ctrl-C) skips its cleanup; its volumes would
 * hand the next run of the same test an etcd secured with another run's password. Each test
 * cluster therefore starts by removing whatever is still labelled with its (test-only) name.
 */
function removeLeftovers(cluster: string): void {
  const label = `label=citusctl.cluster=${cluster}`;
  const ids = (args: string[]) =>
    spawnSync('docker', args, { encoding: 'utf8', timeout: 30_000 }).stdout?.split('\n').filter(Boolean) ?? [];
  const containers = ids(['ps', '-aq', '--filter', label]);
  if (containers.length) spawnSync('docker', ['rm', '-f', ...containers], { timeout: 60_000 });
  const volumes = ids(['volume', 'ls', '-q', '--filter', label]);
  if (volumes.length) spawnSync('docker', ['volume', 'rm', '-f', ...volumes], { timeout: 60_000 });
  const networks = ids(['network', 'ls', '-q', '--filter', label]);
  if (networks.length) spawnSync('docker', ['network', 'rm', ...networks], { timeout: 60_000 });
  if (containers.length + volumes.length + networks.length) {
    console.log(
      `[setup] removed leftovers of an earlier run of ${cluster}: ${containers.length} containers, ` +
        `${volumes.length} volumes, ${networks.length} networks`,
    );
  }
}

/** Docker objects labelled for the cluster. */
export async function labelledObjects(
  cluster: string,
): Promise<{ containers: string[]; networks: string[]; volumes: string[] }> {
  const filters = { label: [`citusctl.cluster=${cluster}`] };
  const containers = (await docker.listContainers({ all: true, filters })).map((c) => c.Names[0] ?? c.Id);
  const networks = (await docker.listNetworks({ filters })).map((n) => n.Name);
  const volumes = ((await docker.listVolumes({ filters })).Volumes ?? []).map((v) => v.Name);
  return { containers, networks, volumes };
}

// ------------------------------------------------------------------ secrets and PostgreSQL

export interface Secrets {
  superuserPassword: string;
  replicationPassword: string;
  appPassword: string;
  appScramVerifier: string;
  etcdRootPassword: string;
  pgbouncerAdminPassword: string;
  pgbouncerAdminScramVerifier: string;
}

export function readSecrets(c: TestCluster): Secrets {
  return JSON.parse(fs.readFileSync(path.join(c.stateDir, 'clusters', c.name, 'secrets.json'), 'utf8')) as Secrets;
}

/** The cluster's trust bundle (sslrootcert). */
export function caPath(c: TestCluster): string {
  return path.join(c.stateDir, 'clusters', c.name, 'tls', 'ca.crt');
}

/** pg's ssl options for verify-full to a member (its name as the TLS server name: the address is 127.0.0.1). */
export function memberSsl(c: TestCluster, member: string): { ca: string; servername: string } {
  return { ca: fs.readFileSync(caPath(c), 'utf8'), servername: member };
}

/** Password for host:port:db:user from a pgpass file (with \: and \\ escapes). */
export function pgpassLookup(file: string, port: number, user: string, database = 'postgres'): string | undefined {
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const fields: string[] = [];
    let cur = '';
    for (let i = 0; i < line.length; i++) {
      const ch = line[i]!;
      if (ch === '\\' && i + 1 < line.length) cur += line[++i];
      else if (ch === ':') {
        fields.push(cur);
        cur = '';
      } else cur += ch;
    }
    fields.push(cur);
    const [h, p, d, u, pw] = fields;
    const match = (pattern: string | undefined, value: string) => pattern === '*' || pattern === value;
    if (match(h, '127.0.0.1') && match(p, String(port)) && match(d, database) && match(u, user)) return pw;
  }
  return undefined;
}

export async function withPg<T>(
  port: number,
  user: string,
  password: string,
  fn: (c: Client) => Promise<T>,
  ssl?: { ca: string; servername: string },
): Promise<T> {
  const client = new Client({
    host: '127.0.0.1',
    port,
    user,
    password,
    ...(ssl ? { ssl } : {}),
    database: 'postgres',
    connectionTimeoutMillis: 5000,
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function memberPort(c: TestCluster, member: string): number {
  const m = c.spec.members.find((x) => x.name === member);
  if (!m) throw new Error(`no member ${member}`);
  return m.port;
}

export async function su<T>(c: TestCluster, member: string, fn: (client: Client) => Promise<T>): Promise<T> {
  return withPg(memberPort(c, member), 'postgres', readSecrets(c).superuserPassword, fn, memberSsl(c, member));
}

export async function citusVersion(c: TestCluster, member = 'coord-a'): Promise<string> {
  return su(c, member, async (cl) => (await cl.query<{ v: string }>('SELECT citus_version() AS v')).rows[0]!.v);
}

export const isDouble = (version: string) => version.startsWith(DOUBLE_PREFIX);

export function logCitus(version: string, where: string): void {
  console.log(`[citus under test] ${version} (${where}; image ${testImages().postgres})`);
}

/**
 * citus_version() of an image without a cluster: a throwaway container (docker run --rm) runs
 * initdb, starts PostgreSQL with citus preloaded and asks. Synchronous so a test file can decide
 * at load time which tests apply (jest cannot skip from inside a running test).
 */
export function citusVersionOfImage(image: string): string {
  const inner =
    'initdb -D /tmp/pgd -U postgres >/dev/null; ' +
    'pg_ctl -D /tmp/pgd -l /tmp/pgd.log ' +
    '-o "-c shared_preload_libraries=citus -c listen_addresses= -c unix_socket_directories=/tmp" ' +
    '-w start >/dev/null; ' +
    'psql -h /tmp -U postgres -d postgres -qAt -c "CREATE EXTENSION citus" -c "SELECT citus_version()"';
  const script = [
    'set -e',
    'export PATH=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1):$PATH',
    'mkdir -p /tmp/pgd && chown postgres /tmp/pgd',
    `setpriv --reuid=postgres --regid=postgres --init-groups sh -ec '${inner}'`,
  ].join('\n');
  const r = spawnSync(
    'docker',
    ['run', '--rm', '--label', 'citusctl.it-probe=true', '--user', '0', '--entrypoint', 'sh', image, '-c', script],
    { encoding: 'utf8', timeout: 120_000 },
  );
  if (r.status !== 0)
    throw new Error(`citus_version() probe in ${image} failed (exit ${r.status}): ${r.stdout}${r.stderr}`);
  return r.stdout.trim().split('\n').pop() ?? '';
}

// ------------------------------------------------------------------ etcd

/** citusctl's client certificate and the cluster's trust bundle, from the cluster's state dir. */
export const clusterEtcdTls = (c: TestCluster): ClientTls | undefined =>
  orchestratorTls(new TlsStore(c.stateDir), c.name);

export async function withEtcd<T>(c: TestCluster, fn: (etcd: Etcd3) => Promise<T>): Promise<T> {
  // etcd requires TLS with the cluster's client certificate and the root user's password.
  const etcd = new Etcd3(
    etcdClientOptions(c.spec.etcd.port, { tls: clusterEtcdTls(c), password: readSecrets(c).etcdRootPassword }),
  );
  try {
    return await fn(etcd);
  } finally {
    etcd.close();
  }
}

export const topologyKey = (cluster: string) => `/citusctl/${cluster}/topology`;
export const primaryKey = (cluster: string, group: string) => `/citusctl/${cluster}/groups/${group}/primary`;

export function etcdKeys(c: TestCluster): string[] {
  return [topologyKey(c.name), ...['coordinator', ...c.spec.workers].map((g) => primaryKey(c.name, g))];
}

// ------------------------------------------------------------------ topology from the spec

export function groupMembers(c: TestCluster, group: string): string[] {
  return c.spec.members.filter((m) => m.group === group).map((m) => m.name);
}

/** Initial primaries (first member of each group) and their standbys. */
export function topology(c: TestCluster) {
  const groups = ['coordinator', ...c.spec.workers].map((g) => {
    const [primary, ...standbys] = groupMembers(c, g);
    return { group: g, primary: primary!, standbys };
  });
  return { groups, coordinator: groups[0]!.primary, workers: groups.slice(1) };
}

export { slotName };
