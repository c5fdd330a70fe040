/**
 * The etcd key layout. Keys outlive a release (a running cluster's etcd keeps them), so each one is
 * pinned here literally: a change to the layout must be deliberate, with a migration.
 */
import * as keys from '../../common/etcd-keys';

describe('etcd key layout', () => {
  it('spells every key of a cluster under /citusctl/<cluster>', () => {
    expect(keys.ETCD_ROOT).toBe('/citusctl');
    expect(keys.etcdPrefix('demo')).toBe('/citusctl/demo');
    expect(keys.topologyKey('demo')).toBe('/citusctl/demo/topology');
    expect(keys.primaryKey('demo', 'g1')).toBe('/citusctl/demo/groups/g1/primary');
    expect(keys.durabilityKey('demo', 'g1')).toBe('/citusctl/demo/groups/g1/durability');
    expect(keys.lastFailoverKey('demo', 'coordinator')).toBe('/citusctl/demo/groups/coordinator/last-failover');
    expect(keys.eventKey('demo', 'g1', 'failover-g1-123')).toBe('/citusctl/demo/events/g1/failover-g1-123');
    expect(keys.memberStateKey('demo', 'g1-a')).toBe('/citusctl/demo/members/g1-a');
    expect(keys.lockKey('demo', 'g2')).toBe('/citusctl/demo/locks/g2');
    expect(keys.maintenanceKey('demo')).toBe('/citusctl/demo/maintenance');
    expect(keys.healthReportKey('demo')).toBe('/citusctl/demo/health/last');
  });

  it('keeps one cluster out of another whose name starts the same', () => {
    const all = (c: string) => [
      keys.topologyKey(c),
      keys.primaryKey(c, 'g1'),
      keys.memberStateKey(c, 'm'),
      keys.lockKey(c, 'g1'),
      keys.maintenanceKey(c),
    ];
    for (const k of all('demo2')) expect(k.startsWith(`${keys.etcdPrefix('demo')}/`)).toBe(false);
  });

  it('puts group, member and lock keys under the prefixes the monitor reads with one range read', () => {
    expect(keys.primaryKey('demo', 'g1').startsWith(keys.groupsPrefix('demo'))).toBe(true);
    expect(keys.durabilityKey('demo', 'g1').startsWith(keys.groupsPrefix('demo'))).toBe(true);
    expect(keys.lastFailoverKey('demo', 'g1').startsWith(keys.groupsPrefix('demo'))).toBe(true);
    expect(keys.nameUnder(keys.membersPrefix('demo'), keys.memberStateKey('demo', 'g1-a'))).toBe('g1-a');
    expect(keys.nameUnder(keys.locksPrefix('demo'), keys.lockKey('demo', 'coordinator'))).toBe('coordinator');
  });

  it('nameUnder rejects keys outside the prefix, the prefix itself and nested keys', () => {
    expect(keys.nameUnder(keys.locksPrefix('demo'), keys.memberStateKey('demo', 'g1-a'))).toBeUndefined();
    expect(keys.nameUnder(keys.locksPrefix('demo'), keys.locksPrefix('demo'))).toBeUndefined();
    expect(keys.nameUnder(keys.groupsPrefix('demo'), keys.primaryKey('demo', 'g1'))).toBeUndefined();
  });

  it('makes event ids key-safe, the same way every time (a retried workflow writes one event)', () => {
    const workflowId = 'failover-demo-g1/run:01 x';
    expect(keys.eventId(workflowId)).toBe('failover-demo-g1_run_01_x');
    expect(keys.eventKey('demo', 'g1', workflowId)).toBe('/citusctl/demo/events/g1/failover-demo-g1_run_01_x');
    expect(keys.eventKey('demo', 'g1', keys.eventId(workflowId))).toBe(keys.eventKey('demo', 'g1', workflowId));
    expect(keys.eventId('2024-05-01T10:00:00.000Z')).toBe('2024-05-01T10_00_00.000Z');
  });
});
