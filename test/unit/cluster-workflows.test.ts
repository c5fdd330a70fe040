import {
  clusterIdPrefixes,
  ownedByCluster,
  runningWorkflowsQuery,
  WORKFLOW_KINDS,
} from '../../common/cluster-workflows';
import * as ids from '../../common/workflow-ids';

/**
 * Every id builder of common/workflow-ids.ts, called for cluster demo (a new builder is covered without listing it
 * here).
 */
const builtIds = Object.entries(ids as Record<string, unknown>)
  .filter(([, build]) => typeof build === 'function')
  .map(
    ([name, build]) =>
      [
        name,
        name === 'healthRunId'
          ? ids.healthRunId('demo', new Date(0))
          : (build as (c: string, x: string) => string)('demo', 'g1'),
      ] as const,
  );

test("a kind extended by a longer one (restore, restore-point) does not claim the longer kind's ids", () => {
  expect(ownedByCluster(ids.restorePointWorkflowId('demo', 'r1'), 'point')).toBe(false);
  expect(ownedByCluster(ids.restorePointWorkflowId('demo', 'r1'), 'demo')).toBe(true);
  expect(ownedByCluster(ids.restoreWorkflowId('demo2'), 'demo2')).toBe(true);
  expect(ownedByCluster(ids.restoreWorkflowId('demo2'), 'demo')).toBe(false);
});

describe('every id builder', () => {
  test('there are builders to check', () => expect(builtIds.length).toBeGreaterThanOrEqual(10));

  test.each(builtIds)('%s makes an id down finds (%s)', (_name, id) => {
    expect(ownedByCluster(id, 'demo')).toBe(true);
    expect(ownedByCluster(id, 'other')).toBe(false);
    expect(clusterIdPrefixes('demo').some((p) => id.startsWith(p))).toBe(true);
  });

  test('no kind is looked for that no builder makes', () => {
    // A kind may hold a hyphen (restore-point): the longest kind the id starts with, followed by the cluster.
    const kindOf = (id: string) =>
      WORKFLOW_KINDS.filter((k) => id.startsWith(`${k}-demo`)).sort((a, b) => b.length - a.length)[0];
    const kinds = new Set(builtIds.map(([, id]) => kindOf(id)));
    expect([...WORKFLOW_KINDS].sort()).toEqual([...kinds].sort());
  });
});

describe('ownedByCluster', () => {
  test.each([
    'setup-demo',
    'failover-demo-g1',
    'switchover-demo-coordinator',
    'rejoin-demo-g1-b',
    'health-demo',
    'health-demo-2025-01-01T00:00:00Z', // a run started by the health-demo schedule
    'monitor-demo',
    'rebalance-demo',
    'drain-demo-g2',
    'unfence-demo-g1-a',
    'verify-backup-demo', // a kind with a hyphen
    'verify-backup-demo-2026-12-07T05:00:00Z', // a run started by the verify-backup-demo schedule
    'expire-backups-demo', // the expiry a backup starts (down cancels it too)
  ])("%s is demo's", (id) => expect(ownedByCluster(id, 'demo')).toBe(true));

  test.each([
    'setup-demo2',
    'setup-other',
    'demo',
    'setup',
    'my-setup-demo',
    'failover-demos-g1',
    'unrelated-demo',
    'cluster-demo',
    'scale-demo',
    'verify-demo',
    'backup-verify-demo',
    'verify-backup-demos',
    'expire-backups-demos',
  ])("%s is not demo's", (id) => expect(ownedByCluster(id, 'demo')).toBe(false));

  test('ids of a known cluster whose name extends this one ("demo-x") are left to it', () => {
    expect(ownedByCluster('failover-demo-x-g1', 'demo', ['demo-x'])).toBe(false);
    expect(ownedByCluster('setup-demo-x', 'demo', ['demo-x'])).toBe(false);
    expect(ownedByCluster('failover-demo-g1', 'demo', ['demo-x'])).toBe(true);
    expect(ownedByCluster('failover-demo-x-g1', 'demo-x', ['demo'])).toBe(true);
    expect(ownedByCluster('setup-demo', 'demo', ['demo', 'other'])).toBe(true);
  });

  test('the CitusCluster search attribute, when set, decides alone', () => {
    expect(ownedByCluster('failover-demo-x-g1', 'demo', [], 'demo-x')).toBe(false);
    expect(ownedByCluster('anything', 'demo', [], 'demo')).toBe(true);
  });
});

describe('runningWorkflowsQuery', () => {
  test('one STARTS_WITH per kind, running only; CitusCluster when asked; quotes escaped', () => {
    const q = runningWorkflowsQuery('demo', false);
    for (const p of clusterIdPrefixes('demo')) expect(q).toContain(`WorkflowId STARTS_WITH "${p}"`);
    expect(q).toMatch(/\) AND ExecutionStatus = "Running"$/);
    expect(q).not.toContain('CitusCluster');
    expect(runningWorkflowsQuery('demo', true)).toContain('OR CitusCluster = "demo")');
    expect(runningWorkflowsQuery('a"b', false)).toContain('"setup-a\\"b"');
  });
});
