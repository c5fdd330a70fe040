/**
 * Engine clients: the dockerode options each endpoint gives, and pingEngine against local servers
 * speaking the one request it sends (GET /_ping): over a unix socket, and over mutual TLS with the
 * files a tcp:// host names (a client certificate from another CA is refused). The real engines are
 * in the integration tests.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ResolvedHost } from '../../common/hosts';
import { EngineConfigError, engineFor, engineOptions, pingEngine } from '../../lib/docker/engine-client';
import { createCa, issueCertificate } from '../../lib/tls/x509';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-client-'));
const servers: net.Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  fs.rmSync(dir, { recursive: true, force: true });
});

const tlsHost = (
  port: number,
  files = { caFile: 'ca.pem', certFile: 'cert.pem', keyFile: 'key.pem' },
): ResolvedHost => ({
  name: 'h1',
  endpoint: `tcp://127.0.0.1:${port}`,
  address: '127.0.0.1',
  tls: {
    caFile: path.join(dir, files.caFile),
    certFile: path.join(dir, files.certFile),
    keyFile: path.join(dir, files.keyFile),
  },
});

/** Answers GET /_ping with OK, as the Docker engine does; counts the requests. */
function pingHandler(seen: string[]) {
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.url?.endsWith('/_ping')) res.writeHead(200, { 'Content-Type': 'text/plain' }).end('OK');
    else res.writeHead(404).end();
  };
}

describe('engineOptions', () => {
  test('the implicit local host: none (new Docker() as before)', () => {
    expect(
      engineOptions({ name: 'local', endpoint: 'unix:///var/run/docker.sock', address: '127.0.0.1', implicit: true }),
    ).toBeUndefined();
  });

  test('a unix host: its socket, and nothing taken from DOCKER_HOST', () => {
    const o = engineOptions({ name: 'box', endpoint: 'unix:///run/docker-b.sock', address: '10.0.0.2' });
    expect(o).toEqual({ socketPath: '/run/docker-b.sock', host: undefined, port: undefined, protocol: undefined });
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = 'tcp://10.9.9.9:2375';
    try {
      const docker = engineFor({ name: 'box', endpoint: 'unix:///run/docker-b.sock', address: '10.0.0.2' });
      const modem = docker.modem as unknown as { socketPath?: string; host?: string };
      expect(modem.socketPath).toBe('/run/docker-b.sock');
      expect(modem.host).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });

  test('a tcp host: https with the three files read', () => {
    const read: string[] = [];
    const o = engineOptions(tlsHost(2376), {}, (p) => {
      read.push(p);
      return Buffer.from(`content of ${path.basename(p)}`);
    });
    expect(read.map((p) => path.basename(p))).toEqual(['ca.pem', 'cert.pem', 'key.pem']);
    expect(o).toMatchObject({ protocol: 'https', host: '127.0.0.1', port: 2376 });
    expect(String(o!.ca)).toBe('content of ca.pem');
    expect(String(o!.cert)).toBe('content of cert.pem');
    expect(String(o!.key)).toBe('content of key.pem');
  });

  test('an unreadable TLS file: the host, field and path named, nothing of the contents', () => {
    let caught: unknown;
    try {
      engineOptions(tlsHost(2376, { caFile: 'ca.pem', certFile: 'cert.pem', keyFile: 'missing-key.pem' }), {}, (p) =>
        p.endsWith('missing-key.pem') ? fs.readFileSync(p) : Buffer.from('secret-looking content'),
      );
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(EngineConfigError);
    expect((caught as Error).message).toBe(
      `host h1: cannot read tls.keyFile ${path.join(dir, 'missing-key.pem')}: ENOENT`,
    );
    expect((caught as Error).message).not.toContain('secret-looking');
  });

  test('a tcp host without TLS files is refused (the spec refuses it too)', () => {
    expect(() => engineOptions({ name: 'h1', endpoint: 'tcp://10.0.0.1:2376', address: '10.0.0.1' })).toThrow(
      /needs tls files/,
    );
  });

  test('an ssh host: the ssh protocol through the ssh-agent', () => {
    const o = engineOptions(
      { name: 'h2', endpoint: 'ssh://ops@10.0.0.2:2222', address: '10.0.0.2' },
      {
        SSH_AUTH_SOCK: '/tmp/agent.sock',
      },
    );
    expect(o).toEqual({
      protocol: 'ssh',
      host: '10.0.0.2',
      port: 2222,
      username: 'ops',
      sshOptions: { agent: '/tmp/agent.sock' },
    });
  });

  test('an ssh host without an ssh-agent says so', () => {
    expect(() => engineOptions({ name: 'h2', endpoint: 'ssh://ops@10.0.0.2', address: '10.0.0.2' }, {})).toThrow(
      EngineConfigError,
    );
  });

  test('a malformed endpoint (a spec that skipped validation) is refused', () => {
    expect(() => engineOptions({ name: 'h2', endpoint: 'http://x:1', address: 'x' })).toThrow(/host h2: endpoint/);
  });
});

describe('engineFor', () => {
  test('one client per host, kept; another endpoint gets another', () => {
    const a = { name: 'c1', endpoint: 'unix:///run/c1.sock', address: '10.0.0.1' };
    expect(engineFor(a)).toBe(engineFor({ ...a }));
    expect(engineFor(a)).not.toBe(engineFor({ ...a, endpoint: 'unix:///run/c2.sock' }));
  });
});

describe('pingEngine', () => {
  test('a unix socket engine that answers: reachable', async () => {
    const seen: string[] = [];
    const socketPath = path.join(dir, 'engine.sock');
    const server = http.createServer(pingHandler(seen));
    servers.push(server);
    await new Promise<void>((r) => server.listen(socketPath, r));
    const docker = engineFor({ name: 'u1', endpoint: `unix://${socketPath}`, address: '10.0.0.1' });
    expect(await pingEngine(docker)).toEqual({ reachable: true });
    expect(seen).toEqual(['GET /_ping']);
  });

  test('no socket there: unreachable, with the reason', async () => {
    const docker = engineFor({ name: 'u2', endpoint: `unix://${path.join(dir, 'none.sock')}`, address: '10.0.0.1' });
    const r = await pingEngine(docker);
    expect(r.reachable).toBe(false);
    if (!r.reachable) expect(r.error).toMatch(/ENOENT/);
  });

  test('an engine that never answers: unreachable once the timeout passes', async () => {
    const socketPath = path.join(dir, 'silent.sock');
    const server = http.createServer(() => undefined);
    servers.push(server);
    await new Promise<void>((r) => server.listen(socketPath, r));
    const docker = engineFor({ name: 'u3', endpoint: `unix://${socketPath}`, address: '10.0.0.1' });
    expect(await pingEngine(docker, 300)).toEqual({ reachable: false, error: 'no answer within 300 ms' });
    server.closeAllConnections();
  });

  describe('over mutual TLS', () => {
    let port = 0;
    const seen: string[] = [];
    beforeAll(async () => {
      const ca = await createCa('engine test CA', 2);
      const server = await issueCertificate(ca, {
        commonName: 'engine',
        usages: ['server'],
        ipAddresses: ['127.0.0.1'],
        days: 1,
      });
      const client = await issueCertificate(ca, { commonName: 'citusctl', usages: ['client'], days: 1 });
      const otherCa = await createCa('another CA', 2);
      const stranger = await issueCertificate(otherCa, { commonName: 'stranger', usages: ['client'], days: 1 });
      fs.writeFileSync(path.join(dir, 'ca.pem'), ca.certPem);
      fs.writeFileSync(path.join(dir, 'cert.pem'), client.certPem);
      fs.writeFileSync(path.join(dir, 'key.pem'), client.keyPem);
      fs.writeFileSync(path.join(dir, 'stranger-cert.pem'), stranger.certPem);
      fs.writeFileSync(path.join(dir, 'stranger-key.pem'), stranger.keyPem);
      fs.writeFileSync(path.join(dir, 'other-ca.pem'), otherCa.certPem);
      const engine = https.createServer(
        { cert: server.certPem, key: server.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true },
        pingHandler(seen),
      );
      servers.push(engine);
      await new Promise<void>((r) => engine.listen(0, '127.0.0.1', r));
      port = (engine.address() as net.AddressInfo).port;
    });

    test("the host's CA, certificate and key: reachable", async () => {
      expect(await pingEngine(engineFor(tlsHost(port)))).toEqual({ reachable: true });
      expect(seen).toContain('GET /_ping');
    });

    test('a client certificate of another CA: refused by the engine', async () => {
      const host = tlsHost(port, { caFile: 'ca.pem', certFile: 'stranger-cert.pem', keyFile: 'stranger-key.pem' });
      const r = await pingEngine(engineFor({ ...host, name: 'h-stranger' }));
      expect(r.reachable).toBe(false);
    });

    test("an engine whose certificate the host's CA did not issue: refused by the client", async () => {
      const host = tlsHost(port, { caFile: 'other-ca.pem', certFile: 'cert.pem', keyFile: 'key.pem' });
      const r = await pingEngine(engineFor({ ...host, name: 'h-other-ca' }));
      expect(r.reachable).toBe(false);
      if (!r.reachable) expect(r.error).toMatch(/certificate|self.signed|verify/i);
    });
  });
});
