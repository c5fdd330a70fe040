/**
 * The host worker's self-fence loop (worker/self-fence-loop.ts) against real parts: two simulated
 * Docker hosts (support/sim-hosts.ts), a PostgreSQL on h1 labelled as member g1-a of cluster
 * it-sfence and named its group's primary in a real etcd, a PostgreSQL on h2 standing for the other
 * host's members. The loop runs in this process as h1's worker would on h1:
 *  - its engine client reaches h1's dockerd over a second network that a partition leaves alone
 *    (on a real host that is the local socket, which no network cut reaches);
 *  - its etcd client and its peer probes go through forwarders inside h1 (perl, listening on that
 *    second network), so they leave h1 by h1's own hosts-network interface: a partition of h1
 *    (`docker network disconnect`) cuts them as it cuts h1's worker from etcd and h2.
 * Partition h1 -> the loop kills g1-a's container on h1 and records the fence in its journal and the
 * member's volume, in that order; heal -> etcd's state of g1-a reads `fenced`. Negative: etcd killed
 * (docker kill) while h1 still reaches h2 -> nothing is stopped over three fence deadlines. Only the
 * order of events is asserted; the durations are printed.
 * Networks: hosts citusctl-test-hosts-it-sfence 10.218.41.0/24, control citusctl-test-sfence-ctl
 * 10.218.42.0/24; etcd container citusctl-test-sfence-etcd at 10.218.41.30; PostgreSQL on h2 published
 * on 31970. Needs Docker able to run the simulated hosts (their image is built when missing).
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkServerIdentity } from 'node:tls';
import { noop } from 'cockatiel';
import Docker from 'dockerode';
import { Etcd3 } from 'etcd3';
import { extract } from 'tar-stream';
import type { ActivityDeps } from '../../activities/deps';
import { writeVolumeState } from '../../activities/members/state';
import { memberStateKey, primaryKey } from '../../common/etcd-keys';
import { resolveHosts } from '../../common/hosts';
import { LABEL_CLUSTER, LABEL_GROUP, LABEL_MEMBER } from '../../common/labels';
import { parseMemberState } from '../../common/member-state';
import { SELF_FENCE_TIMINGS, fenceAfterMs, peerTargets } from '../../common/self-fence';
import { parseSpec } from '../../common/spec';
import { containerName, volumeName } from '../../common/topology';
import { PG_VOLUME_TARGET } from '../../lib/docker/node-containers';
import { startSelfFenceLoop, type SelfFenceEvent, type SelfFenceLoop } from '../../worker/self-fence-loop';
import { placedMembers } from '../../worker/self-fence-start';
import { testImages } from './support/cluster';
import {
  healHost,
  partitionHost,
  removeSimHosts,
  simHostSpecs,
  startSimHosts,
  subnetAddress,
  type SimHost,
} from './support/sim-hosts';

jest.setTimeout(15 * 60_000);

const CLUSTER = 'it-sfence';
const SUFFIX = 'it-sfence';
const SUBNET = '10.218.41.0/24';
const CTL_SUBNET = '10.218.42.0/24';
const CTL_NETWORK = 'citusctl-test-sfence-ctl';
const ETCD_NAME = 'citusctl-test-sfence-etcd';
const ETCD_ADDRESS = subnetAddress(SUBNET, 30);
const PEER_PG_PORT = 31970;
const FWD_ETCD = 23790;
const FWD_PEER = 23791;
const IMAGE = testImages().postgres;
const KEEP_IMAGES = process.env.CITUSCTL_SIM_HOSTS_KEEP !== '0';
const DEADLINE = fenceAfterMs(SELF_FENCE_TIMINGS);

const outer = new Docker();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => console.log(`[self-fence.test] ${line}`);

let hosts: SimHost[] = [];
let h1ctl: Docker; // h1's engine as its own worker reaches it
let etcd: Etcd3; // the test's own view of etcd (from this machine, never cut)
let loopEtcd: Etcd3; // the loop's, through h1
let loop: SelfFenceLoop | undefined;
let journalDir: string;
const events: Array<SelfFenceEvent & { t: number }> = [];

const spec = () =>
  parseSpec({
    name: CLUSTER,
    hosts: simHostSpecs(hosts),
    workers: ['g1'],
    members: [
      { name: 'coord-a', group: 'coordinator', port: PEER_PG_PORT, host: 'h2' },
      { name: 'g1-a', group: 'g1', port: 31972, host: 'h1' },
      { name: 'g1-b', group: 'g1', port: 31971, host: 'h2' },
    ],
    etcd: { port: 31973 },
  });

/** PostgreSQL with trust auth in a container (data in the container), reachability only. */
const pgScript = [
  'set -e',
  '[ -f /tmp/pg/PG_VERSION ] || { initdb -D /tmp/pg -A trust -U postgres >/dev/null;',
  "  echo 'host all all 0.0.0.0/0 trust' >> /tmp/pg/pg_hba.conf; }",
  `exec postgres -D /tmp/pg -c listen_addresses='*' -p 5432`,
].join('\n');

/** A TCP forwarder: each accepted connection is relayed to host:port (connected after the accept). */
const FORWARDER = [
  'use IO::Socket::INET; use IO::Select;',
  'my ($lp, $dh, $dp) = @ARGV; $SIG{CHLD} = "IGNORE";',
  'my $l = IO::Socket::INET->new(LocalAddr => "0.0.0.0", LocalPort => $lp, Listen => 64, ReuseAddr => 1) or die "$!";',
  'while (my $c = $l->accept) { if (fork) { close $c; next }',
  '  my $u = IO::Socket::INET->new(PeerAddr => $dh, PeerPort => $dp, Timeout => 1) or exit;',
  '  my $s = IO::Select->new($c, $u);',
  '  while (my @r = $s->can_read) { for my $h (@r) { my $n = sysread($h, my $b, 65536);',
  '    exit unless $n; syswrite($h == $c ? $u : $c, $b) } } }',
].join('\n');

async function startForwarder(host: SimHost, listenPort: number, to: string, toPort: number): Promise<void> {
  const exec = await outer.getContainer(host.name).exec({
    Cmd: ['perl', '-e', FORWARDER, String(listenPort), to, String(toPort)],
    AttachStdout: false,
    AttachStderr: false,
  });
  await exec.start({ Detach: true });
}

/** Runs a command in the simulated host's own container (through this machine's engine, not the network). */
async function execIn(host: SimHost, cmd: string[]): Promise<void> {
  const exec = await outer.getContainer(host.name).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  await new Promise((resolve) => {
    stream.on('end', resolve);
    stream.resume();
  });
  const { ExitCode } = (await exec.inspect()) as { ExitCode: number | null };
  if (ExitCode !== 0) throw new Error(`${cmd.join(' ')} in ${host.name}: exit ${ExitCode}`);
}

async function removeQuietly(c: Docker.Container): Promise<void> {
  await c.remove({ force: true, v: true }).catch(() => undefined);
}

async function startEtcd(): Promise<void> {
  await removeQuietly(outer.getContainer(ETCD_NAME));
  await outer.createContainer({
    name: ETCD_NAME,
    Image: testImages().etcd,
    Labels: { 'citusctl.it-probe': 'true' },
    Entrypoint: ['etcd'],
    Cmd: [
      '--name=etcd',
      '--data-dir=/tmp/etcd',
      '--listen-client-urls=http://0.0.0.0:2379',
      `--advertise-client-urls=http://${ETCD_ADDRESS}:2379`,
      '--listen-peer-urls=http://127.0.0.1:2380',
      '--initial-advertise-peer-urls=http://127.0.0.1:2380',
      '--initial-cluster=etcd=http://127.0.0.1:2380',
      '--log-level=warn',
    ],
    HostConfig: { NetworkMode: hosts[0]!.network },
    NetworkingConfig: { EndpointsConfig: { [hosts[0]!.network]: { IPAMConfig: { IPv4Address: ETCD_ADDRESS } } } },
  });
  await outer.getContainer(ETCD_NAME).start();
}

const etcdClient = (address: string, port: number) =>
  new Etcd3({
    hosts: `http://${address}:${port}`,
    dialTimeout: 1000,
    faultHandling: { host: () => noop, global: noop },
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + 2000 }),
    // As the product's clients (lib/etcd-auth.ts): back within 2 s of etcd reachable again.
    grpcOptions: { 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 2_000 },
  });

async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`not within ${timeoutMs} ms: ${what}`);
}

async function running(docker: Docker, name: string): Promise<boolean> {
  return ((await docker.getContainer(name).inspect()) as { State: { Running: boolean } }).State.Running;
}

/** member.state in g1-a's volume, read through its (stopped) container. */
async function volumeState(): Promise<string> {
  const archive = await h1ctl
    .getContainer(containerName(CLUSTER, 'g1-a'))
    .getArchive({ path: `${PG_VOLUME_TARGET}/member.state` });
  const ex = extract();
  return new Promise((resolve, reject) => {
    let text = '';
    ex.on('entry', (_h, stream, next) => {
      stream.on('data', (c: unknown) => (text += (c as Buffer).toString('utf8')));
      stream.on('end', next);
    });
    ex.on('finish', () => resolve(text));
    ex.on('error', reject);
    archive.pipe(ex);
  });
}

async function markPrimary(): Promise<void> {
  await etcd.put(primaryKey(CLUSTER, 'g1')).value('g1-a');
  await etcd.put(primaryKey(CLUSTER, 'coordinator')).value('coord-a');
  await etcd
    .put(memberStateKey(CLUSTER, 'g1-a'))
    .value(JSON.stringify({ state: 'primary', at: new Date().toISOString() }));
}

const since = (t: number) => events.filter((e) => e.t >= t);
const describeEvent = (e: SelfFenceEvent) =>
  e.kind === 'round' ? `round:${e.etcdOk ? 'etcd' : 'no-etcd'}:${e.decision?.action ?? '-'}` : `${e.kind}:${e.member}`;

describe('self-fence of a primary whose host is cut off', () => {
  beforeAll(async () => {
    const t0 = Date.now();
    hosts = await startSimHosts({ suffix: SUFFIX, count: 2, subnet: SUBNET, images: [IMAGE], log });
    log(`2 hosts up in ${Date.now() - t0} ms`);
    const [h1, h2] = hosts as [SimHost, SimHost];

    // The control path: h1 on a second network, its engine reached there, its server name checked as h1's.
    await outer
      .getNetwork(CTL_NETWORK)
      .remove()
      .catch(() => undefined);
    await outer.createNetwork({
      Name: CTL_NETWORK,
      Driver: 'bridge',
      IPAM: { Config: [{ Subnet: CTL_SUBNET, Gateway: subnetAddress(CTL_SUBNET, 1) }] },
      Labels: { 'org.citusctl.sim-hosts': SUFFIX },
    });
    const ctlAddress = subnetAddress(CTL_SUBNET, 11);
    await outer
      .getNetwork(CTL_NETWORK)
      .connect({ Container: h1.name, EndpointConfig: { IPAMConfig: { IPv4Address: ctlAddress } } });
    // The control network carries the engine API and the forwarders' listening ends only: h1 never
    // reaches the hosts' subnet through it (Docker isolates bridges, and this makes sure).
    await execIn(h1, ['iptables', '-I', 'OUTPUT', '-s', ctlAddress, '-d', SUBNET, '-j', 'REJECT']);
    const read = (f: string) => fs.readFileSync(path.join(h1.tlsDir, f));
    h1ctl = new Docker({
      protocol: 'https',
      host: ctlAddress,
      port: 2376,
      ca: read('ca.pem'),
      cert: read('cert.pem'),
      key: read('key.pem'),
      // No keep-alive: an idle socket would hold the test process open (as support/sim-hosts.ts).
      agent: new https.Agent({ keepAlive: false }),
      checkServerIdentity: (_name: string, cert: Parameters<typeof checkServerIdentity>[1]) =>
        checkServerIdentity(h1.address, cert),
    } as Docker.DockerOptions);

    await startEtcd();
    etcd = etcdClient(ETCD_ADDRESS, 2379);
    await eventually('etcd answers', () =>
      etcd.get('x').then(
        () => true,
        () => false,
      ),
    );
    await markPrimary();

    // g1-a on h1: a member container (labels, volume) running PostgreSQL; no restart policy, as members.
    await h1.docker.createVolume({ Name: volumeName(CLUSTER, 'g1-a') });
    await h1.docker.createContainer({
      name: containerName(CLUSTER, 'g1-a'),
      Image: IMAGE,
      User: 'postgres',
      Cmd: ['sh', '-c', pgScript],
      Labels: { [LABEL_CLUSTER]: CLUSTER, [LABEL_MEMBER]: 'g1-a', [LABEL_GROUP]: 'g1' },
      HostConfig: { Mounts: [{ Type: 'volume', Source: volumeName(CLUSTER, 'g1-a'), Target: PG_VOLUME_TARGET }] },
    });
    await h1.docker.getContainer(containerName(CLUSTER, 'g1-a')).start();
    // h2's members, as one PostgreSQL on h2's address.
    await h2.docker.createContainer({
      name: 'sf-peer',
      Image: IMAGE,
      User: 'postgres',
      Cmd: ['sh', '-c', pgScript],
      ExposedPorts: { '5432/tcp': {} },
      HostConfig: { PortBindings: { '5432/tcp': [{ HostIp: '0.0.0.0', HostPort: String(PEER_PG_PORT) }] } },
    });
    await h2.docker.getContainer('sf-peer').start();

    await startForwarder(h1, FWD_ETCD, ETCD_ADDRESS, 2379);
    await startForwarder(h1, FWD_PEER, h2.address, PEER_PG_PORT);
    loopEtcd = etcdClient(ctlAddress, FWD_ETCD);

    const s = spec();
    const members = placedMembers(s);
    journalDir = fs.mkdtempSync(path.join(os.tmpdir(), 'citusctl-it-sfence-'));
    const deps = { docker: h1ctl, env: {} } as unknown as ActivityDeps;
    loop = startSelfFenceLoop({
      cluster: CLUSTER,
      host: 'h1',
      hostCount: 2,
      groups: ['coordinator', 'g1'],
      members,
      docker: h1ctl,
      etcd: loopEtcd,
      peers: peerTargets(resolveHosts(s.hosts), members, 'h1'),
      // Every member of h2 is reached through h1's forwarder to h2's PostgreSQL; engines not asked
      // (a forwarder accepts whether or not h2 is there).
      dial: (t) => (t.kind === 'postgres' && t.host === 'h2' ? { address: ctlAddress, port: FWD_PEER } : undefined),
      journalPath: path.join(journalDir, 'self-fence-h1.json'),
      writeVolumeState: (member, state) => writeVolumeState(deps, s, member, state),
      fenceAfterMs: DEADLINE,
      log,
      onEvent: (e) => events.push({ ...e, t: Date.now() }),
    });
    await eventually('the loop read the primaries from etcd', () => events.some((e) => e.kind === 'round' && e.etcdOk));
  });

  afterAll(async () => {
    await loop?.stop();
    loopEtcd?.close();
    etcd?.close();
    await removeQuietly(outer.getContainer(ETCD_NAME));
    await removeSimHosts(SUFFIX, { keepImages: KEEP_IMAGES });
    // After the hosts: h1 was attached to it.
    await outer
      .getNetwork(CTL_NETWORK)
      .remove()
      .catch(() => undefined);
    if (journalDir) fs.rmSync(journalDir, { recursive: true, force: true });
  });

  it('a partition of h1 stops its primary, recorded in journal and volume; healed, etcd reads fenced', async () => {
    const [h1] = hosts as [SimHost];
    const g1a = containerName(CLUSTER, 'g1-a');
    expect(await running(h1ctl, g1a)).toBe(true);
    const cut = Date.now();
    await partitionHost(h1);
    log('h1 partitioned');
    await eventually('g1-a stopped', () => since(cut).some((e) => e.kind === 'stopped'), 60_000);
    await eventually('fence recorded in the volume', () =>
      since(cut).some((e) => e.kind === 'recorded' && e.where === 'volume'),
    );
    const after = since(cut);
    const stoppedAt = after.find((e) => e.kind === 'stopped')!.t;
    const order = after.map(describeEvent).join(' ');
    log(`stopped ${stoppedAt - cut} ms after the partition (deadline ${DEADLINE} ms): ${order}`);

    // Order: etcd lost, waited (or fenced straight away past the deadline), decided, stopped, recorded.
    const kinds = after.map(describeEvent);
    const fenceIdx = kinds.indexOf('round:no-etcd:fence');
    expect(fenceIdx).toBeGreaterThan(0);
    expect(kinds.slice(0, fenceIdx).every((k) => k === 'round:no-etcd:-' || k === 'round:no-etcd:wait')).toBe(true);
    expect(kinds.slice(fenceIdx + 1, fenceIdx + 4)).toEqual(['stopped:g1-a', 'recorded:g1-a', 'recorded:g1-a']);
    const fence = after[fenceIdx] as Extract<SelfFenceEvent, { kind: 'round' }>;
    expect(fence.decision).toMatchObject({ action: 'fence', members: ['g1-a'] });
    expect(fence.decision!.reason).toMatch(/etcd and h2 unreachable/);
    expect(after.filter((e) => e.kind === 'stopped')).toEqual([expect.objectContaining({ member: 'g1-a' })]);
    expect(after.find((e) => e.kind === 'stopped')).not.toHaveProperty('error');

    expect(await running(h1ctl, g1a)).toBe(false);
    expect(parseMemberState(await volumeState())?.state).toBe('fenced');
    const journal = JSON.parse(fs.readFileSync(path.join(journalDir, 'self-fence-h1.json'), 'utf8')) as {
      fences: Array<{ member: string; etcd?: string }>;
    };
    expect(journal.fences).toEqual([expect.objectContaining({ member: 'g1-a', volume: true })]);
    // Not in etcd yet: h1 cannot reach it.
    expect(JSON.parse((await etcd.get(memberStateKey(CLUSTER, 'g1-a')).string())!)).toMatchObject({ state: 'primary' });

    const healed = Date.now();
    await healHost(h1);
    log('h1 healed');
    await eventually('fence recorded in etcd', () =>
      since(healed).some((e) => e.kind === 'recorded' && e.where === 'etcd'),
    );
    const stored = parseStored(await etcd.get(memberStateKey(CLUSTER, 'g1-a')).string());
    expect(stored).toMatchObject({ state: 'fenced', reason: expect.stringMatching(/self-fence on host h1/) });
    expect(since(healed).find((e) => e.kind === 'recorded' && e.where === 'etcd')).toMatchObject({ detail: 'primary' });
    // Recorded in etcd: the journal lets go of it (the monitor owns the member now); the loop saves
    // the journal once every pending fence is recorded, just after its event.
    const journalFences = () =>
      (JSON.parse(fs.readFileSync(path.join(journalDir, 'self-fence-h1.json'), 'utf8')) as { fences: unknown[] })
        .fences;
    await eventually('the journal to let go of g1-a', () => journalFences().length === 0, 10_000);
    expect(journalFences()).toEqual([]);
  });

  it('etcd killed while h1 still reaches h2: nothing is stopped (failsafe)', async () => {
    const g1a = containerName(CLUSTER, 'g1-a');
    await h1ctl.getContainer(g1a).start();
    await markPrimary();
    const ok = Date.now();
    await eventually('a round read etcd again', () => since(ok).some((e) => e.kind === 'round' && e.etcdOk));
    await eventually('g1-a running', () => running(h1ctl, g1a));

    const killed = Date.now();
    await outer.getContainer(ETCD_NAME).kill({ signal: 'SIGKILL' });
    log('etcd killed');
    // Three fence deadlines of decided rounds, each seeing etcd gone and h2 there.
    await eventually('rounds over three deadlines without etcd', () => {
      const decided = since(killed).filter((e) => e.kind === 'round' && e.decision);
      return decided.length > 0 && decided[decided.length - 1]!.t - killed >= 3 * DEADLINE;
    });
    const decided = since(killed).filter(
      (e): e is Extract<SelfFenceEvent, { kind: 'round' }> & { t: number } => e.kind === 'round' && !!e.decision,
    );
    log(`${decided.length} decided rounds without etcd: ${decided[decided.length - 1]!.decision!.reason}`);
    // A round whose probe of h2 timed out on this busy machine may say "wait"; none may fence.
    expect(decided.filter((e) => e.decision!.action === 'fence')).toEqual([]);
    const failsafe = decided.filter((e) => e.decision!.action === 'nothing' && e.peers!.h2 === true);
    expect(failsafe.length).toBeGreaterThan(0);
    expect(failsafe[0]!.decision!.reason).toMatch(/every other host reachable/);
    expect(since(killed).some((e) => e.kind === 'stopped')).toBe(false);
    expect(await running(h1ctl, g1a)).toBe(true);
  });
});

function parseStored(raw: string | null): unknown {
  return raw ? (JSON.parse(raw) as unknown) : null;
}
