import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseSpec, SpecError, type ClusterSpecInput } from '../../common/spec';

const CLUSTER_YAML = path.join(__dirname, '..', '..', 'cluster.yaml');

/** A small valid spec; each test breaks one thing. */
function base(): ClusterSpecInput & Record<string, unknown> {
  return {
    name: 'demo',
    workers: ['g1', 'g2'],
    members: [
      { name: 'coord-a', group: 'coordinator', port: 5432 },
      { name: 'g1-a', group: 'g1', port: 5433 },
      { name: 'g1-b', group: 'g1', port: 5434 },
      { name: 'g2-a', group: 'g2', port: 5435 },
    ],
  };
}

/** Parses and returns the problems; fails the test if the spec is accepted or the error is not a SpecError. */
function problemsOf(input: unknown): string[] {
  let caught: unknown;
  try {
    parseSpec(input);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(SpecError);
  const problems = (caught as SpecError).problems;
  expect(problems.length).toBeGreaterThan(0);
  // The message lists every problem too.
  for (const p of problems) expect((caught as SpecError).message).toContain(p);
  return problems;
}

/** Exactly one problem, which names `field` (at the start, as "field: ...") and matches `what`. */
function expectOneProblem(input: unknown, field: string, what: RegExp): string {
  const problems = problemsOf(input);
  expect(problems).toHaveLength(1);
  const [p] = problems as [string];
  expect(p.startsWith(`${field}:`) || p.startsWith(`${field}.`)).toBe(true);
  expect(p).toMatch(what);
  return p;
}

describe('parseSpec: valid specs', () => {
  test('the default cluster.yaml parses', () => {
    const raw = parseYaml(fs.readFileSync(CLUSTER_YAML, 'utf8')) as Record<string, unknown> & { members: unknown[] };
    const spec = parseSpec(raw);
    // Compared with the YAML itself rather than a copy of it, so editing the default layout does not break this.
    expect(spec.members).toEqual(raw.members);
    expect(spec.workers.length).toBeGreaterThanOrEqual(1);
    expect(spec.members.filter((m) => m.group === 'coordinator').length).toBeGreaterThanOrEqual(1);
    for (const g of spec.workers) expect(spec.members.some((m) => m.group === g)).toBe(true);
    expect(['synchronous', 'async']).toContain(spec.durability);
    expect(spec.pgbouncer.poolMode).toBe('transaction');
    expect(spec.images).toEqual(raw.images ?? {}); // default {} when the YAML leaves it commented out
    expect(spec.requireFailoverApproval).toBe(raw.requireFailoverApproval ?? false);
  });

  test('defaults are filled in', () => {
    const spec = parseSpec(base());
    expect(spec.durability).toBe('synchronous');
    expect(spec.images).toEqual({});
    expect(spec.pgbouncer).toEqual({
      port: 6432,
      poolMode: 'transaction',
      maxClientConn: 10_000,
      poolSize: 20,
      processes: 1,
    });
    expect(spec.etcd).toEqual({ port: 2379 });
    expect(spec.demo).toEqual({ table: 'events', rows: 100_000, shardCount: 32 });
    expect(spec.requireFailoverApproval).toBe(false);
  });

  test('failover policy: auto by default, approve and manual accepted, others named; async failover off', () => {
    const spec = parseSpec(base());
    expect(spec.failover).toBe('auto');
    expect(spec.allowAsyncFailover).toBe(false);
    expect(parseSpec({ ...base(), failover: 'approve' }).failover).toBe('approve');
    expect(parseSpec({ ...base(), failover: 'manual', allowAsyncFailover: true })).toMatchObject({
      failover: 'manual',
      allowAsyncFailover: true,
    });
    expectOneProblem({ ...base(), failover: 'sometimes' }, 'failover', /auto|approve|manual/);
    expectOneProblem({ ...base(), allowAsyncFailover: 'yes' }, 'allowAsyncFailover', /boolean/);
  });

  test('partial nested objects get their remaining defaults', () => {
    const spec = parseSpec({ ...base(), pgbouncer: { port: 7000 }, demo: { rows: 10 } });
    expect(spec.pgbouncer).toEqual({
      port: 7000,
      poolMode: 'transaction',
      maxClientConn: 10_000,
      poolSize: 20,
      processes: 1,
    });
    expect(spec.demo).toEqual({ table: 'events', rows: 10, shardCount: 32 });
  });

  test('parsing does not mutate its input', () => {
    const input = base();
    const before = JSON.stringify(input);
    parseSpec(input);
    expect(JSON.stringify(input)).toBe(before);
  });

  test('single-letter and 31-character names are accepted', () => {
    expect(parseSpec({ ...base(), name: 'a' }).name).toBe('a');
    const long = 'a' + 'b'.repeat(29) + 'c';
    expect(long).toHaveLength(31);
    expect(parseSpec({ ...base(), name: long }).name).toBe(long);
  });
});

describe('parseSpec: bad specs name the field', () => {
  test('unknown top-level key', () => {
    expectOneProblem({ ...base(), colour: 'blue' }, '(top level)', /unknown key.*"colour"/);
  });

  test('unknown nested key (members[0].colour)', () => {
    const spec = base();
    spec.members[0] = { ...spec.members[0]!, colour: 'blue' } as never;
    expectOneProblem(spec, 'members[0]', /unknown key.*"colour"/);
  });

  test('unknown key in pgbouncer', () => {
    expectOneProblem({ ...base(), pgbouncer: { port: 6432, mode: 'transaction' } }, 'pgbouncer', /unknown key.*"mode"/);
  });

  test.each([
    ['uppercase', 'Demo'],
    ['underscore', 'de_mo'],
    ['too long (32 characters)', 'a'.repeat(32)],
    ['starts with a digit', '1demo'],
    ['ends with a hyphen', 'demo-'],
    ['empty', ''],
  ])('bad cluster name: %s', (_what, name) => {
    expectOneProblem({ ...base(), name }, 'name', /1-31 characters/);
  });

  test('bad member name is reported at members[i].name', () => {
    const spec = base();
    spec.members[2] = { ...spec.members[2]!, name: 'G1_B' };
    expectOneProblem(spec, 'members[2].name', /1-31 characters/);
  });

  test('duplicate member', () => {
    const spec = base();
    spec.members[2] = { ...spec.members[2]!, name: 'g1-a' };
    const p = expectOneProblem(spec, 'members[2].name', /duplicate member "g1-a"/);
    expect(p).toContain('members[1]');
  });

  test('port clash: member vs member', () => {
    const spec = base();
    spec.members[3] = { ...spec.members[3]!, port: 5433 };
    const p = expectOneProblem(spec, 'members[3].port', /port 5433 is already used/);
    expect(p).toContain('members[1].port');
  });

  test('port clash: member vs pgbouncer', () => {
    const p = expectOneProblem({ ...base(), pgbouncer: { port: 5434 } }, 'pgbouncer.port', /port 5434 is already used/);
    expect(p).toContain('members[2].port');
  });

  test('pgbouncer scale: bounds on client connections, pool size and processes', () => {
    expectOneProblem({ ...base(), pgbouncer: { maxClientConn: 5 } }, 'pgbouncer.maxClientConn', /10/);
    expectOneProblem({ ...base(), pgbouncer: { maxClientConn: 200_000 } }, 'pgbouncer.maxClientConn', /100000/);
    expectOneProblem({ ...base(), pgbouncer: { poolSize: 61 } }, 'pgbouncer.poolSize', /60/);
    expectOneProblem({ ...base(), pgbouncer: { processes: 0 } }, 'pgbouncer.processes', /1/);
    expectOneProblem({ ...base(), pgbouncer: { processes: 17 } }, 'pgbouncer.processes', /16/);
    expectOneProblem({ ...base(), pgbouncer: { processes: 4, poolSize: 3 } }, 'pgbouncer.poolSize', /4 processes/);
  });

  test('port clash: member vs etcd', () => {
    const p = expectOneProblem({ ...base(), etcd: { port: 5432 } }, 'etcd.port', /port 5432 is already used/);
    expect(p).toContain('members[0].port');
  });

  test('port clash: pgbouncer vs etcd', () => {
    expectOneProblem(
      { ...base(), pgbouncer: { port: 7000 }, etcd: { port: 7000 } },
      'etcd.port',
      /already used by pgbouncer\.port/,
    );
  });

  test('port out of range', () => {
    const spec = base();
    spec.members[1] = { ...spec.members[1]!, port: 70000 };
    expectOneProblem(spec, 'members[1].port', /.+/);
  });

  test('no workers (workers: [])', () => {
    // The members of g1/g2 would also be orphans, but zod stops before the cross-field checks.
    expectOneProblem({ ...base(), workers: [] }, 'workers', /at least one worker group/);
  });

  test('member without a group', () => {
    const spec = base();
    spec.members.push({ name: 'g2-b', port: 5436 } as never);
    expectOneProblem(spec, 'members[4].group', /.+/);
  });

  test('member whose group is not declared', () => {
    const spec = base();
    spec.members.push({ name: 'g3-b', group: 'g3', port: 5436 });
    expectOneProblem(spec, 'members[4].group', /"g3" is neither "coordinator" nor a worker group/);
  });

  test('worker group with no members', () => {
    expectOneProblem({ ...base(), workers: ['g1', 'g2', 'g3'] }, 'workers', /group "g3" has no members/);
  });

  test('no coordinator member', () => {
    const spec = base();
    spec.members = spec.members.filter((m) => m.group !== 'coordinator');
    expectOneProblem(spec, 'members', /no member in group "coordinator"/);
  });

  test('reserved worker group name "coordinator"', () => {
    const problems = problemsOf({ ...base(), workers: ['g1', 'g2', 'coordinator'] });
    expect(problems).toContainEqual(expect.stringMatching(/^workers\[2\]: "coordinator" is reserved/));
  });

  test.each(['pgbouncer', 'etcd'])('reserved member name "%s"', (reserved) => {
    const spec = base();
    spec.members[3] = { ...spec.members[3]!, name: reserved };
    expectOneProblem(spec, 'members[3].name', new RegExp(`"${reserved}" is reserved`));
  });

  test('duplicate worker group', () => {
    const problems = problemsOf({ ...base(), workers: ['g1', 'g2', 'g1'] });
    expect(problems).toContainEqual(expect.stringMatching(/^workers\[2\]: duplicate worker group "g1"/));
  });

  test('several schema problems are reported together', () => {
    const spec = base();
    spec.members[0] = { ...spec.members[0]!, colour: 'blue' } as never;
    const problems = problemsOf({ ...spec, name: 'BAD', workers: [], shape: 1 });
    expect(problems).toHaveLength(4);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^name: /),
        expect.stringMatching(/^workers: /),
        expect.stringMatching(/^\(top level\): unknown key.*"shape"/),
        expect.stringMatching(/^members\[0\]: unknown key.*"colour"/),
      ]),
    );
  });

  test('several cross-field problems are reported together', () => {
    const spec = base();
    spec.members[2] = { ...spec.members[2]!, name: 'g1-a' }; // duplicate member
    spec.members[3] = { ...spec.members[3]!, port: 5432 }; // clash with coord-a
    spec.members.push({ name: 'etcd', group: 'g9', port: 5440 }); // reserved name + undeclared group
    const problems = problemsOf({ ...spec, workers: ['g1', 'g2', 'g3'], pgbouncer: { port: 5433 } });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^members\[2\]\.name: duplicate member "g1-a"/),
        expect.stringMatching(/^members\[3\]\.port: port 5432 is already used by members\[0\]\.port/),
        expect.stringMatching(/^members\[4\]\.group: "g9" is neither/),
        expect.stringMatching(/^members\[4\]\.name: "etcd" is reserved/),
        expect.stringMatching(/^pgbouncer\.port: port 5433 is already used by members\[1\]\.port/),
        expect.stringMatching(/^workers: group "g3" has no members/),
      ]),
    );
    expect(problems).toHaveLength(6);
  });

  test('non-object input', () => {
    expect(() => parseSpec(null)).toThrow(SpecError);
    expect(() => parseSpec('name: demo')).toThrow(SpecError);
  });
});
