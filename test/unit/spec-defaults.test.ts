/**
 * Every spec field has a default: `{}` is the project's cluster.yaml, `{ name }` the same layout
 * under another name (the small inputs pasted into the Temporal UI). Members follow the worker
 * groups when only those are given, and worker groups follow the members.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { defaultMembers, parseSpec, SpecError, withDerivedDefaults } from '../../common/spec';

const CLUSTER_YAML = path.join(__dirname, '..', '..', 'cluster.yaml');
const clusterYaml = () => parseSpec(parseYaml(fs.readFileSync(CLUSTER_YAML, 'utf8')));

describe('spec defaults', () => {
  test('{} is exactly the project cluster.yaml', () => {
    expect(parseSpec({})).toEqual(clusterYaml());
  });

  test('no input at all (undefined) is the default cluster too', () => {
    expect(parseSpec(undefined)).toEqual(clusterYaml());
  });

  test('{ name } is the default layout under that name', () => {
    const spec = parseSpec({ name: 'shop' });
    expect(spec).toEqual({ ...clusterYaml(), name: 'shop' });
    expect(spec.members.map((m) => `${m.name}/${m.group}/${m.port}`)).toEqual([
      'coord-a/coordinator/5432',
      'coord-b/coordinator/5433',
      'g1-a/g1/5434',
      'g1-b/g1/5435',
      'g2-a/g2/5436',
      'g2-b/g2/5437',
    ]);
    expect(spec.pgbouncer).toEqual({
      port: 6432,
      poolMode: 'transaction',
      maxClientConn: 10_000,
      poolSize: 20,
      processes: 1,
    });
    expect(spec.etcd).toEqual({ port: 2379 });
    expect(spec.demo).toEqual({ table: 'events', rows: 100_000, shardCount: 32 });
    expect(spec.durability).toBe('synchronous');
    expect(spec.images).toEqual({});
  });

  test("workers without members: two members per group, ports in order after the coordinator's", () => {
    const spec = parseSpec({ name: 'three', workers: ['g1', 'g2', 'g3'] });
    expect(spec.members).toEqual(defaultMembers(['g1', 'g2', 'g3']));
    expect(spec.members.filter((m) => m.group === 'g3').map((m) => [m.name, m.port])).toEqual([
      ['g3-a', 5438],
      ['g3-b', 5439],
    ]);
  });

  test('members without workers: the worker groups are the groups the members name, in order', () => {
    const spec = parseSpec({
      name: 'small',
      members: [
        { name: 'c1', group: 'coordinator', port: 31000 },
        { name: 'w2-a', group: 'w2', port: 31001 },
        { name: 'w1-a', group: 'w1', port: 31002 },
        { name: 'w2-b', group: 'w2', port: 31003 },
      ],
    });
    expect(spec.workers).toEqual(['w2', 'w1']);
  });

  test('defaults never share state between parses', () => {
    const a = parseSpec({});
    a.members[0]!.port = 1;
    a.workers.push('zz');
    expect(parseSpec({}).members[0]!.port).toBe(5432);
    expect(parseSpec({}).workers).toEqual(['g1', 'g2']);
  });

  test('given fields still win and are still checked: workers naming a group without members', () => {
    const members = defaultMembers(['g1']);
    expect(() => parseSpec({ workers: ['g1', 'g2'], members })).toThrow(SpecError);
    try {
      parseSpec({ workers: ['g1', 'g2'], members });
    } catch (err) {
      expect((err as SpecError).problems).toEqual(['workers: group "g2" has no members']);
    }
  });

  test('a bad workers value is reported by the schema, not hidden by the derived members', () => {
    expect(() => parseSpec({ workers: 'g1' })).toThrow(/workers: /);
    expect(() => parseSpec({ workers: [] })).toThrow(/workers: a cluster needs at least one worker group/);
  });

  test('withDerivedDefaults leaves non-objects and malformed members alone', () => {
    expect(withDerivedDefaults('x')).toBe('x');
    expect(withDerivedDefaults(null)).toBeNull();
    expect(withDerivedDefaults({ members: 'nope' })).toEqual({ members: 'nope' });
    expect(() => parseSpec({ members: 'nope' })).toThrow(/members: /);
  });
});
