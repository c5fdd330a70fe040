/**
 * citusctl against a Temporal server that requires mTLS or an API key, configured the way the
 * Temporal CLI is (TEMPORAL_TLS_* / TEMPORAL_API_KEY variables, a TOML profile).
 *
 * The dev server (`temporal server start-dev`) has no TLS option, so the real dev server runs plain
 * on 127.0.0.1 and two fronts built here stand where a TLS-serving Temporal would:
 *  - an mTLS terminator (node:tls, ALPN h2) that requires a client certificate of the test CA and
 *    passes the bytes on to the dev server;
 *  - an API-key gate: an HTTP/2 TLS proxy that answers UNAUTHENTICATED unless the request carries
 *    `authorization: Bearer <key>`, and forwards the gRPC calls otherwise.
 * Certificates come from `openssl` into a temp dir. The client side is citusctl's own: connectClient
 * (the CLI and the supervisor), the options the worker gives NativeConnection (the Rust core), and
 * a `citusctl worker` process that reads the configuration from its environment and polls.
 * Ports: dev server 30870 (UI 31870), terminator 30871, gate 30872, worker metrics 30873: below the
 * ephemeral range (32768-60999), where a client socket of an earlier test can hold a port.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { connectClient } from '../../client/temporal-client';
import { logTail } from '../../lib/server-start-wait';
import { TASK_QUEUE, ensureTemporal, type TemporalEndpoint } from '../../lib/temporal-server';
import { connectWorker } from '../../worker/run-worker';
import { CLI, ROOT, sleep, stopTemporal, temporalCli, terminate } from './support/cluster';

jest.setTimeout(4 * 60_000);

const DEV_PORT = 30870;
const MTLS_PORT = 30871;
const GATE_PORT = 30872;
const API_KEY = 'test-api-key-7f3c';
const SERVER_NAME = 'temporal.test';

let dir: string;
let stateRoot: string;
let dev: TemporalEndpoint;
const fronts: { close: () => void }[] = [];
/** Subjects of the client certificates the terminator accepted. */
const clientSubjects: string[] = [];
/** The authorization headers the gate saw, and how many calls it forwarded. */
const gate = { refused: 0, forwarded: 0 };
let workerProcess: ChildProcess | undefined;

const pem = (name: string) => path.join(dir, name);
function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}
/** A CA, and a certificate it signs (EC P-256, one day). */
function makeCa(name: string): void {
  openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '1', '-subj', `/CN=${name}`,
  ]); // prettier-ignore
}
function issue(ca: string, name: string, cn: string, ext: string): void {
  fs.writeFileSync(pem(`${name}.ext`), ext);
  openssl([
    'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`,
  ]); // prettier-ignore
  openssl([
    'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial',
    '-out', `${name}.pem`, '-days', '1', '-extfile', `${name}.ext`,
  ]); // prettier-ignore
}

/** `p`, or a failure that shows the dev server's log once `ms` passed (jest's own timeout shows nothing). */
async function withinOrLog<T>(p: Promise<T>, ms: number, log: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the dev server did not serve in ${ms / 1000} s; ${log}:\n${logTail(log, 30)}`)),
      ms,
    );
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The mTLS terminator: a client certificate of the test CA, then plain bytes to the dev server. */
function startTerminator(): Promise<void> {
  const server = tls.createServer(
    {
      key: fs.readFileSync(pem('server.key')),
      cert: fs.readFileSync(pem('server.pem')),
      ca: fs.readFileSync(pem('ca.pem')),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    (socket) => {
      clientSubjects.push(String(socket.getPeerCertificate().subject?.CN));
      const upstream = net.connect(DEV_PORT, '127.0.0.1');
      socket.pipe(upstream).pipe(socket);
      const end = () => (socket.destroy(), upstream.destroy());
      socket.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    },
  );
  server.on('tlsClientError', () => undefined); // refused handshakes are what some tests expect
  fronts.push({ close: () => server.close() });
  return new Promise((resolve) => server.listen(MTLS_PORT, '127.0.0.1', resolve));
}

/** The API-key gate: gRPC over HTTP/2 with TLS, forwarded to the dev server when the key is right. */
function startGate(): Promise<void> {
  const upstream = http2.connect(`http://127.0.0.1:${DEV_PORT}`);
  upstream.on('error', () => undefined);
  const server = http2.createSecureServer({
    key: fs.readFileSync(pem('server.key')),
    cert: fs.readFileSync(pem('server.pem')),
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    if (headers.authorization !== `Bearer ${API_KEY}`) {
      gate.refused++;
      const status = { 'grpc-status': '16', 'grpc-message': 'invalid API key' };
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...status }, { endStream: true });
      return;
    }
    gate.forwarded++;
    const forward: http2.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(headers)) if (k !== ':scheme' && k !== 'authorization') forward[k] = v;
    const call = upstream.request(forward);
    call.on('error', () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    let trailers: http2.IncomingHttpHeaders = {};
    call.on('response', (h) => {
      // A trailers-only answer (an error) ends with its headers; others send their trailers last.
      if (h['grpc-status'] !== undefined) return stream.respond(h, { endStream: true });
      stream.respond(h, { waitForTrailers: true });
      call.pipe(stream);
    });
    call.on('trailers', (t) => (trailers = t));
    stream.on('wantTrailers', () => stream.sendTrailers(trailers));
    stream.pipe(call);
    stream.on('close', () => call.close());
  });
  fronts.push({ close: () => (server.close(), upstream.close()) });
  return new Promise((resolve) => server.listen(GATE_PORT, '127.0.0.1', resolve));
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'citusctl-it-temporal-tls-'));
  fs.mkdirSync(path.join(dir, 'home'));
  stateRoot = path.join(dir, 'state');
  makeCa('ca');
  makeCa('other-ca');
  issue('ca', 'server', SERVER_NAME, `subjectAltName=DNS:${SERVER_NAME},IP:127.0.0.1\nextendedKeyUsage=serverAuth\n`);
  issue('ca', 'client', 'citusctl-test-client', 'extendedKeyUsage=clientAuth\n');
  issue('other-ca', 'stranger', 'stranger', 'extendedKeyUsage=clientAuth\n');
  const start = ensureTemporal(stateRoot, {
    PATH: process.env.PATH,
    HOME: path.join(dir, 'home'),
    CITUSCTL_TEMPORAL_PORT: String(DEV_PORT),
    TEMPORAL_CLI_PATH: temporalCli(),
  });
  dev = await withinOrLog(start, 150_000, path.join(stateRoot, 'temporal', 'server.log'));
  await startTerminator();
  await startGate();
});

afterAll(async () => {
  if (workerProcess?.pid) await terminate(workerProcess.pid, 15_000);
  fronts.forEach((f) => f.close());
  if (stateRoot) await stopTemporal(stateRoot);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** A clean environment for the external server: its own HOME, so no real ~/.config/temporalio is read. */
const envFor = (port: number, extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: path.join(dir, 'home'),
  TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
  ...extra,
});
const mtlsEnv = (cert = 'client') =>
  envFor(MTLS_PORT, {
    TEMPORAL_TLS_CLIENT_CERT_PATH: pem(`${cert}.pem`),
    TEMPORAL_TLS_CLIENT_KEY_PATH: pem(`${cert}.key`),
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: pem('ca.pem'),
    TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
  });
/** An API key and the CA in a profile "cloud" of a config file; the environment only picks it. */
function apiKeyEnv(key: string): NodeJS.ProcessEnv {
  const file = path.join(dir, `temporal-${key}.toml`);
  fs.writeFileSync(
    file,
    `[profile.cloud]\napi_key = "${key}"\n[profile.cloud.tls]\nserver_ca_cert_path = "${pem('ca.pem')}"\n` +
      `server_name = "${SERVER_NAME}"\n`,
  );
  return envFor(GATE_PORT, { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'cloud' });
}

/** connectClient as the CLI uses it, then one call that needs the server to answer. */
async function systemInfoThroughClient(env: NodeJS.ProcessEnv): Promise<void> {
  const { client, close } = await connectClient(await ensureTemporal(stateRoot, env), 10_000, env);
  try {
    await client.workflowService.getSystemInfo({});
  } finally {
    await close();
  }
}

/** The worker's connection (the Rust core), as createWorker makes it. */
async function systemInfoThroughNative(env: NodeJS.ProcessEnv): Promise<void> {
  const endpoint = await ensureTemporal(stateRoot, env);
  const connection = await connectWorker(endpoint, env);
  try {
    await connection.workflowService.getSystemInfo({});
  } finally {
    await connection.close();
  }
}

describe('mTLS from the TEMPORAL_TLS_* variables', () => {
  it('the CLI client connects with the client certificate the terminator requires', async () => {
    const before = clientSubjects.length;
    await systemInfoThroughClient(mtlsEnv());
    expect(clientSubjects.slice(before)).toContain('citusctl-test-client');
  });

  it("the worker's native connection connects the same way", async () => {
    const before = clientSubjects.length;
    await systemInfoThroughNative(mtlsEnv());
    expect(clientSubjects.slice(before)).toContain('citusctl-test-client');
  });

  it('a client certificate of another CA is refused by the server', async () => {
    const before = clientSubjects.length;
    await expect(systemInfoThroughClient(mtlsEnv('stranger'))).rejects.toThrow(
      /TLS handshake with .*client certificate refused/,
    );
    expect(clientSubjects.slice(before)).toEqual([]);
  });

  it('a server certificate the configured CA did not sign is refused, saying why', async () => {
    const env = { ...mtlsEnv(), TEMPORAL_TLS_SERVER_CA_CERT_PATH: pem('other-ca.pem') };
    // The gRPC libraries say little ("deadline"); the error carries the handshake's own reason.
    const why = /TLS handshake with 127\.0\.0\.1:30871: .*certificate/;
    await expect(systemInfoThroughClient(env)).rejects.toThrow(why);
    await expect(systemInfoThroughNative(env)).rejects.toThrow(why);
  });

  it('without TLS configured, the TLS port does not answer the plain client', async () => {
    await expect(systemInfoThroughClient(envFor(MTLS_PORT, {}))).rejects.toThrow();
  });

  it('a `citusctl worker` process reads the configuration from its environment and polls through mTLS', async () => {
    const workerState = path.join(dir, 'worker-state');
    const env = { ...mtlsEnv(), CITUSCTL_STATE_DIR: workerState, CITUSCTL_METRICS_PORT: '30873' };
    const before = clientSubjects.length;
    let log = '';
    workerProcess = spawn(process.execPath, [CLI, 'worker'], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    workerProcess.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    workerProcess.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const recorded = path.join(workerState, 'worker', 'worker.json');
    for (let i = 0; i < 1200 && !fs.existsSync(recorded) && workerProcess.exitCode === null; i++) await sleep(100);
    if (!fs.existsSync(recorded)) throw new Error(`the worker did not start polling; its output:\n${log}`);
    expect(log).toContain(`127.0.0.1:${MTLS_PORT} (mTLS)`);
    expect(clientSubjects.slice(before)).toContain('citusctl-test-client');
    // The server itself sees the worker polling its task queue (asked on the plain dev port).
    const { client, close } = await connectClient(dev);
    try {
      const pollers = await client.workflowService.describeTaskQueue({
        namespace: dev.namespace,
        taskQueue: { name: TASK_QUEUE },
      });
      expect(pollers.pollers.length).toBeGreaterThan(0);
    } finally {
      await close();
    }
    // Its command line carries no key material: the files are read from its own environment.
    expect(fs.readFileSync(`/proc/${workerProcess.pid}/cmdline`, 'utf8')).not.toMatch(/\.key|\.pem|BEGIN/);
  });
});

describe('an API key from a config profile', () => {
  it('the CLI client and the worker connection present it, over TLS', async () => {
    const before = gate.forwarded;
    await systemInfoThroughClient(apiKeyEnv(API_KEY));
    await systemInfoThroughNative(apiKeyEnv(API_KEY));
    expect(gate.forwarded).toBeGreaterThanOrEqual(before + 2);
  });

  it('a wrong key is refused by the server', async () => {
    const before = gate.refused;
    await expect(systemInfoThroughClient(apiKeyEnv('wrong-key'))).rejects.toThrow(/invalid API key/);
    expect(gate.refused).toBeGreaterThan(before);
  });
});
