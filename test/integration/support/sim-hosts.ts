/**
 * Simulated Docker hosts for multi-host tests and benches: each host is a container of
 * citusctl-test/docker-host:1 (test/sim-hosts/) running its own dockerd, reachable over mutual TLS
 * at <address>:2376 on a bridge network the test creates with a fixed IP per host. A host's
 * containers publish ports on the host container, so other hosts and this machine reach them at
 * <host address>:<published port>. Faults: kill (a crashed machine: everything on it dies), restart
 * (the machine boots again: its dockerd brings containers back per their restart policy), partition
 * (the host's network cable pulled) and heal (plugged back with the same address).
 *
 * Image cache: each image is saved once per image id to /tmp/citusctl-sim-images/<id>.tar; the
 * hosts' /var/lib/docker volumes are named after a key of the host image and the images asked for,
 * and may be kept between runs (removeSimHosts keepImages), so a second run loads nothing. A start
 * on a kept volume first removes whatever containers, networks and volumes a previous run left in it.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import { createCa, issueCertificate, type KeyPair } from '../../../lib/tls/x509';

export const SIM_HOST_IMAGE = process.env.CITUSCTL_SIM_HOST_IMAGE || 'citusctl-test/docker-host:1';
export const SIM_HOST_LABEL = 'org.citusctl.sim-hosts';
const KEY_LABEL = 'org.citusctl.sim-hosts.key';
const ENGINE_PORT = 2376;
const IMAGE_CACHE_DIR = process.env.CITUSCTL_SIM_IMAGE_CACHE || path.join(os.tmpdir(), 'citusctl-sim-images');
const BUILD_SCRIPT = path.resolve(__dirname, '..', '..', 'sim-hosts', 'build.sh');

const outer = new Docker();

export interface SimHost {
  /** Container name of the host, also its hostname: citusctl-test-host-<suffix>-<n>. */
  name: string;
  /** Its fixed IP on the hosts network: what other hosts and this machine dial. */
  address: string;
  /** A dockerode client of the host's own engine, over mutual TLS. */
  docker: Docker;
  /** tcp://<address>:2376 */
  endpoint: string;
  /** ca.pem, cert.pem, key.pem of the client: usable as DOCKER_CERT_PATH with DOCKER_TLS_VERIFY=1. */
  tlsDir: string;
  /** The hosts network it is attached to. */
  network: string;
  /** The Docker volume holding its /var/lib/docker. */
  volume: string;
}

export interface SimHostsOptions {
  /** Names everything: network citusctl-test-hosts-<suffix>, hosts citusctl-test-host-<suffix>-<n>. */
  suffix: string;
  count: number;
  /** An IPv4 /24 (or wider) no other network uses; hosts get .11, .12, ... */
  subnet: string;
  /** Images every host gets (loaded, or already in a kept volume). */
  images?: readonly string[];
  log?: (line: string) => void;
}

export const hostsNetworkName = (suffix: string) => `citusctl-test-hosts-${suffix}`;
const hostName = (suffix: string, n: number) => `citusctl-test-host-${suffix}-${n}`;
const tlsPrefix = (suffix: string) => path.join(os.tmpdir(), `citusctl-sim-hosts-${suffix}-`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isNotFound = (e: unknown) => (e as { statusCode?: number }).statusCode === 404;

/** The k-th address of an IPv4 subnet (/24 or wider): 1 is the gateway, host n is 10 + n. */
export function subnetAddress(subnet: string, k: number): string {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(subnet);
  if (!m || Number(m[5]) > 24) throw new Error(`sim-hosts: subnet must be an IPv4 CIDR of /24 or wider: ${subnet}`);
  const ip = m.slice(1, 5).reduce((acc, o) => acc * 256 + Number(o), 0) + k;
  return [24, 16, 8, 0].map((shift) => Math.floor(ip / 2 ** shift) % 256).join('.');
}
const hostAddress = (subnet: string, n: number) => subnetAddress(subnet, 10 + n);

/** Builds citusctl-test/docker-host:1 unless it is up to date (the script checks its inputs). */
export function ensureSimHostImage(): void {
  const r = spawnSync('bash', [BUILD_SCRIPT], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sim-hosts: ${BUILD_SCRIPT} failed: ${r.stderr || r.stdout}`);
}

async function imageId(docker: Docker, image: string): Promise<string | undefined> {
  try {
    return ((await docker.getImage(image).inspect()) as { Id: string }).Id;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** The cache key of the hosts' volumes: the host image and the images they carry. */
async function volumeKey(images: readonly string[]): Promise<string> {
  const ids: string[] = [];
  for (const image of [SIM_HOST_IMAGE, ...images]) {
    const id = await imageId(outer, image);
    if (!id) throw new Error(`sim-hosts: image ${image} is missing on this machine`);
    ids.push(`${image}=${id}`);
  }
  return createHash('sha256').update(ids.sort().join('\n')).digest('hex').slice(0, 12);
}

interface HostTls {
  dir: string;
  clientDir: string;
  client: KeyPair;
  ca: string;
}

/** A CA, one server certificate per host (SAN: its name and address) and one client certificate. */
async function issueTls(suffix: string, hosts: { name: string; address: string }[]): Promise<HostTls> {
  const dir = fs.mkdtempSync(tlsPrefix(suffix));
  const ca = await createCa(`citusctl sim hosts ${suffix}`, 2);
  const client = await issueCertificate(ca, { commonName: 'citusctl-test-client', usages: ['client'], days: 2 });
  const write = (sub: string, files: Record<string, string>) => {
    fs.mkdirSync(path.join(dir, sub), { mode: 0o700 });
    for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, sub, f), text, { mode: 0o600 });
  };
  write('client', { 'ca.pem': ca.certPem, 'cert.pem': client.certPem, 'key.pem': client.keyPem });
  for (const h of hosts) {
    const server = await issueCertificate(ca, {
      commonName: h.name,
      usages: ['server'],
      dnsNames: [h.name, 'localhost'],
      ipAddresses: [h.address, '127.0.0.1'],
      days: 2,
    });
    write(h.name, { 'ca.pem': ca.certPem, 'server-cert.pem': server.certPem, 'server-key.pem': server.keyPem });
  }
  return { dir, clientDir: path.join(dir, 'client'), client, ca: ca.certPem };
}

function engineClient(address: string, tls: HostTls): Docker {
  return new Docker({
    protocol: 'https',
    host: address,
    port: ENGINE_PORT,
    ca: tls.ca,
    cert: tls.client.certPem,
    key: tls.client.keyPem,
    // No client timeout: an image load sends for many seconds and hears nothing back until the end.
    // No keep-alive: an idle socket to a host that was killed would hold the test process open
    // (docker-modem takes `agent`; its types do not list it).
    agent: new https.Agent({ keepAlive: false }),
  } as Docker.DockerOptions);
}

/**
 * Whether the host's engine answers within `timeoutMs` (a partitioned or killed host does not). The
 * request is aborted at the deadline: a SYN to a vanished address otherwise retries for two minutes
 * and holds the process open.
 */
export async function engineAnswers(host: SimHost, timeoutMs = 3_000): Promise<boolean> {
  // dockerode's ping takes { abortSignal }; its types do not say so.
  const ping = host.docker.ping.bind(host.docker) as unknown as (o: { abortSignal: AbortSignal }) => Promise<unknown>;
  try {
    await ping({ abortSignal: AbortSignal.timeout(timeoutMs) });
    return true;
  } catch {
    return false;
  }
}

/** Waits until the host's engine answers over TLS. */
export async function waitForEngine(host: SimHost, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await engineAnswers(host)) return;
    await sleep(250);
  }
  throw new Error(`sim-hosts: engine of ${host.name} (${host.endpoint}) not up in ${timeoutMs} ms`);
}

/** The error with the tail of the host container's log (why its dockerd did not come up). */
async function withLogs(host: SimHost, e: unknown): Promise<Error> {
  const logs = await outer
    .getContainer(host.name)
    .logs({ stdout: true, stderr: true, tail: 30 })
    .then((b) => demux(b))
    .catch((le: unknown) => `(no logs: ${String(le)})`);
  return new Error(`${String(e)}\n--- ${host.name} log tail ---\n${logs}`);
}

/** What a kept volume may still hold from an earlier run: containers, networks, volumes. */
async function emptyEngine(docker: Docker): Promise<number> {
  const containers = await docker.listContainers({ all: true });
  for (const c of containers) await docker.getContainer(c.Id).remove({ force: true, v: true });
  await docker.pruneNetworks();
  await docker.pruneVolumes({ filters: { all: ['true'] } });
  return containers.length;
}

async function ensureNetwork(suffix: string, subnet: string): Promise<string> {
  const name = hostsNetworkName(suffix);
  try {
    const info = (await outer.getNetwork(name).inspect()) as { IPAM?: { Config?: { Subnet?: string }[] } };
    if (info.IPAM?.Config?.[0]?.Subnet === subnet) return name;
    await outer.getNetwork(name).remove();
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  await outer.createNetwork({
    Name: name,
    Driver: 'bridge',
    CheckDuplicate: true,
    IPAM: { Config: [{ Subnet: subnet, Gateway: subnetAddress(subnet, 1) }] },
    Labels: { [SIM_HOST_LABEL]: suffix },
  });
  return name;
}

/** Removes host volumes of this suffix made for another set of images (rebuilt images). */
async function dropStaleVolumes(suffix: string, key: string): Promise<void> {
  const { Volumes } = await outer.listVolumes({ filters: { label: [`${SIM_HOST_LABEL}=${suffix}`] } });
  for (const v of Volumes ?? []) {
    if (v.Labels?.[KEY_LABEL] !== key) await outer.getVolume(v.Name).remove();
  }
}

async function createHost(
  suffix: string,
  n: number,
  subnet: string,
  network: string,
  key: string,
  tls: HostTls,
): Promise<SimHost> {
  const name = hostName(suffix, n);
  const address = hostAddress(subnet, n);
  const volume = `${name}-docker-${key}`;
  await outer.createVolume({ Name: volume, Labels: { [SIM_HOST_LABEL]: suffix, [KEY_LABEL]: key } });
  await outer.createContainer({
    name,
    Hostname: name,
    Image: SIM_HOST_IMAGE,
    Labels: { [SIM_HOST_LABEL]: suffix },
    HostConfig: {
      // Not Privileged: the outer engine's capability bounding set may lack CAP_SYS_RESOURCE (it does
      // here), which --privileged requests. Every other capability, no seccomp filter, /proc unmasked;
      // the entrypoint remounts /sys and the cgroups writable.
      CapAdd: ['ALL'],
      CapDrop: ['SYS_RESOURCE'],
      SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
      MaskedPaths: [],
      ReadonlyPaths: [],
      Init: true, // reaps what the inner engine's shims leave behind
      Binds: [`${path.join(tls.dir, name)}:/certs:ro`],
      Mounts: [{ Type: 'volume', Source: volume, Target: '/var/lib/docker' }],
      NetworkMode: network,
    },
    NetworkingConfig: { EndpointsConfig: { [network]: { IPAMConfig: { IPv4Address: address } } } },
  });
  await outer.getContainer(name).start();
  return {
    name,
    address,
    docker: engineClient(address, tls),
    endpoint: `tcp://${address}:${ENGINE_PORT}`,
    tlsDir: tls.clientDir,
    network,
    volume,
  };
}

/**
 * Starts `count` hosts on a fresh hosts network, waits for their engines and gives each the images.
 * Leftovers of an earlier run with the same suffix are removed first (kept image volumes reused).
 */
export async function startSimHosts(o: SimHostsOptions): Promise<SimHost[]> {
  const log = o.log ?? ((line: string) => console.log(line));
  const images = o.images ?? [];
  let t = Date.now();
  ensureSimHostImage();
  log(`[sim-hosts] host image ${SIM_HOST_IMAGE} ready in ${Date.now() - t} ms`);

  await removeSimHosts(o.suffix, { keepImages: true });
  const key = await volumeKey(images);
  await dropStaleVolumes(o.suffix, key);
  const network = await ensureNetwork(o.suffix, o.subnet);
  const names = Array.from({ length: o.count }, (_, i) => ({
    name: hostName(o.suffix, i + 1),
    address: hostAddress(o.subnet, i + 1),
  }));
  const tls = await issueTls(o.suffix, names);

  t = Date.now();
  const hosts: SimHost[] = [];
  for (let n = 1; n <= o.count; n++) hosts.push(await createHost(o.suffix, n, o.subnet, network, key, tls));
  await Promise.all(
    hosts.map((h) => waitForEngine(h).catch(async (e: unknown) => Promise.reject(await withLogs(h, e)))),
  );
  const leftovers = await Promise.all(hosts.map((h) => emptyEngine(h.docker)));
  const left = leftovers.reduce((a, b) => a + b, 0);
  log(
    `[sim-hosts] ${o.count} hosts started (engines up over TLS) in ${Date.now() - t} ms` +
      (left ? `; removed ${left} containers left in kept volumes` : ''),
  );

  if (images.length) await loadImages(hosts, images, log);
  return hosts;
}

/** Saves an image of this machine to the cache once per image id; returns the tar's path. */
async function cachedTar(image: string, id: string, log: (line: string) => void): Promise<string> {
  fs.mkdirSync(IMAGE_CACHE_DIR, { recursive: true });
  const tar = path.join(IMAGE_CACHE_DIR, `${id.replace(/^sha256:/, '')}.tar`);
  if (fs.existsSync(tar)) return tar;
  const t = Date.now();
  const partial = `${tar}.${process.pid}.partial`;
  const stream = await outer.getImage(image).get();
  await new Promise<void>((resolve, reject) => {
    const out = fs.createWriteStream(partial);
    stream.on('error', reject);
    out.on('error', reject);
    out.on('finish', () => resolve());
    stream.pipe(out);
  });
  fs.renameSync(partial, tar);
  log(`[sim-hosts] saved ${image} (${(fs.statSync(tar).size / 1e6).toFixed(0)} MB) to ${tar} in ${Date.now() - t} ms`);
  return tar;
}

async function loadInto(host: SimHost, tar: string): Promise<void> {
  const stream = await host.docker.loadImage(fs.createReadStream(tar), { quiet: true } as object);
  await new Promise<void>((resolve, reject) =>
    host.docker.modem.followProgress(stream, (err: Error | null, output: { error?: string }[]) => {
      const failed = err?.message ?? output.find((o) => o.error)?.error;
      if (failed) reject(new Error(`sim-hosts: load into ${host.name} failed: ${failed}`));
      else resolve();
    }),
  );
}

/**
 * Gives every host the images, under the same names and ids as on this machine. A host that already
 * has the image id under that name is skipped. Loads run on all hosts at once.
 */
export async function loadImages(
  hosts: readonly SimHost[],
  images: readonly string[],
  log: (line: string) => void = (line) => console.log(line),
): Promise<void> {
  for (const image of images) {
    const id = await imageId(outer, image);
    if (!id) throw new Error(`sim-hosts: image ${image} is missing on this machine`);
    const missing: SimHost[] = [];
    for (const h of hosts) if ((await imageId(h.docker, image)) !== id) missing.push(h);
    if (!missing.length) {
      log(`[sim-hosts] ${image} already on every host`);
      continue;
    }
    const tar = await cachedTar(image, id, log);
    const t = Date.now();
    await Promise.all(missing.map((h) => loadInto(h, tar)));
    for (const h of missing) {
      if ((await imageId(h.docker, image)) !== id) throw new Error(`sim-hosts: ${image} not on ${h.name} after load`);
    }
    log(`[sim-hosts] loaded ${image} into ${missing.length} host(s) in ${Date.now() - t} ms`);
  }
}

/**
 * Runs `cmd` in a one-shot container of `image` on the host and removes it; its exit code and output.
 * What "a process on host N" does in a test (a client reaching another host, a probe).
 */
export async function runOnHost(
  host: SimHost,
  image: string,
  cmd: readonly string[],
): Promise<{ exitCode: number; output: string }> {
  const c = await host.docker.createContainer({ Image: image, Cmd: [...cmd] });
  try {
    await c.start();
    const { StatusCode } = (await c.wait()) as { StatusCode: number };
    const logs = await c.logs({ stdout: true, stderr: true });
    return { exitCode: StatusCode, output: demux(logs) };
  } finally {
    await c.remove({ force: true });
  }
}

/** The text of a non-TTY container log (8-byte frame headers stripped). */
function demux(buf: Buffer): string {
  const parts: Buffer[] = [];
  for (let i = 0; i + 8 <= buf.length;) {
    const size = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}

/** A crashed machine: SIGKILL to the host container; every container on it dies with it. */
export async function killHost(host: SimHost): Promise<void> {
  await outer.getContainer(host.name).kill({ signal: 'SIGKILL' });
}

/** The machine boots again: same address, its dockerd restarts containers per their restart policy. */
export async function restartHost(host: SimHost): Promise<void> {
  const info = (await outer.getContainer(host.name).inspect()) as { State: { Running: boolean } };
  if (!info.State.Running) await outer.getContainer(host.name).start();
  await waitForEngine(host).catch(async (e: unknown) => Promise.reject(await withLogs(host, e)));
}

/**
 * What a process running ON the host uses: its network namespace (/proc/<pid>/ns/net of the host
 * container's first process, for `nsenter --net=`) and its engine's local socket through the host's
 * root filesystem (a unix socket needs no network: it survives a partition). Both change when the
 * host restarts: ask again after restartHost.
 */
export async function hostNamespace(host: SimHost): Promise<{ netns: string; socket: string }> {
  const info = (await outer.getContainer(host.name).inspect()) as { State: { Running: boolean; Pid: number } };
  if (!info.State.Running || !info.State.Pid) throw new Error(`sim-hosts: ${host.name} is not running`);
  const proc = `/proc/${info.State.Pid}`;
  // Not <root>/var/run/docker.sock: var/run is a symlink to /run, which the kernel resolves against
  // this process's root, i.e. the outer engine's socket. Its name says whose engine answers.
  const socketPath = `${proc}/root/run/docker.sock`;
  const name = ((await new Docker({ socketPath }).info()) as { Name: string }).Name;
  if (name !== host.name) throw new Error(`sim-hosts: ${socketPath} is the engine of ${name}, not of ${host.name}`);
  return { netns: `${proc}/ns/net`, socket: `unix://${socketPath}` };
}

/** The host's network cable pulled: it keeps running, cut off from the other hosts and this machine. */
export async function partitionHost(host: SimHost): Promise<void> {
  await outer.getNetwork(host.network).disconnect({ Container: host.name, Force: true });
}

/** The cable plugged back: attached again with the same address. */
export async function healHost(host: SimHost): Promise<void> {
  await outer.getNetwork(host.network).connect({
    Container: host.name,
    EndpointConfig: { IPAMConfig: { IPv4Address: host.address } },
  });
  await waitForEngine(host);
}

/**
 * Removes every host container, the hosts network and the TLS directories of `suffix`, and the hosts'
 * volumes unless keepImages (then the next start with the same images loads nothing).
 */
export async function removeSimHosts(suffix: string, opts: { keepImages?: boolean } = {}): Promise<void> {
  const containers = await outer.listContainers({ all: true, filters: { label: [`${SIM_HOST_LABEL}=${suffix}`] } });
  for (const c of containers) {
    await outer
      .getContainer(c.Id)
      .remove({ force: true })
      .catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
  }
  try {
    await outer.getNetwork(hostsNetworkName(suffix)).remove();
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  if (!opts.keepImages) {
    const { Volumes } = await outer.listVolumes({ filters: { label: [`${SIM_HOST_LABEL}=${suffix}`] } });
    for (const v of Volumes ?? []) await outer.getVolume(v.Name).remove();
  }
  const prefix = tlsPrefix(suffix);
  for (const entry of fs.readdirSync(path.dirname(prefix))) {
    const full = path.join(path.dirname(prefix), entry);
    if (full.startsWith(prefix)) fs.rmSync(full, { recursive: true, force: true });
  }
}

/** The spec's `hosts` for simulated hosts: h1, h2, ... with each engine's endpoint, address and client TLS files. */
export function simHostSpecs(hosts: readonly SimHost[]) {
  return hosts.map((h, i) => ({
    name: `h${i + 1}`,
    endpoint: h.endpoint,
    address: h.address,
    tls: {
      caFile: path.join(h.tlsDir, 'ca.pem'),
      certFile: path.join(h.tlsDir, 'cert.pem'),
      keyFile: path.join(h.tlsDir, 'key.pem'),
    },
  }));
}
