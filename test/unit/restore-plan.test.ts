/**
 * The restored cluster's spec (common/restore-plan.ts): the backup's layout under the new name, each
 * group's primary at the point listed first, ports from the spec file or free ones, a scratch
 * cluster with one member per group; the `--to` parser and the restore input's schema.
 */
import type { RestorePointRecord } from '../../common/backup-records';
import { inputProblems, restoreClusterInputSchema } from '../../common/inputs';
import { pickPorts, portsNeeded, primaryFirst, restoredSpec } from '../../common/restore-plan';
import { parseRestoreTarget } from '../../common/restore-target';
import { parseSpec } from '../../common/spec';
import { groupsOf } from '../../common/topology';
import { restoreRolesSql, withoutVerifiers } from '../../activities/backup/restore-group';

const backupSpec = parseSpec({ name: 'demo', demo: { rows: 500 } });

function point(primaries: Record<string, string>): RestorePointRecord {
  return {
    name: 'r1',
    cluster: 'demo',
    createdAt: '2026-12-07T03:00:00.000Z',
    origin: 'manual',
    coordinatorLsn: '0/5000000',
    groups: Object.fromEntries(
      Object.entries(primaries).map(([g, p]) => [g, { primary: p, lsn: '0/5000000', timeline: 1, walFile: 'x' }]),
    ),
    rowCounts: { 'public.events': 500 },
    pauseMs: 3,
  };
}

// g1 failed over before the point: g1-b is its primary.
const afterFailover = point({ coordinator: 'coord-a', g1: 'g1-b', g2: 'g2-a' });

describe('restoredSpec', () => {
  test("renamed, the point's primary first in its group, everything else the backup's", () => {
    const r = restoredSpec({ backupSpec, point: afterFailover, as: 'demo2' });
    if (!r.ok) throw new Error(r.problems.join('; '));
    expect(r.spec.name).toBe('demo2');
    expect(groupsOf(r.spec).map((g) => g.primary.name)).toEqual(['coord-a', 'g1-b', 'g2-a']);
    expect(r.spec.members.map((m) => m.name)).toEqual(['coord-a', 'coord-b', 'g1-b', 'g1-a', 'g2-a', 'g2-b']);
    // Ports stay with their member (the backup's own: a restore in place keeps them).
    const port = (s: typeof backupSpec, n: string) => s.members.find((m) => m.name === n)!.port;
    for (const m of backupSpec.members) expect(port(r.spec, m.name)).toBe(m.port);
    expect(r.spec.demo).toEqual(backupSpec.demo);
    expect(r.spec.durability).toBe('synchronous');
  });

  test('free ports: every member, then PgBouncer, then etcd', () => {
    const ports = [26000, 26001, 26002, 26003, 26004, 26005, 26006, 26007];
    expect(portsNeeded(backupSpec)).toBe(8);
    const r = restoredSpec({ backupSpec, point: afterFailover, as: 'demo2', freePorts: ports });
    if (!r.ok) throw new Error(r.problems.join('; '));
    expect(r.spec.members.map((m) => m.port)).toEqual(ports.slice(0, 6));
    expect(r.spec.pgbouncer.port).toBe(26006);
    expect(r.spec.etcd.port).toBe(26007);
    expect(restoredSpec({ backupSpec, point: afterFailover, as: 'x', freePorts: ports.slice(0, 7) }).ok).toBe(false);
  });

  test("a spec file gives ports by member and its settings; the layout and the data stay the backup's", () => {
    const given = parseSpec({
      name: 'whatever',
      members: backupSpec.members.map((m, i) => ({ ...m, port: 31500 + i })),
      pgbouncer: { port: 31510 },
      etcd: { port: 31511 },
      health: { intervalSeconds: 30 },
    });
    const r = restoredSpec({ backupSpec, point: afterFailover, as: 'demo2', given });
    if (!r.ok) throw new Error(r.problems.join('; '));
    expect(r.spec.name).toBe('demo2');
    expect(r.spec.members.find((m) => m.name === 'g1-b')!.port).toBe(31503);
    expect(r.spec.members[2]!.name).toBe('g1-b');
    expect(r.spec.pgbouncer.port).toBe(31510);
    expect(r.spec.etcd.port).toBe(31511);
    expect(r.spec.health.intervalSeconds).toBe(30);
    expect(r.spec.demo.rows).toBe(500);
  });

  test('a spec file of another layout is refused, naming both', () => {
    const given = parseSpec({ name: 'x', workers: ['g1'] });
    const r = restoredSpec({ backupSpec, point: afterFailover, as: 'demo2', given });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems[0]).toMatch(/layout .* is not the backup's/);
  });

  test('a point naming an unknown or missing primary is refused', () => {
    const r = restoredSpec({ backupSpec, point: point({ coordinator: 'coord-a', g1: 'g9-z' }), as: 'demo2' });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/g9-z, the primary of g1/),
          expect.stringMatching(/no primary for group g2/),
        ]),
      );
    }
  });

  test('scratch: one member per group (the primary), asynchronous', () => {
    expect(portsNeeded(backupSpec, true)).toBe(5);
    const r = restoredSpec({ backupSpec, point: afterFailover, as: 'v1', scratch: true, freePorts: [1, 2, 3, 4, 5] });
    if (!r.ok) throw new Error(r.problems.join('; '));
    expect(r.spec.members.map((m) => m.name)).toEqual(['coord-a', 'g1-b', 'g2-a']);
    expect(r.spec.durability).toBe('async');
    // It reads the source's repository and has none of its own; the rest of the backup settings stay.
    expect(backupSpec.backup.enabled).toBe(true);
    expect(r.spec.backup).toEqual({ ...backupSpec.backup, enabled: false });
    expect(parseSpec(r.spec)).toEqual(r.spec); // still a valid spec
  });

  test('not scratch: backups as the backup had them', () => {
    const r = restoredSpec({
      backupSpec,
      point: afterFailover,
      as: 'v2',
      freePorts: Array.from({ length: portsNeeded(backupSpec) }, (_, i) => i + 1),
    });
    if (!r.ok) throw new Error(r.problems.join('; '));
    expect(r.spec.backup).toEqual(backupSpec.backup);
  });

  test('primaryFirst keeps the group order and the other members in theirs', () => {
    const s = parseSpec({
      name: 'x',
      workers: ['g1'],
      members: [
        { name: 'c1', group: 'coordinator', port: 1 },
        { name: 'a', group: 'g1', port: 2 },
        { name: 'b', group: 'g1', port: 3 },
        { name: 'c', group: 'g1', port: 4 },
      ],
    });
    expect(primaryFirst(s, { coordinator: 'c1', g1: 'c' }).map((m) => m.name)).toEqual(['c1', 'c', 'a', 'b']);
  });
});

test('pickPorts: the first free ones from the start, or an error', async () => {
  const taken = new Set([25432, 25434]);
  await expect(pickPorts(3, async (p) => !taken.has(p))).resolves.toEqual([25433, 25435, 25436]);
  await expect(pickPorts(3, async () => false, 100, 110)).rejects.toThrow(/only 0 of 3 free ports/);
});

test('--to: latest, a time, or a point name', () => {
  expect(parseRestoreTarget('latest')).toEqual({ latest: true });
  expect(parseRestoreTarget('2026-12-07T03:00:00Z')).toEqual({ time: '2026-12-07T03:00:00Z' });
  expect(parseRestoreTarget('2026-12-07')).toEqual({ time: '2026-12-07' });
  expect(parseRestoreTarget('rp-20261207t030000z')).toEqual({ point: 'rp-20261207t030000z' });
});

test('restoreCluster input: target required and one of its forms; names checked', () => {
  const problems = (i: unknown) => inputProblems(restoreClusterInputSchema, i);
  expect(problems({ as: 'demo2', from: 'demo', target: { point: 'r1' } })).toEqual([]);
  expect(problems({ as: 'demo2', target: { latest: true }, scratch: true, freePorts: false })).toEqual([]);
  expect(problems({ as: 'demo2' })).toEqual(['target: required']);
  expect(problems({ as: 'Demo2', target: { time: 'yesterday' } }).length).toBe(2);
  expect(problems({ as: 'demo2', target: { latest: true }, scratch: 'yes' })[0]).toMatch(/^scratch: /);
});

test('restoreCluster input: exactly one target form', () => {
  const problems = (target: unknown) => inputProblems(restoreClusterInputSchema, { as: 'demo2', target });
  expect(problems({})[0]).toMatch(/^target: give exactly one of/);
  expect(problems({ point: 'r1', latest: true })[0]).toMatch(/^target: give exactly one of/);
  expect(problems({ latest: false })[0]).toMatch(/^target\.latest: /);
  expect(problems({ point: 'R1' })[0]).toMatch(/^target\.point: /);
});

test("the restored roles get the new cluster's secrets as SCRAM verifiers, never a password", () => {
  const secrets = {
    superuserPassword: 'super-secret-1',
    replicationPassword: 'repl-secret-2',
    appPassword: 'app-secret-3',
    appScramVerifier: 'SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy',
    etcdRootPassword: 'e',
    pgbouncerAdminPassword: 'p',
    pgbouncerAdminScramVerifier: 'v',
  };
  const sql = restoreRolesSql(secrets);
  for (const pw of [secrets.superuserPassword, secrets.replicationPassword, secrets.appPassword])
    expect(sql).not.toContain(pw);
  expect(sql).toContain(`$v$${secrets.appScramVerifier}$v$`);
  expect(sql.match(/ALTER ROLE %I PASSWORD %L', '(postgres|replicator|app)'/g)).toHaveLength(3);
  expect(sql.match(/\$v\$SCRAM-SHA-256\$4096:/g)).toHaveLength(3);
  // Not propagated by Citus: every group's restore sets its own roles (the others are not reachable).
  expect(sql).toContain(
    "IF current_setting('citus.enable_alter_role_propagation', true) IS NOT NULL THEN " +
      "PERFORM set_config('citus.enable_alter_role_propagation', 'off', false)",
  );
  // An error echoing the statement shows no verifier.
  const echoed = `CONTEXT: SQL statement "ALTER ROLE app PASSWORD '${secrets.appScramVerifier}'"`;
  expect(withoutVerifiers(echoed)).toBe(`CONTEXT: SQL statement "ALTER ROLE app PASSWORD 'SCRAM-SHA-256$(hidden)'"`);
});
