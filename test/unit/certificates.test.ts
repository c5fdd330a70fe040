/** The pure certificate decisions: the order of a rotation, the containers, the served verdict, the expiry verdict. */
import {
  expiryVerdict,
  nearestExpiry,
  rotationSteps,
  servedVerdict,
  tlsTargets,
  type CertificateExpiry,
} from '../../common/certificates';
import { parseSpec } from '../../common/spec';

const DAY = 86_400_000;
const AT = Date.parse('2026-06-01T00:00:00Z');
const inDays = (d: number) => new Date(AT + d * DAY).toISOString();

describe('rotationSteps', () => {
  test('renewal under the same CA: the trust bundle everywhere first, renew, then install', () => {
    expect(
      rotationSteps({ rotateCa: false }).map((s) => (s.kind === 'install' ? `install:${s.part}` : s.kind)),
    ).toEqual(['install:trust', 'renew', 'install:all']);
  });

  test('CA rotation: trust both before any new certificate, retire after every install, the bundle again', () => {
    const steps = rotationSteps({ rotateCa: true });
    expect(steps.map((s) => (s.kind === 'install' ? `install:${s.part}` : s.kind))).toEqual([
      'rotate-ca',
      'install:trust',
      'renew',
      'install:all',
      'retire-old-cas',
      'install:trust',
    ]);
    expect(new Set(steps.map((s) => s.name)).size).toBe(steps.length); // progress steps are named once each
  });
});

test('tlsTargets: a container per member, PgBouncer and etcd; the orchestrator client has none', () => {
  const spec = parseSpec({
    name: 'demo',
    workers: ['g1'],
    members: [
      { name: 'coord-a', group: 'coordinator', port: 5432 },
      { name: 'g1-a', group: 'g1', port: 5433 },
    ],
  });
  expect(tlsTargets(spec)).toEqual([
    { id: 'member-coord-a', role: 'postgres', container: 'citusctl-demo-coord-a', server: 'coord-a' },
    { id: 'member-g1-a', role: 'postgres', container: 'citusctl-demo-g1-a', server: 'g1-a' },
    { id: 'pgbouncer', role: 'pgbouncer', container: 'citusctl-demo-pgbouncer', server: 'pgbouncer' },
    { id: 'etcd', role: 'etcd', container: 'citusctl-demo-etcd', server: 'etcd' },
  ]);
});

test.each([
  [null, 'ab', 'cd', 'no-tls'],
  ['AB', 'ab', 'cd', 'current'],
  ['cd', 'ab', 'cd', 'previous'],
  ['ef', 'ab', 'cd', 'other'],
  ['ef', 'ab', undefined, 'other'],
] as const)('servedVerdict(%s, current %s, previous %s) = %s', (served, current, previous, want) => {
  expect(servedVerdict(served, current, previous)).toBe(want);
});

describe('expiry', () => {
  const certs: CertificateExpiry[] = [
    { id: 'ca', notAfter: inDays(3000) },
    { id: 'member-g1-a', notAfter: inDays(40) },
    { id: 'etcd', notAfter: inDays(20) },
  ];

  test('nearestExpiry: the certificate that ends first', () => {
    expect(nearestExpiry(certs)?.id).toBe('etcd');
    expect(nearestExpiry([])).toBeUndefined();
  });

  test('20 days left: not a problem; the nearest is reported with its days', () => {
    expect(expiryVerdict({ ok: true, certificates: certs }, AT)).toEqual({
      nearest: { id: 'etcd', notAfter: inDays(20), daysLeft: 20 },
      problems: [],
    });
  });

  test('under 7 days: a problem naming the certificate; expired says so', () => {
    const soon = [...certs, { id: 'pgbouncer', notAfter: inDays(6.5) }, { id: 'member-g1-b', notAfter: inDays(-1) }];
    const v = expiryVerdict({ ok: true, certificates: soon }, AT);
    expect(v.nearest).toMatchObject({ id: 'member-g1-b', daysLeft: -1 });
    expect(v.problems).toEqual([
      { subject: 'pgbouncer', message: expect.stringMatching(/^certificate expires in 6 day\(s\)/) },
      { subject: 'member-g1-b', message: `certificate expired ${inDays(-1)}` },
    ]);
  });

  test('exactly 7 days left is not yet a problem; a threshold of 10 makes it one', () => {
    const seven = [{ id: 'etcd', notAfter: inDays(7) }];
    expect(expiryVerdict({ ok: true, certificates: seven }, AT).problems).toEqual([]);
    expect(expiryVerdict({ ok: true, certificates: seven }, AT, 10).problems).toHaveLength(1);
  });

  test('a store that cannot be read, or holds nothing, is a problem', () => {
    expect(expiryVerdict({ ok: false, error: 'EACCES' }, AT).problems).toEqual([
      { subject: 'certificates', message: 'cannot read the store: EACCES' },
    ]);
    expect(expiryVerdict({ ok: true, certificates: [] }, AT).problems).toHaveLength(1);
  });
});
