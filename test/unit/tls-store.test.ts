/**
 * The cluster CA and its certificates, checked by Node's own X.509 and TLS stacks (not by the
 * library that wrote them): SANs, signatures, a real handshake with verify-full semantics, the
 * store's file modes, renewal and CA rotation.
 */
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { parseSpec } from '../../common/spec';
import { tlsIdentities, memberIdentityId, type TlsLifetimes } from '../../common/tls-identities';
import { TlsStore } from '../../lib/tls/tls-store';
import type { KeyPair } from '../../lib/tls/x509';

const LIFETIMES: TlsLifetimes = { certificateDays: 90, renewBeforeDays: 30, caDays: 3650 };
const spec = parseSpec({ name: 'tlsunit' });
const identity = (id: string) => tlsIdentities(spec).find((i) => i.id === id)!;

let root: string;
let store: TlsStore;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'citusctl-tls-'));
  store = new TlsStore(root);
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

/** Handshake as a verify-full client would: CA bundle + the name it expects. */
async function handshake(server: KeyPair, ca: string, servername: string): Promise<string> {
  const srv = tls.createServer({ cert: server.certPem, key: server.keyPem }, (s) => s.end());
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  try {
    return await new Promise<string>((resolve) => {
      const c = tls.connect({ host: '127.0.0.1', port, ca, servername }, () => {
        c.end();
        resolve('ok');
      });
      c.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });
  } finally {
    srv.close();
  }
}

test("a member's certificate names every way it is reached, signed by the cluster's CA", async () => {
  const pair = await store.ensure('tlsunit', identity(memberIdentityId('g1-a')), LIFETIMES);
  const cert = new X509Certificate(pair.certPem);
  const ca = new X509Certificate(await store.trust('tlsunit'));
  expect(cert.verify(ca.publicKey)).toBe(true);
  expect(ca.ca).toBe(true);
  expect(cert.ca).toBe(false);
  for (const host of ['g1-a', 'citusctl-tlsunit-g1-a', 'localhost']) expect(cert.checkHost(host)).toBe(host);
  expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
  expect(cert.checkHost('g1-b')).toBeUndefined();
  const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
  expect(days).toBeGreaterThan(89);
  expect(days).toBeLessThan(91);
});

test('verify-full: the right name completes the handshake; a wrong name or another CA does not', async () => {
  const member = await store.ensure('tlsunit', identity(memberIdentityId('g1-a')), LIFETIMES);
  const ca = await store.trust('tlsunit');
  expect(await handshake(member, ca, 'g1-a')).toBe('ok');
  expect(await handshake(member, ca, 'g1-b')).toBe('ERR_TLS_CERT_ALTNAME_INVALID');

  const other = new TlsStore(fs.mkdtempSync(path.join(os.tmpdir(), 'citusctl-tls-other-')));
  const impostor = await other.ensure('tlsunit', identity(memberIdentityId('g1-a')), LIFETIMES);
  expect(await handshake(impostor, ca, 'g1-a')).toMatch(/UNABLE_TO_VERIFY|SELF_SIGNED|unable to verify/i);
});

test('keys 0600 in a 0700 directory, the trust bundle readable, a second ensure the same pair', async () => {
  const first = await store.ensure('tlsunit', identity('pgbouncer'), LIFETIMES);
  const mode = (p: string) => fs.statSync(p).mode & 0o777;
  expect(mode(store.dir('tlsunit'))).toBe(0o700);
  expect(mode(path.join(store.dir('tlsunit'), 'ca.pem'))).toBe(0o600);
  expect(mode(path.join(store.dir('tlsunit'), 'pgbouncer.pem'))).toBe(0o600);
  expect(mode(store.caPath('tlsunit'))).toBe(0o644);
  expect(fs.readFileSync(store.caPath('tlsunit'), 'utf8')).not.toContain('PRIVATE KEY');
  expect(await store.ensure('tlsunit', identity('pgbouncer'), LIFETIMES)).toEqual(first);
});

test('concurrent first uses agree on one CA and one certificate', async () => {
  const pairs = await Promise.all(
    [1, 2, 3, 4].map(() => new TlsStore(root).ensure('tlsunit', identity('etcd'), LIFETIMES)),
  );
  expect(new Set(pairs.map((p) => p.certPem)).size).toBe(1);
  expect(
    new X509Certificate(pairs[0]!.certPem).verify(new X509Certificate(await store.trust('tlsunit')).publicKey),
  ).toBe(true);
});

test('renew: nothing before 30 days left, a new certificate inside them or when forced', async () => {
  const before = await store.ensure('tlsunit', identity('etcd'), LIFETIMES);
  expect((await store.renew('tlsunit', identity('etcd'), LIFETIMES)).renewed).toBe(false);
  const in61Days = new Date(Date.now() + 61 * 86_400_000);
  const renewed = await store.renew('tlsunit', identity('etcd'), LIFETIMES, { now: in61Days });
  expect(renewed.renewed).toBe(true);
  expect(renewed.pair.certPem).not.toBe(before.certPem);
  expect(await store.read('tlsunit', 'etcd')).toEqual(renewed.pair);
  expect((await store.renew('tlsunit', identity('etcd'), LIFETIMES, { force: true })).renewed).toBe(true);
});

test('CA rotation: both CAs trusted, certificates reissued by the new one, then the old retired', async () => {
  const oldPair = await store.ensure('tlsunit', identity(memberIdentityId('g1-a')), LIFETIMES);
  await store.rotateCa('tlsunit', LIFETIMES);
  const bundle = await store.trust('tlsunit');
  // A server still presenting the old CA's certificate stays trusted meanwhile.
  expect(await handshake(oldPair, bundle, 'g1-a')).toBe('ok');
  const { pair, renewed } = await store.renew('tlsunit', identity(memberIdentityId('g1-a')), LIFETIMES);
  expect(renewed).toBe(true);
  expect(await handshake(pair, bundle, 'g1-a')).toBe('ok');
  expect(await store.retireOldCas('tlsunit')).toBe(1);
  const current = await store.trust('tlsunit');
  expect(await handshake(pair, current, 'g1-a')).toBe('ok');
  expect(await handshake(oldPair, current, 'g1-a')).not.toBe('ok');
});

test('expiries list the CA and every identity', async () => {
  for (const i of tlsIdentities(spec)) await store.ensure('tlsunit', i, LIFETIMES);
  const ids = (await store.expiries('tlsunit')).map((e) => e.id);
  expect(ids).toEqual(
    expect.arrayContaining(['ca', 'pgbouncer', 'etcd', 'client-citusctl', memberIdentityId('coord-a')]),
  );
  expect(ids).toHaveLength(tlsIdentities(spec).length + 1);
});

test('a retried CA rotation (same run) gets the CA it made; another run makes a new one', async () => {
  const first = await store.rotateCa('tlsunit', LIFETIMES, 'run-1');
  expect(await store.rotateCa('tlsunit', LIFETIMES, 'run-1')).toEqual(first);
  const second = await store.rotateCa('tlsunit', LIFETIMES, 'run-2');
  expect(second.certPem).not.toBe(first.certPem);
  expect(await store.trust('tlsunit')).toContain(first.certPem.trim());
});
