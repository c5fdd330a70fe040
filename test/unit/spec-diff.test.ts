/** specDifferences: a spec given with an input against the spec stored with its cluster. */
import { describeDifferences, specDifferences } from '../../common/spec-diff';
import { parseSpec } from '../../common/spec';

const stored = {
  ...parseSpec({ name: 'demo' }),
  images: { postgres: 'citus:13', pgbouncer: 'citusctl/pgbouncer:1', etcd: 'citusctl/etcd:3.5' },
};

describe('specDifferences', () => {
  test('the same layout without images is the stored spec (its images are what the setup resolved)', () => {
    expect(specDifferences(parseSpec({ name: 'demo' }), stored)).toEqual([]);
  });

  test('an image the given spec names is compared', () => {
    expect(specDifferences(parseSpec({ name: 'demo', images: { postgres: 'citus:13' } }), stored)).toEqual([]);
    expect(specDifferences(parseSpec({ name: 'demo', images: { postgres: 'other:1' } }), stored)).toEqual([
      'images.postgres (given "other:1", stored "citus:13")',
    ]);
  });

  test('each differing field is named with both values', () => {
    const given = parseSpec({
      name: 'demo',
      pgbouncer: { port: 7000 },
      failover: 'manual',
      members: stored.members.map((m) => (m.name === 'g2-b' ? { ...m, port: 6000 } : m)),
    });
    expect(specDifferences(given, stored)).toEqual([
      'failover (given "manual", stored "auto")',
      'members[5].port (given 6000, stored 5437)',
      'pgbouncer.port (given 7000, stored 6432)',
    ]);
  });

  test('a list of another length differs as a whole', () => {
    const d = specDifferences(parseSpec({ name: 'demo', workers: ['g1'] }), stored);
    expect(d).toContain('workers (given ["g1"], stored ["g1","g2"])');
    expect(d.some((x) => x.startsWith('members (given '))).toBe(true);
  });

  test('describeDifferences shows the first few and counts the rest', () => {
    const many = Array.from({ length: 11 }, (_, i) => `f${i} (given 1, stored 2)`);
    expect(describeDifferences(many)).toMatch(/^f0 .*; f7 \(given 1, stored 2\); and 3 more$/);
  });
});
