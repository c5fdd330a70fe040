import { parseSpec, type ClusterSpec } from '../../common/spec';
import {
  allPrimaries,
  containerName,
  coordinatorGroup,
  findMember,
  groupsOf,
  networkName,
  slotName,
  standbyAssignments,
  volumeName,
  workerGroups,
} from '../../common/topology';

/** Coordinator with a standby, g1 with two standbys, g2 without one. */
const spec: ClusterSpec = parseSpec({
  name: 'demo',
  workers: ['g1', 'g2'],
  members: [
    { name: 'coord-a', group: 'coordinator', port: 5432 },
    { name: 'g1-a', group: 'g1', port: 5433 },
    { name: 'coord-b', group: 'coordinator', port: 5434 },
    { name: 'g1-b', group: 'g1', port: 5435 },
    { name: 'g2-a', group: 'g2', port: 5436 },
    { name: 'g1-c', group: 'g1', port: 5437 },
  ],
});
const names = (ms: { name: string }[]) => ms.map((m) => m.name);

describe('groupsOf / coordinatorGroup / workerGroups', () => {
  test('coordinator first, then workers in spec order; first listed member is the primary', () => {
    const groups = groupsOf(spec);
    expect(groups.map((g) => [g.group, g.isCoordinator, g.primary.name, names(g.standbys)])).toEqual([
      ['coordinator', true, 'coord-a', ['coord-b']],
      ['g1', false, 'g1-a', ['g1-b', 'g1-c']],
      ['g2', false, 'g2-a', []],
    ]);
  });

  test('coordinatorGroup and workerGroups split groupsOf', () => {
    expect(coordinatorGroup(spec).group).toBe('coordinator');
    expect(workerGroups(spec).map((g) => g.group)).toEqual(['g1', 'g2']);
    expect(workerGroups(spec).every((g) => !g.isCoordinator)).toBe(true);
  });

  test('throws on a group without members (parseSpec prevents this)', () => {
    const broken = { ...spec, workers: [...spec.workers, 'g3'] };
    expect(() => groupsOf(broken)).toThrow(/group g3 has no members/);
  });

  test('findMember', () => {
    expect(findMember(spec, 'g1-b').port).toBe(5435);
    expect(() => findMember(spec, 'nope')).toThrow(/unknown member nope/);
  });
});

describe('standbyAssignments', () => {
  const initial = { coordinator: 'coord-a', workers: { g1: 'g1-a', g2: 'g2-a' } };

  test("on a new cluster every non-first member follows its group's first member", () => {
    expect(standbyAssignments(spec, initial)).toEqual([
      { group: 'coordinator', primary: 'coord-a', standby: 'coord-b' },
      { group: 'g1', primary: 'g1-a', standby: 'g1-b' },
      { group: 'g1', primary: 'g1-a', standby: 'g1-c' },
    ]);
  });

  test('after a failover the first member becomes a standby of the second', () => {
    const afterFailover = { coordinator: 'coord-b', workers: { g1: 'g1-b', g2: 'g2-a' } };
    expect(standbyAssignments(spec, afterFailover)).toEqual([
      { group: 'coordinator', primary: 'coord-b', standby: 'coord-a' },
      { group: 'g1', primary: 'g1-b', standby: 'g1-a' },
      { group: 'g1', primary: 'g1-b', standby: 'g1-c' },
    ]);
  });

  test('no member ever follows itself and every non-primary member is assigned exactly once', () => {
    const primaries = { coordinator: 'coord-b', workers: { g1: 'g1-c', g2: 'g2-a' } };
    const pairs = standbyAssignments(spec, primaries);
    expect(pairs.every((p) => p.primary !== p.standby)).toBe(true);
    const live = new Set(allPrimaries(primaries));
    expect(pairs.map((p) => p.standby).sort()).toEqual(
      names(spec.members)
        .filter((n) => !live.has(n))
        .sort(),
    );
  });

  test('throws when a group has no known primary', () => {
    expect(() => standbyAssignments(spec, { coordinator: 'coord-a', workers: { g1: 'g1-a' } })).toThrow(
      /no primary known for group g2/,
    );
  });

  test('allPrimaries: coordinator first', () => {
    expect(allPrimaries(initial)).toEqual(['coord-a', 'g1-a', 'g2-a']);
  });
});

describe('names', () => {
  test('docker names are derived from cluster and member only', () => {
    expect(networkName('demo')).toBe('citusctl-demo');
    expect(containerName('demo', 'g1-a')).toBe('citusctl-demo-g1-a');
    expect(volumeName('demo', 'g1-a')).toBe('citusctl-demo-g1-a-data');
  });

  test('slotName is a valid replication slot name derived from the standby', () => {
    expect(slotName('g1-b')).toBe('citusctl_g1_b');
    expect(slotName('a-b-c')).toBe('citusctl_a_b_c');
    expect(slotName('coord')).toBe('citusctl_coord');
    // PostgreSQL slot names: lower-case letters, digits and underscore, at most 63 characters.
    const longest = slotName('a' + 'b-'.repeat(14) + 'cd');
    expect(longest).toMatch(/^[a-z0-9_]{1,63}$/);
  });

  test('distinct member names give distinct slot names (names have no "_", so - -> _ is one-to-one)', () => {
    const slots = new Set(names(spec.members).map(slotName));
    expect(slots.size).toBe(spec.members.length);
  });
});
