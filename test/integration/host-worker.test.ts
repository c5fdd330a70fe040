/**
 * `citusctl worker --host NAME` runs the activities sent to that host's task queue against that
 * host's engine, and `status` shows the host's engine and worker.
 *
 * The spec's host h1 is a tcp:// engine over mutual TLS. Until simulated hosts (a dockerd per
 * container) exist, a TLS front built here stands where a TLS-serving engine would: it requires a
 * client certificate of the test CA and passes the bytes on to the local Docker engine (the real
 * one answers), noting each request line it carries. Host h2 names a socket that does not exist: its
 * engine is unreachable and no worker polls its queue. A test workflow sends `resolveImages` (an
 * activity that inspects the cluster's images on the engine) to h1's queue: the request lines show
 * it went through h1's endpoint, with h1's client certificate.
 * Then on a simulated host (test/sim-hosts/: its own dockerd over mutual TLS, network
 * citusctl-test-hosts-it-hw on 10.218.19.0/24): an image tagged on that host only is resolved by an
 * activity sent to its queue, which only its engine can answer.
 * Ports: Temporal dev server 31943 (UI 32943); the TLS front on a free port. No cluster container is created.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Worker } from '@temporalio/worker';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { connectClient } from '../../client/temporal-client';
import { parseSpec, type ClusterSpec } from '../../common/spec';
import { TASK_QUEUE, hostTaskQueue, taskQueueForMember } from '../../common/task-queues';
import { placeCluster } from '../../common/placement';
import { queuePollers } from '../../lib/monitor-handoff';
import { ensureTemporal, type TemporalEndpoint } from '../../lib/temporal-server';
import { createCa, issueCertificate } from '../../lib/tls/x509';
import { connectWorker } from '../../worker/run-worker';
import { CLI, ROOT, docker, runCli, sleep, stopTemporal, temporalCli, terminate, testImages } from './support/cluster';
import { removeSimHosts, startSimHosts, type SimHost } from './support/sim-hosts';

jest.setTimeout(4 * 60_000);

const TEMPORAL_PORT = 31943;
const TEST_QUEUE = 'citusctl-test-host-worker';

let dir: string;
let stateRoot: string;
let endpoint: TemporalEndpoint;
let spec: ClusterSpec;
let specFile: string;
let front: tls.Server;
let workerProcess: ChildProcess | undefined;
let workerLog = '';
let simWorker: ChildProcess | undefined;
const SIM_SUFFIX = 'it-hw';
const SIM_SUBNET = '10.218.19.0/24';
const SIM_BASE_IMAGE = 'citusctl/pgbouncer:1';
/** A tag only the simulated host has: found there, absent here. */
const SIM_ONLY_IMAGE = 'citusctl-test/on-sim-host-only:1';
/** Request lines the TLS front carried to the engine, and the client certificates it accepted. */
const carried: string[] = [];
const clientNames: string[] = [];

const env = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: path.join(dir, 'home'),
  CITUSCTL_STATE_DIR: stateRoot,
  CITUSCTL_TEMPORAL_PORT: String(TEMPORAL_PORT),
  TEMPORAL_CLI_PATH: temporalCli(),
});

/** Mutual TLS in front of the local engine's socket. */
async function startFront(server: { certPem: string; keyPem: string }, caPem: string): Promise<number> {
  front = tls.createServer(
    { cert: server.certPem, key: server.keyPem, ca: caPem, requestCert: true, rejectUnauthorized: true },
    (socket) => {
      clientNames.push(String(socket.getPeerCertificate().subject?.CN));
      const engine = net.connect('/var/run/docker.sock');
      socket.on('data', (d: Buffer) => {
        for (const line of d.toString('latin1').split('\r\n'))
          if (/^(GET|POST|PUT|DELETE|HEAD) \//.test(line)) carried.push(line);
      });
      socket.pipe(engine).pipe(socket);
      socket.on('error', () => engine.destroy());
      engine.on('error', () => socket.destroy());
    },
  );
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  return (front.address() as net.AddressInfo).port;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'citusctl-it-host-worker-'));
  fs.mkdirSync(path.join(dir, 'home'));
  stateRoot = path.join(dir, 'state');
  const ca = await createCa('host worker test CA', 2);
  const server = await issueCertificate(ca, {
    commonName: 'engine-h1',
    usages: ['server'],
    ipAddresses: ['127.0.0.1'],
    days: 1,
  });
  const client = await issueCertificate(ca, { commonName: 'citusctl-on-h1', usages: ['client'], days: 1 });
  const file = (name: string, text: string) => {
    fs.writeFileSync(path.join(dir, name), text, { mode: 0o600 });
    return path.join(dir, name);
  };
  const tlsFiles = {
    caFile: file('ca.pem', ca.certPem),
    certFile: file('cert.pem', client.certPem),
    keyFile: file('key.pem', client.keyPem),
  };
  const port = await startFront(server, ca.certPem);
  const input = {
    name: 'hostwk',
    images: testImages(),
    workers: ['g1'],
    members: [
      { name: 'coord-a', group: 'coordinator', port: 31944 },
      { name: 'coord-b', group: 'coordinator', port: 31945 },
      { name: 'g1-a', group: 'g1', port: 31946 },
      { name: 'g1-b', group: 'g1', port: 31947 },
    ],
    pgbouncer: { port: 31948 },
    etcd: { port: 31949 },
    backup: { enabled: false },
    hosts: [
      { name: 'h1', endpoint: `tcp://127.0.0.1:${port}`, tls: tlsFiles },
      { name: 'h2', endpoint: `unix://${path.join(dir, 'no-such-engine.sock')}`, address: '127.0.0.2' },
    ],
  };
  spec = parseSpec(input);
  specFile = file('cluster.yaml', JSON.stringify(input));
  endpoint = await ensureTemporal(stateRoot, env());
});

afterAll(async () => {
  if (workerProcess?.pid) await terminate(workerProcess.pid, 15_000);
  if (simWorker?.pid) await terminate(simWorker.pid, 15_000);
  await removeSimHosts(SIM_SUFFIX, { keepImages: process.env.CITUSCTL_SIM_HOSTS_KEEP !== '0' });
  front?.close();
  if (stateRoot) await stopTemporal(stateRoot);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('citusctl worker --host', () => {
  it('an unknown host is refused, naming the hosts there are', async () => {
    const r = await runCli(['worker', '--host', 'h9', '-c', specFile], env(), 60_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--host h9: cluster hostwk has no such host (hosts: h1, h2)');
  });

  it("polls its host's queue only, and reaches its engine through mutual TLS", async () => {
    workerProcess = spawn(process.execPath, [CLI, 'worker', '--host', 'h1', '-c', specFile], {
      env: env(),
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    workerProcess.stdout!.on('data', (d: Buffer) => (workerLog += d.toString()));
    workerProcess.stderr!.on('data', (d: Buffer) => (workerLog += d.toString()));
    for (let i = 0; i < 1200 && !workerLog.includes('task queue') && workerProcess.exitCode === null; i++)
      await sleep(100);
    expect(workerLog).toContain(`task queue "citusctl-host-h1" on 127.0.0.1:${TEMPORAL_PORT}`);
    expect(workerLog).toContain(`engine ${spec.hosts![0]!.endpoint} reachable`);
    expect(clientNames).toContain('citusctl-on-h1');
    expect(carried.some((l) => /^(GET|HEAD) \/(v[\d.]+\/)?_ping /.test(l))).toBe(true);
    // Temporal sees it on the host's activity queue, and not on the shared queue.
    const { client, close } = await connectClient(endpoint, 10_000, env());
    try {
      let pollers: { identity?: string }[] = [];
      for (let i = 0; i < 100 && !pollers.length; i++) {
        pollers = await queuePollers(client, hostTaskQueue('h1'), 'activity');
        if (!pollers.length) await sleep(100);
      }
      expect(pollers.map((p) => p.identity)).toEqual([`citusctl-host-worker@h1/${workerProcess.pid}`]);
      const shared = await queuePollers(client, TASK_QUEUE, 'activity');
      expect(shared.map((p) => p.identity)).not.toContain(`citusctl-host-worker@h1/${workerProcess.pid}`);
    } finally {
      await close();
    }
    // No key material on its command line: the spec names the files, the worker reads them.
    expect(fs.readFileSync(`/proc/${workerProcess.pid}/cmdline`, 'utf8')).not.toMatch(/BEGIN|\.pem/);
  });

  it("an activity sent to a member's queue runs on that member's host, through its engine", async () => {
    const placed = placeCluster(spec);
    const member = spec.members.find((m) => placed.members[m.name] === 'h1')!;
    const queue = taskQueueForMember(spec, member.name);
    expect(queue).toBe('citusctl-host-h1');
    const before = carried.length;
    const result = await resolveImagesVia(queue, spec);
    expect(result.images).toEqual(testImages());
    expect(Object.values(result.sources)).toEqual(['present', 'present', 'present']);
    // The image inspections went through h1's endpoint (the TLS front), one per image at least.
    const inspected = carried.slice(before).filter((l) => /^GET \/(v[\d.]+\/)?images\/.+\/json /.test(l));
    for (const image of Object.values(testImages()))
      expect(inspected.some((l) => decodeURIComponent(l).includes(image))).toBe(true);
    // The worker logged nothing of an error meanwhile.
    expect(workerLog).not.toMatch(/error/i);
  });

  it('status shows each host: engine, worker and what runs there', async () => {
    const r = await runCli(['status', '-c', specFile, '--json'], env(), 120_000);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      hosts: {
        hosts: { name: string; engine: { reachable: boolean }; workerPolling?: boolean; members: string[] }[];
      };
    };
    const [h1, h2] = report.hosts.hosts;
    expect(h1).toMatchObject({ name: 'h1', engine: { reachable: true }, workerPolling: true });
    expect(h2).toMatchObject({ name: 'h2', engine: { reachable: false }, workerPolling: false });
    expect([...h1!.members, ...h2!.members].sort()).toEqual(['coord-a', 'coord-b', 'g1-a', 'g1-b']);
    expect(r.stdout).not.toContain('BEGIN');
    const human = await runCli(['status', '-c', specFile], env(), 120_000);
    expect(human.stdout).toMatch(
      /h1 +tcp:\/\/127\.0\.0\.1:\d+ \(address 127\.0\.0\.1\): engine reachable; worker polls/,
    );
    expect(human.stdout).toContain('NO WORKER polls citusctl-host-h2');
  });
});

/** Runs the test workflow: resolveImages of `on` sent to `queue`. */
async function resolveImagesVia(queue: string, on: ClusterSpec) {
  const connection = await connectWorker(endpoint, env());
  const worker = await Worker.create({
    connection,
    namespace: endpoint.namespace,
    taskQueue: TEST_QUEUE,
    workflowsPath: require.resolve('./support/host-queue-workflow'),
  });
  const { client, close } = await connectClient(endpoint, 10_000, env());
  try {
    return await worker.runUntil(
      client.workflow.execute('resolveImagesOn', {
        taskQueue: TEST_QUEUE,
        workflowId: `host-worker-test-${Date.now()}`,
        args: [queue, on],
      }),
    );
  } finally {
    await close();
    await connection.close();
  }
}

describe('citusctl worker --host on a simulated host', () => {
  let sim: SimHost;

  beforeAll(async () => {
    sim = (await startSimHosts({ suffix: SIM_SUFFIX, count: 1, subnet: SIM_SUBNET, images: [SIM_BASE_IMAGE] }))[0]!;
    const [repo, tag] = SIM_ONLY_IMAGE.split(':') as [string, string];
    await sim.docker.getImage(SIM_BASE_IMAGE).tag({ repo, tag });
  }, 10 * 60_000);

  it("resolves an image only that host has: the activity ran on the host's engine", async () => {
    // Not here: resolved at all, it was resolved there.
    await expect(docker.getImage(SIM_ONLY_IMAGE).inspect()).rejects.toMatchObject({ statusCode: 404 });
    const input = {
      name: 'hostwk-sim',
      images: { postgres: SIM_ONLY_IMAGE, pgbouncer: SIM_ONLY_IMAGE, etcd: SIM_ONLY_IMAGE },
      workers: ['g1'],
      members: [
        { name: 'coord-a', group: 'coordinator', port: 31944, host: 's1' },
        { name: 'g1-a', group: 'g1', port: 31945, host: 's1' },
      ],
      pgbouncer: { port: 31948 },
      etcd: { port: 31949 },
      backup: { enabled: false },
      hosts: [
        {
          name: 's1',
          endpoint: sim.endpoint,
          tls: {
            caFile: path.join(sim.tlsDir, 'ca.pem'),
            certFile: path.join(sim.tlsDir, 'cert.pem'),
            keyFile: path.join(sim.tlsDir, 'key.pem'),
          },
        },
        { name: 's2', endpoint: 'ssh://nobody@127.0.0.3' },
      ],
    };
    const simSpec = parseSpec(input);
    const file = path.join(dir, 'sim-cluster.yaml');
    fs.writeFileSync(file, JSON.stringify(input));
    let log = '';
    simWorker = spawn(process.execPath, [CLI, 'worker', '--host', 's1', '-c', file], {
      env: env(),
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    simWorker.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    simWorker.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    for (let i = 0; i < 1200 && !log.includes('task queue') && simWorker.exitCode === null; i++) await sleep(100);
    expect(log).toContain(`engine ${sim.endpoint} reachable`);
    const result = await resolveImagesVia(taskQueueForMember(simSpec, 'g1-a'), simSpec);
    expect(result.images).toEqual(input.images);
    expect(Object.values(result.sources)).toEqual(['present', 'present', 'present']);
    expect(log).not.toMatch(/error/i);
  });
});
