/**
 * citusctl's PostgreSQL connector against servers that are not who it asked for (an impostor on a
 * member's port, lib/pg-connector.ts): no password ever leaves it unless the server proved its
 * name with a certificate from the cluster's CA, and then only through SCRAM, channel-bound when
 * offered. Real TLS (Node's), real pg client; the server side is a fake speaking the protocol.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseSpec } from '../../common/spec';
import { memberIdentityId, tlsIdentities, type TlsLifetimes } from '../../common/tls-identities';
import { createPgConnector, ServerRefusedError, type PgTls } from '../../lib/pg-connector';
import { TlsStore } from '../../lib/tls/tls-store';
import { startImpostor, type Impostor, type ImpostorOptions } from '../integration/support/impostor';

const LIFETIMES: TlsLifetimes = { certificateDays: 90, renewBeforeDays: 30, caDays: 3650 };
const spec = parseSpec({ name: 'pgtlsunit' });
const identity = (id: string) => tlsIdentities(spec).find((i) => i.id === id)!;
const PASSWORD = 'the-superuser-password';

const roots: string[] = [];
const store = () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'citusctl-pgtls-'));
  roots.push(root);
  return new TlsStore(root);
};
const impostors: Impostor[] = [];
const impostor = async (opts: ImpostorOptions) => {
  const i = await startImpostor(opts);
  impostors.push(i);
  return i;
};
afterAll(async () => {
  await Promise.all(impostors.map((i) => i.close()));
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

let ours: TlsStore;
let tls: PgTls;
beforeAll(async () => {
  ours = store();
  await ours.ensureCa(spec.name, LIFETIMES);
  tls = { ca: await ours.trust(spec.name), servername: 'coord-a' };
});

async function connect(port: number, t: PgTls | null): Promise<unknown> {
  return createPgConnector()
    .withClient({ port, user: 'postgres', password: PASSWORD, tls: t, connectTimeoutMs: 3000 }, async () => 'connected')
    .catch((err: unknown) => err);
}

test('a certificate from another CA, for the very name asked: refused at the handshake, no password', async () => {
  const foreign = await store().ensure(spec.name, identity(memberIdentityId('coord-a')), LIFETIMES);
  const i = await impostor({ cert: foreign });
  const err = await connect(i.port, tls);
  expect(err).toBeInstanceOf(ServerRefusedError);
  expect((err as ServerRefusedError).reason).toBe('certificate');
  expect((err as Error).message).toMatch(/does not prove it is coord-a .*no password was sent/);
  expect(i.startups).toBe(0);
  expect(i.passwords).toEqual([]);
});

test("the cluster CA's certificate of another member: refused (the name is checked, not only the CA)", async () => {
  const other = await ours.ensure(spec.name, identity(memberIdentityId('coord-b')), LIFETIMES);
  const i = await impostor({ cert: other });
  const err = await connect(i.port, tls);
  expect((err as ServerRefusedError).reason).toBe('certificate');
  expect((err as Error).message).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/);
  expect(i.passwords).toEqual([]);
});

test('a server without TLS: refused, no password', async () => {
  const i = await impostor({});
  const err = await connect(i.port, tls);
  expect((err as ServerRefusedError).reason).toBe('no-tls');
  expect((err as Error).message).toMatch(/does not offer TLS, so it cannot be coord-a/);
  expect(i.passwords).toEqual([]);
});

test('a server asking for a cleartext password gets none, with TLS or without', async () => {
  const right = await ours.ensure(spec.name, identity(memberIdentityId('coord-a')), LIFETIMES);
  const withTls = await impostor({ cert: right });
  const err = await connect(withTls.port, tls);
  expect(withTls.tlsHandshakes).toBe(1);
  expect(withTls.startups).toBe(1);
  expect((err as ServerRefusedError).reason).toBe('weak-auth');
  expect((err as Error).message).toMatch(/asked for a cleartext password/);
  const plain = await impostor({});
  expect(((await connect(plain.port, null)) as ServerRefusedError).reason).toBe('weak-auth');
  await new Promise((r) => setTimeout(r, 100));
  expect(withTls.passwords).toEqual([]);
  expect(plain.passwords).toEqual([]);
});

test('over TLS, SCRAM is bound to the channel when the server offers it (SCRAM-SHA-256-PLUS)', async () => {
  const right = await ours.ensure(spec.name, identity(memberIdentityId('coord-a')), LIFETIMES);
  const i = await impostor({ cert: right, sasl: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'] });
  void connect(i.port, { ...tls });
  for (let t = 0; t < 50 && i.passwords.length === 0; t++) await new Promise((r) => setTimeout(r, 50));
  // SASLInitialResponse: the mechanism's name, NUL, then the client-first message (no password in it).
  const first = i.passwords[0]!;
  expect(first.subarray(0, first.indexOf(0)).toString()).toBe('SCRAM-SHA-256-PLUS');
  expect(first.toString()).toContain('p=tls-server-end-point');
  expect(first.toString()).not.toContain(PASSWORD);
  await i.close();
});
