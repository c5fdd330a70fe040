/** The pure parts of scale-out/in: the drain's refusals, the followed job's figures, the spec without a group. */
import { DRAIN_HEADROOM, drainRefusal, type DrainCheckInput } from '../../common/drain-decisions';
import {
  bytesOf,
  changedEnough,
  describeRebalance,
  isActive,
  taskCounts,
  type RebalanceSnapshot,
} from '../../common/rebalance';
import { parseSpec } from '../../common/spec';
import { specWithoutGroup } from '../../common/topology';

const MB = 1024 * 1024;
const groups = (shouldHave: Record<string, boolean>) =>
  Object.entries(shouldHave).map(([group, s]) => ({ group, shouldHaveShards: s, placements: s ? 10 : 0 }));
const base: DrainCheckInput = {
  group: 'g3',
  workerGroups: groups({ g1: true, g2: true, g3: true }),
  bytesToMove: 100 * MB,
  targets: [
    { group: 'g1', freeBytes: 1000 * MB, fileSystem: 'a' },
    { group: 'g2', freeBytes: 1000 * MB, fileSystem: 'b' },
  ],
};

describe('drainRefusal', () => {
  test('enough room on the other groups: allowed', () => {
    expect(drainRefusal(base)).toBeUndefined();
  });

  test('the last worker group that can hold shards is refused, naming what to do', () => {
    expect(drainRefusal({ ...base, workerGroups: groups({ g1: false, g2: false, g3: true }) })).toMatch(
      /g3 is the last worker group that can hold shards: add a group/,
    );
    expect(drainRefusal({ ...base, group: 'g1', workerGroups: groups({ g1: true }), targets: [] })).toMatch(
      /last worker group/,
    );
  });

  test('a group Citus does not know is refused', () => {
    expect(drainRefusal({ ...base, group: 'g9' })).toMatch(/g9 is not a worker group registered in Citus/);
  });

  test('each target needs its share with headroom; one short target refuses, with the numbers', () => {
    const share = 50 * MB * DRAIN_HEADROOM; // 75 MB each
    expect(
      drainRefusal({ ...base, targets: [{ ...base.targets[0]!, freeBytes: share }, base.targets[1]!] }),
    ).toBeUndefined();
    const r = drainRefusal({ ...base, targets: [{ ...base.targets[0]!, freeBytes: share - 1 }, base.targets[1]!] });
    expect(r).toMatch(
      /could not hold g3's data \(100\.0 MB\): g1 need 75\.0 MB free \(with 1\.5x headroom\), have 75\.0 MB/,
    );
    expect(r).not.toMatch(/g2/);
  });

  test('targets on one file system (one Docker host) draw on the same free space', () => {
    const oneFs = base.targets.map((t) => ({ ...t, fileSystem: 'same', freeBytes: 120 * MB }));
    // 2 x 75 MB = 150 MB needed from one 120 MB file system, though each alone would fit.
    expect(drainRefusal({ ...base, targets: oneFs })).toMatch(/g1, g2 need 150\.0 MB free/);
    expect(drainRefusal({ ...base, targets: oneFs.map((t) => ({ ...t, freeBytes: 150 * MB })) })).toBeUndefined();
  });

  test('nothing to move needs no room; no free-space reading with data to move is refused', () => {
    expect(drainRefusal({ ...base, bytesToMove: 0, targets: [] })).toBeUndefined();
    expect(drainRefusal({ ...base, targets: [] })).toMatch(/no free-space reading/);
  });

  test('a target that is itself draining (shouldhaveshards false) does not count as room', () => {
    expect(
      drainRefusal({
        ...base,
        workerGroups: groups({ g1: true, g2: false, g3: true }),
        targets: [
          { ...base.targets[0]!, freeBytes: 100 * MB },
          { ...base.targets[1]!, freeBytes: 10_000 * MB },
        ],
      }),
    ).toMatch(/g1 need 150\.0 MB/);
  });
});

const snap = (over: Partial<RebalanceSnapshot> = {}): RebalanceSnapshot => ({
  jobId: 4,
  state: 'running',
  tasks: {},
  movesDone: 1,
  movesTotal: 3,
  bytesTotal: 0,
  bytesMoved: 0,
  current: [],
  errors: [],
  ...over,
});
const move = {
  shardId: 102009,
  table: 'events',
  source: 'g1-a',
  target: 'g3-a',
  status: 'Copying Data',
  bytes: 2 * MB,
  targetBytes: MB,
};

describe('rebalance snapshots', () => {
  test('taskCounts: done of all tasks, whatever their states', () => {
    expect(taskCounts({ done: 2, running: 1, blocked: 3 })).toEqual({ done: 2, total: 6 });
    expect(taskCounts({})).toEqual({ done: 0, total: 0 });
  });

  test('bytesOf: done moves count whole, a move in flight its target so far (never more than its size)', () => {
    expect(
      bytesOf([
        { ...move, progress: 2, bytes: 4 * MB, targetBytes: 4 * MB },
        { ...move, progress: 1, bytes: 2 * MB, targetBytes: 3 * MB },
        { ...move, progress: 0, bytes: 8 * MB, targetBytes: 0 },
      ]),
    ).toEqual({ total: 14 * MB, moved: 6 * MB });
  });

  test('isActive: every state but finished, cancelled and failed (a new job must not be started)', () => {
    expect(
      ['scheduled', 'running', 'cancelling', 'failing'].every((s) => isActive(s as RebalanceSnapshot['state'])),
    ).toBe(true);
    expect(['finished', 'cancelled', 'failed'].some((s) => isActive(s as RebalanceSnapshot['state']))).toBe(false);
  });

  test('describeRebalance: moves, bytes once known, the move in flight, errors', () => {
    expect(describeRebalance(snap())).toBe('job 4 running: 1/3 moves');
    expect(
      describeRebalance(
        snap({ bytesTotal: 6 * MB, bytesMoved: 3 * MB, current: [move], errors: ['task 7: ERROR: boom'] }),
      ),
    ).toBe(
      'job 4 running: 1/3 moves, 3.0/6.0 MB; moving 102009 events g1-a -> g3-a (Copying Data, 1.0/2.0 MB); ' +
        'errors: task 7: ERROR: boom',
    );
  });

  test('changedEnough: state, moves done, the move in flight or its phase, errors; not bytes alone', () => {
    const a = snap({ current: [move] });
    expect(changedEnough(undefined, a)).toBe(true);
    expect(changedEnough(a, { ...a, bytesMoved: 5 })).toBe(false);
    expect(changedEnough(a, { ...a, state: 'finished' })).toBe(true);
    expect(changedEnough(a, { ...a, movesDone: 2 })).toBe(true);
    expect(changedEnough(a, { ...a, current: [{ ...move, status: 'Catching Up' }] })).toBe(true);
    expect(changedEnough(a, { ...a, current: [] })).toBe(true);
    expect(changedEnough(a, { ...a, errors: ['x'] })).toBe(true);
  });
});

describe('specWithoutGroup', () => {
  test('drops the group and its members; the rest is unchanged and still a valid spec', () => {
    const spec = parseSpec({
      name: 'd',
      workers: ['g1', 'g2', 'g3'],
      members: [
        { name: 'coord-a', group: 'coordinator', port: 5432 },
        { name: 'g1-a', group: 'g1', port: 5433 },
        { name: 'g2-a', group: 'g2', port: 5434 },
        { name: 'g3-a', group: 'g3', port: 5435 },
        { name: 'g3-b', group: 'g3', port: 5436 },
      ],
    });
    const out = specWithoutGroup(spec, 'g3');
    expect(out.workers).toEqual(['g1', 'g2']);
    expect(out.members.map((m) => m.name)).toEqual(['coord-a', 'g1-a', 'g2-a']);
    expect(parseSpec(out)).toEqual(out);
    expect(spec.workers).toEqual(['g1', 'g2', 'g3']); // the input is not changed
  });
});
