/**
 * The one-line summaries the Temporal UI shows for each activity event: built from the call's
 * input, a line each, unknown shapes give none (never an error in workflow code).
 */
import { activitySummary } from '../../common/activity-summaries';
import { parseSpec } from '../../common/spec';

const spec = parseSpec({ name: 'demo' });
const primaries = { coordinator: 'coord-a', workers: { g1: 'g1-a', g2: 'g2-a' } };

describe('activitySummary', () => {
  test.each([
    ['promoteStandby', { spec, member: 'g1-b', reason: 'x' }, 'promote g1-b'],
    ['fenceMember', { spec, member: 'g1-a' }, 'fence g1-a'],
    ['registerNodes', { spec, primaries }, 'register g1-a, g2-a'],
    ['loadDemoData', { spec, primaries }, 'load rows 1-100000 into events'],
    ['loadDemoData', { spec, primaries, fromId: 40001, toId: 50000 }, 'load rows 40001-50000 into events'],
    ['loadDemoData', { spec: parseSpec({ demo: { rows: 0 } }), primaries }, 'load no rows into events'],
    ['validateSpec', { name: 'demo' }, 'validate the spec of demo'],
    ['validateSpec', {}, 'validate the spec (defaults: cluster.yaml)'],
    ['loadClusterSpec', { cluster: 'demo' }, 'load the stored spec of demo'],
    ['resolveImages', spec, 'resolve images for demo'],
    ['provisionCluster', spec, 'provision demo: 6 members, etcd, PgBouncer'],
    ['acquireGroupLock', { spec, group: 'g1', owner: 'o', ttlSeconds: 30 }, 'lock g1'],
    [
      'pointCitusAt',
      { spec, coordinator: 'coord-a', oldHost: 'g1-a', newHost: 'g1-b' },
      'point Citus from g1-a to g1-b',
    ],
    [
      'switchoverCriticalSection',
      { spec, coordinator: 'coord-a', oldPrimary: 'g2-a', newPrimary: 'g2-b', isCoordinatorGroup: false },
      'switch over g2-a -> g2-b (writes held)',
    ],
    [
      'recordPrimaryChange',
      { spec, group: 'g1', oldPrimary: 'g1-a', newPrimary: 'g1-b', event: { kind: 'failover' } },
      'record the failover g1: g1-a -> g1-b',
    ],
    [
      'recordPrimaryChange',
      { spec, group: 'g1', oldPrimary: 'g1-a', newPrimary: 'g1-b' },
      'record primary g1: g1-a -> g1-b',
    ],
    [
      'configureDurability',
      { spec, primary: 'g1-a', standbys: ['g1-b'] },
      'durability of g1-a: synchronous (standbys g1-b)',
    ],
    ['rejoinMember', { spec, member: 'g1-a', primary: 'g1-b' }, 'rejoin g1-a to g1-b'],
    [
      'resolveInDoubtTransactions',
      { spec, coordinator: 'coord-a', member: 'g1-b', gids: ['citus_0_1_2_3'] },
      'resolve the transactions left prepared on g1-b (1 at its promotion)',
    ],
    ['unfencePrimary', { spec, member: 'g1-a', others: ['g1-b'] }, 'unfence g1-a'],
    ['healthMonitor', { workflowId: 'monitor-demo', query: 'status' }, 'observe monitor-demo'],
    [
      'baseBackupGroup',
      { spec, group: 'g1', backupId: 'b-20261207t040000z' },
      'full base backup of g1 in its primary (backup b-20261207t040000z)',
    ],
    ['recordBackup', { record: { id: 'b-1', spec } }, 'record backup b-1 in the catalog'],
    ['expireBackups', { spec }, 'expire backups of demo past retention'],
  ])('%s %#', (name, input, expected) => {
    expect(activitySummary(name, input)).toBe(expected);
  });

  test('unknown activities and inputs missing the named field give no summary', () => {
    expect(activitySummary('somethingNew', { member: 'x' })).toBeUndefined();
    expect(activitySummary('promoteStandby', { spec })).toBeUndefined();
    expect(activitySummary('promoteStandby', undefined)).toBeUndefined();
    expect(activitySummary('registerNodes', { spec, primaries: 'nope' })).toBeUndefined();
  });

  test('one line, at most 200 characters', () => {
    const many = Array.from({ length: 80 }, (_, i) => `member-${i}`);
    const s = activitySummary('standbyPositions', { spec, members: many })!;
    expect(s.length).toBeLessThanOrEqual(200);
    expect(s.endsWith('...')).toBe(true);
    expect(activitySummary('prepareNode', { member: 'a\nb' })).toBe('prepare a b');
  });
});
