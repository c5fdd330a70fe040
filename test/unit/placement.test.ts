/**
 * Placement: which host runs each member, PgBouncer and etcd. The properties that make a host's loss
 * survivable are checked over many layouts, not only on the examples.
 */
import { placeCluster, withPlacement, type PlacementInput } from '../../common/placement';
import { defaultMembers, parseSpec } from '../../common/spec';

const hostList = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ name: `h${i + 1}`, endpoint: `ssh://docker@10.0.0.${i + 1}` }));

/** n hosts, the given groups with `size` members each (names <group>-a, -b, ...). */
function layout(n: number, workers: string[], size: number, extra: Partial<PlacementInput> = {}): PlacementInput {
  const groups = ['coordinator', ...workers];
  return {
    hosts: hostList(n),
    workers,
    members: groups.flatMap((g) =>
      Array.from({ length: size }, (_, i) => ({
        name: `${g === 'coordinator' ? 'coord' : g}-${String.fromCharCode(97 + i)}`,
        group: g,
      })),
    ),
    pgbouncer: {},
    etcd: {},
    ...extra,
  };
}

const hostsOfGroup = (input: PlacementInput, placed: Record<string, string>, group: string) =>
  input.members.filter((m) => m.group === group).map((m) => placed[m.name]!);

const counts = (values: string[], keys: string[]) => keys.map((k) => values.filter((v) => v === k).length);

describe('placeCluster: one host', () => {
  test('a spec without hosts puts everything on the implicit local host, without a note', () => {
    const spec = parseSpec({});
    const p = placeCluster(spec);
    expect(p.strategy).toBe('spread');
    expect(new Set(Object.values(p.members))).toEqual(new Set(['local']));
    expect(Object.keys(p.members).sort()).toEqual(spec.members.map((m) => m.name).sort());
    expect(p.pgbouncer).toEqual(['local']);
    expect(p.etcd).toEqual(['local']);
    expect(p.notes).toEqual([]);
  });

  test('one listed host takes every member, PgBouncer and etcd', () => {
    const p = placeCluster(layout(1, ['g1', 'g2'], 3));
    expect(new Set(Object.values(p.members))).toEqual(new Set(['h1']));
    expect(p.pgbouncer).toEqual(['h1']);
    expect(p.etcd).toEqual(['h1']);
    expect(p.notes).toEqual([]);
  });
});

describe('placeCluster: spread', () => {
  test('the default layout on three hosts: each group apart, two members and one primary per host', () => {
    const input = layout(3, ['g1', 'g2'], 2);
    const p = placeCluster(input);
    for (const g of ['coordinator', 'g1', 'g2']) {
      const hs = hostsOfGroup(input, p.members, g);
      expect(new Set(hs).size).toBe(hs.length);
    }
    expect(counts(Object.values(p.members), ['h1', 'h2', 'h3'])).toEqual([2, 2, 2]);
    const primaries = ['coord-a', 'g1-a', 'g2-a'].map((m) => p.members[m]!);
    expect(new Set(primaries)).toEqual(new Set(['h1', 'h2', 'h3']));
    expect(p.pgbouncer).toEqual(['h1', 'h2']);
    expect(p.etcd).toEqual(['h1', 'h2', 'h3']);
    expect(p.notes).toEqual([]);
  });

  test('the exact default placement on three hosts (what a stored spec of today would get)', () => {
    expect(placeCluster(layout(3, ['g1', 'g2'], 2)).members).toEqual({
      'coord-a': 'h1',
      'coord-b': 'h2',
      'g1-a': 'h2',
      'g1-b': 'h3',
      'g2-a': 'h3',
      'g2-b': 'h1',
    });
  });

  test('two hosts: groups apart, PgBouncer on both, etcd on one with a note saying why', () => {
    const input = layout(2, ['g1', 'g2'], 2);
    const p = placeCluster(input);
    for (const g of ['coordinator', 'g1', 'g2']) expect(new Set(hostsOfGroup(input, p.members, g)).size).toBe(2);
    expect(p.pgbouncer).toEqual(['h1', 'h2']);
    expect(p.etcd).toEqual(['h1']);
    expect(p.notes).toEqual([expect.stringMatching(/^etcd runs one member, on h1: 2 hosts/)]);
  });

  test('a group larger than the host count shares a host, and the note names the members and the host', () => {
    const input = layout(2, ['g1'], 3);
    const p = placeCluster(input);
    const g1 = hostsOfGroup(input, p.members, 'g1');
    // Members a and b apart (the primary and its first standby), c joins one of them.
    expect(g1[0]).not.toBe(g1[1]);
    const shared = g1[2]!;
    const partner = g1[0] === shared ? 'g1-a' : 'g1-b';
    expect(p.notes).toContain(`group g1 has 3 members but 2 hosts: ${partner} and g1-c share ${shared}`);
    expect(p.notes.filter((n) => n.startsWith('group coordinator'))).toHaveLength(1);
  });

  test('five members on two hosts: the note lists every member sharing a host', () => {
    const input = layout(2, ['g1'], 5);
    const p = placeCluster(input);
    const g1 = hostsOfGroup(input, p.members, 'g1');
    expect(counts(g1, ['h1', 'h2']).sort()).toEqual([2, 3]);
    const three = counts(g1, ['h1', 'h2'])[0] === 3 ? 'h1' : 'h2';
    const names = ['a', 'b', 'c', 'd', 'e'].filter((_, i) => g1[i] === three).map((s) => `g1-${s}`);
    expect(p.notes).toContain(
      `group g1 has 5 members but 2 hosts: ${names[0]}, ${names[1]} and ${names[2]} share ${three}`,
    );
  });

  test('members the spec places are kept, and the others avoid their hosts', () => {
    const input = layout(3, ['g1'], 2);
    const members = input.members.map((m) =>
      m.name === 'g1-a' ? { ...m, host: 'h2' } : m.name === 'coord-b' ? { ...m, host: 'h3' } : m,
    );
    const p = placeCluster({ ...input, members });
    expect(p.members['g1-a']).toBe('h2');
    expect(p.members['coord-b']).toBe('h3');
    expect(p.members['g1-b']).not.toBe('h2');
    expect(p.members['coord-a']).not.toBe('h3');
    expect(p.notes).toEqual([]);
  });

  test('members the spec puts on one host together are kept there, with a note', () => {
    const input = layout(3, ['g1'], 2);
    const members = input.members.map((m) => (m.group === 'g1' ? { ...m, host: 'h1' } : m));
    const p = placeCluster({ ...input, members });
    expect(p.members['g1-a']).toBe('h1');
    expect(p.members['g1-b']).toBe('h1');
    expect(p.notes).toEqual(['group g1: g1-a and g1-b share h1 (the spec puts them there)']);
  });

  test('PgBouncer and etcd hosts the spec names are kept as given', () => {
    const p = placeCluster(layout(3, ['g1'], 2, { pgbouncer: { hosts: ['h3'] }, etcd: { hosts: ['h2'] } }));
    expect(p.pgbouncer).toEqual(['h3']);
    expect(p.etcd).toEqual(['h2']);
    expect(p.notes).toEqual([]); // etcd on one host is what the spec asked for
  });

  test('five hosts: etcd on the first three, PgBouncer on the first two', () => {
    const p = placeCluster(layout(5, ['g1', 'g2', 'g3'], 2));
    expect(p.etcd).toEqual(['h1', 'h2', 'h3']);
    expect(p.pgbouncer).toEqual(['h1', 'h2']);
  });

  test('deterministic: the same input places the same way', () => {
    const input = layout(4, ['g1', 'g2', 'g3'], 3);
    expect(placeCluster(input)).toEqual(placeCluster(JSON.parse(JSON.stringify(input)) as PlacementInput));
  });

  // The properties over every small layout: 1-6 hosts, 1-6 worker groups, 1-4 members per group.
  const cases: [number, number, number][] = [];
  for (let n = 1; n <= 6; n++) for (let w = 1; w <= 6; w++) for (let s = 1; s <= 4; s++) cases.push([n, w, s]);

  test.each(cases)('%i hosts, %i worker groups of %i members: spread holds', (n, w, s) => {
    const workers = Array.from({ length: w }, (_, i) => `g${i + 1}`);
    const input = layout(n, workers, s);
    const p = placeCluster(input);
    const hosts = hostList(n).map((h) => h.name);
    for (const g of ['coordinator', ...workers]) {
      const per = counts(hostsOfGroup(input, p.members, g), hosts);
      // As few members of a group on one host as possible: apart when they fit, else evenly shared.
      expect(Math.max(...per)).toBe(Math.ceil(s / n));
      expect(Math.max(...per) - Math.min(...per)).toBeLessThanOrEqual(1);
    }
    // Primaries (each group's first member) as evenly over the hosts as they can be.
    const primaries = counts(
      input.members.filter((m) => m.name.endsWith('-a')).map((m) => p.members[m.name]!),
      hosts,
    );
    expect(Math.max(...primaries) - Math.min(...primaries)).toBeLessThanOrEqual(1);
    // Members in all: no host more than one above another.
    const load = counts(Object.values(p.members), hosts);
    expect(Math.max(...load) - Math.min(...load)).toBeLessThanOrEqual(1);
    // Notes exactly when a group has more members than there are hosts (and for etcd on 2 hosts).
    const groupNotes = p.notes.filter((x) => x.startsWith('group '));
    if (n > 1 && s > n) expect(groupNotes.length).toBeGreaterThan(0);
    else expect(groupNotes).toEqual([]);
    expect(p.pgbouncer).toHaveLength(Math.min(n, 2));
    expect(p.etcd).toHaveLength(n >= 3 ? 3 : 1);
  });
});

describe('placeCluster: pack', () => {
  test('every member without a host, PgBouncer and etcd on the first host, with one note', () => {
    const input = layout(3, ['g1', 'g2'], 2, { placement: 'pack' });
    const p = placeCluster(input);
    expect(p.strategy).toBe('pack');
    expect(new Set(Object.values(p.members))).toEqual(new Set(['h1']));
    expect(p.pgbouncer).toEqual(['h1']);
    expect(p.etcd).toEqual(['h1']);
    expect(p.notes).toEqual([expect.stringMatching(/^placement pack: every member without a host runs on h1/)]);
  });

  test('members the spec places stay where it says', () => {
    const input = layout(3, ['g1'], 2, { placement: 'pack' });
    const members = input.members.map((m) => (m.name === 'g1-b' ? { ...m, host: 'h3' } : m));
    const p = placeCluster({ ...input, members });
    expect(p.members['g1-b']).toBe('h3');
    expect(p.members['g1-a']).toBe('h1');
  });
});

describe('withPlacement', () => {
  test('writes every host in; placing the result again changes nothing', () => {
    const input = layout(3, ['g1', 'g2'], 2);
    const placed = withPlacement(input);
    expect(placed.members.every((m) => typeof m.host === 'string')).toBe(true);
    expect(placed.pgbouncer.hosts).toEqual(['h1', 'h2']);
    expect(placed.etcd.hosts).toEqual(['h1', 'h2', 'h3']);
    expect(withPlacement(placed)).toEqual(placed);
  });

  test('a group added to a placed spec moves no member already placed', () => {
    const placed = withPlacement(layout(3, ['g1', 'g2'], 2));
    const grown = {
      ...placed,
      workers: [...placed.workers, 'g3'],
      members: [...placed.members, { name: 'g3-a', group: 'g3' }, { name: 'g3-b', group: 'g3' }],
    };
    const p = placeCluster(grown);
    for (const m of placed.members) expect(p.members[m.name]).toBe(m.host);
    expect(p.members['g3-a']).not.toBe(p.members['g3-b']);
  });

  test('a parsed spec with hosts keeps its other fields', () => {
    const spec = parseSpec({ hosts: hostList(3), members: defaultMembers(['g1', 'g2']) });
    const placed = withPlacement(spec);
    expect({ ...placed, members: spec.members, pgbouncer: spec.pgbouncer, etcd: spec.etcd }).toEqual(spec);
    expect(placed.pgbouncer.port).toBe(spec.pgbouncer.port);
    expect(parseSpec(placed)).toEqual(placed);
  });
});
