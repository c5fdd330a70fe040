/**
 * Nothing is created before the spec and the images are known good: bad specs exit 2 naming the
 * field, a PostgreSQL image without Citus exits 3 saying how to supply one. After each, no Docker
 * object labelled for the cluster exists, no secrets were generated and no Temporal was started.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import type { ClusterSpecInput } from '../../common/spec';
import {
  citusVersionOfImage,
  describeRun,
  labelledObjects,
  layout,
  logCitus,
  makeCluster,
  removeLabelled,
  runCli,
  testImages,
  type TestCluster,
} from './support/cluster';

jest.setTimeout(5 * 60_000);

const TEMPORAL_PORT = 32245;

function good(name: string): ClusterSpecInput {
  return layout({ name, basePort: 31300, temporalPort: TEMPORAL_PORT, rows: 1000, coordinatorStandby: false });
}

type Raw = Record<string, unknown> & { members: Record<string, unknown>[] };
const raw = (name: string) => JSON.parse(JSON.stringify(good(name))) as Raw;

interface BadCase {
  title: string;
  name: string;
  doc: Record<string, unknown>;
  /** Text the message must contain: the field (and what is wrong with it). */
  field: RegExp;
}

const cases: BadCase[] = [
  (() => ({
    title: 'unknown top-level key',
    name: 'it-pre-key',
    doc: { ...raw('it-pre-key'), colour: 'blue' },
    field: /\(top level\): unknown key\(s\) "colour"/,
  }))(),
  (() => {
    const d = raw('it-pre-mkey');
    d.members[1] = { ...d.members[1], role: 'primary' };
    return { title: 'unknown member key', name: 'it-pre-mkey', doc: d, field: /members\[1\]: unknown key\(s\) "role"/ };
  })(),
  { title: 'bad cluster name', name: 'It_Bad', doc: { ...raw('x'), name: 'It_Bad' }, field: /^\s*- name: must be/m },
  (() => {
    const d = raw('it-pre-dup');
    d.members.push({ name: 'g1-a', group: 'g1', port: 31390 });
    return {
      title: 'duplicate member',
      name: 'it-pre-dup',
      doc: d,
      field: /members\[\d+\]\.name: duplicate member "g1-a"/,
    };
  })(),
  (() => {
    const d = raw('it-pre-port');
    d.members[2] = { ...d.members[2], port: d.members[0]!.port };
    return {
      title: 'port clash between members',
      name: 'it-pre-port',
      doc: d,
      field: /members\[2\]\.port: port 31300 is already used by members\[0\]\.port/,
    };
  })(),
  (() => {
    const d = raw('it-pre-bport');
    d.pgbouncer = { port: d.members[1]!.port };
    return {
      title: 'port clash with PgBouncer',
      name: 'it-pre-bport',
      doc: d,
      field: /pgbouncer\.port: port \d+ is already used by members\[1\]\.port/,
    };
  })(),
  {
    title: 'no worker groups',
    name: 'it-pre-nowk',
    doc: {
      name: 'it-pre-nowk',
      workers: [],
      members: [
        { name: 'coord-a', group: 'coordinator', port: 31300 },
        { name: 'coord-b', group: 'coordinator', port: 31301 },
      ],
      pgbouncer: { port: 31302 },
      etcd: { port: 31303 },
    },
    field: /workers: a cluster needs at least one worker group/,
  },
  (() => {
    const d = raw('it-pre-grp');
    d.members.push({ name: 'g9-a', group: 'g9', port: 31391 });
    return {
      title: 'member in an undeclared group',
      name: 'it-pre-grp',
      doc: d,
      field: /members\[\d+\]\.group: "g9" is neither "coordinator" nor a worker group/,
    };
  })(),
];

let dir: string;

function specFile(c: TestCluster, doc: unknown): string {
  const f = path.join(c.dir, `bad-${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(f, stringify(doc));
  return f;
}

async function assertNothingCreated(c: TestCluster, name: string): Promise<void> {
  expect(await labelledObjects(name)).toEqual({ containers: [], networks: [], volumes: [] });
  expect(fs.existsSync(path.join(c.stateDir, 'clusters', name))).toBe(false); // no secrets generated
  expect(fs.existsSync(path.join(c.stateDir, 'temporal'))).toBe(false); // no Temporal server started
}

describe('preflight: nothing is created for a bad spec or an image without Citus', () => {
  let c: TestCluster;

  beforeAll(() => {
    const version = citusVersionOfImage(testImages().postgres);
    logCitus(version, 'no cluster in this file: citus_version() of the test image in a throwaway container');
    c = makeCluster(good('it-pre-ok'), TEMPORAL_PORT);
    dir = c.dir;
  });

  afterAll(async () => {
    for (const name of ['it-pre-ok', 'it-pre-noc', ...cases.map((x) => x.name)]) await removeLabelled(name);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe.each(cases)('$title', ({ name, doc, field }) => {
    it('exits 2 naming the field (human output), nothing created', async () => {
      const r = await runCli(['up', '-c', specFile(c, doc)], c.env, 120_000);
      expect({ code: r.code, output: describeRun(r) }).toMatchObject({ code: 2 });
      expect(r.stderr).toMatch(/^citusctl: invalid cluster spec:/);
      expect(r.stderr).toMatch(field);
      await assertNothingCreated(c, name);
    });

    it('exits 2 with the problem in the JSON document (--json), nothing created', async () => {
      const r = await runCli(['up', '--json', '-c', specFile(c, doc)], c.env, 120_000);
      expect({ code: r.code, output: describeRun(r) }).toMatchObject({ code: 2 });
      const out = JSON.parse(r.stdout) as { ok: boolean; error: string; problems: string[] };
      expect(out.ok).toBe(false);
      expect(out.problems.some((p) => field.test(`  - ${p}`))).toBe(true);
      await assertNothingCreated(c, name);
    });
  });

  it('exits 2 when the spec file does not exist', async () => {
    const r = await runCli(['up', '-c', path.join(c.dir, 'nope.yaml')], c.env, 120_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nope.yaml');
  });

  describe('a PostgreSQL image without Citus (citusctl/postgres:17)', () => {
    const NO_CITUS = 'citusctl/postgres:17';

    it('the image really has no Citus', () => {
      expect(() => citusVersionOfImage(NO_CITUS)).toThrow();
      console.log(`[citus under test] none in ${NO_CITUS} (expected: this case checks the missing-Citus preflight)`);
    });

    it('exits 3, says a Citus image is missing and how to supply it, creates nothing', async () => {
      const ok = makeCluster(good('it-pre-noc'), TEMPORAL_PORT);
      try {
        const env = { ...ok.env, CITUSCTL_IMAGE_POSTGRES: NO_CITUS };
        const r = await runCli(['up', '-c', ok.specFile], env, 180_000);
        expect({ code: r.code, output: describeRun(r) }).toMatchObject({ code: 3 });
        expect(r.stderr).toMatch(/Missing: a PostgreSQL image with Citus/);
        expect(r.stderr).toContain(NO_CITUS);
        expect(r.stderr).toMatch(/citus extension is not installed/);
        expect(r.stderr).toMatch(/CITUSCTL_IMAGE_POSTGRES=\S+ citusctl up/); // how to supply one
        expect(r.stderr).toMatch(/docker load/);
        expect(r.stderr).toMatch(/Nothing was created/);
        await assertNothingCreated(ok, 'it-pre-noc');

        const j = await runCli(['up', '--json', '-c', ok.specFile], env, 180_000);
        expect(j.code).toBe(3);
        const out = JSON.parse(j.stdout) as { ok: boolean; error: string };
        expect(out.ok).toBe(false);
        expect(out.error).toMatch(/Missing: a PostgreSQL image with Citus/);
        await assertNothingCreated(ok, 'it-pre-noc');
      } finally {
        await removeLabelled('it-pre-noc');
        fs.rmSync(ok.dir, { recursive: true, force: true });
      }
    });
  });
});
