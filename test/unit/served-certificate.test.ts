/**
 * servedSerial against real local servers: plain TLS (as etcd), the PostgreSQL SSLRequest answered
 * 'S' then TLS (PostgreSQL, PgBouncer), answered 'N' (no TLS), and a plain HTTP server (etcd on http).
 */
import * as http from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { normalSerial, servedSerial } from '../../lib/tls/served-certificate';
import { certificateInfo, createCa, issueCertificate, type KeyPair } from '../../lib/tls/x509';

let pair: KeyPair;
const servers: net.Server[] = [];

beforeAll(async () => {
  const ca = await createCa('served test CA', 30);
  pair = await issueCertificate(ca, { commonName: 'localhost', usages: ['server'], dnsNames: ['localhost'], days: 2 });
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

async function listen(server: net.Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

const serial = () => normalSerial(certificateInfo(pair.certPem).serialNumber);

test('plain TLS: the presented serial', async () => {
  const port = await listen(tls.createServer({ cert: pair.certPem, key: pair.keyPem }, (s) => s.end()));
  expect(await servedSerial({ port, starttls: 'none' })).toBe(serial());
});

test("PostgreSQL SSLRequest answered 'S': TLS follows, the presented serial", async () => {
  const ctx = tls.createSecureContext({ cert: pair.certPem, key: pair.keyPem });
  const port = await listen(
    net.createServer((socket) => {
      socket.once('data', (b: Buffer) => {
        expect(b.readUInt32BE(4)).toBe(80877103);
        socket.write('S');
        const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: ctx });
        secure.on('error', () => undefined);
      });
    }),
  );
  expect(await servedSerial({ port, starttls: 'postgres' })).toBe(serial());
});

test("PostgreSQL SSLRequest answered 'N': null (no TLS)", async () => {
  const port = await listen(net.createServer((socket) => socket.once('data', () => socket.end('N'))));
  expect(await servedSerial({ port, starttls: 'postgres' })).toBeNull();
});

test('a plain HTTP server where TLS was expected: null (no TLS)', async () => {
  const port = await listen(http.createServer((_, res) => res.end('ok')));
  expect(await servedSerial({ port, starttls: 'none' })).toBeNull();
});

test('serials compare without a leading zero byte or colons', () => {
  expect(normalSerial('0AEB:E0F1')).toBe(normalSerial('aebe0f1'));
});
