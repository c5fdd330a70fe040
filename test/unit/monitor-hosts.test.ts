/**
 * The monitor's decision on several hosts keeps what reaches every host (failover, rejoin, durability)
 * and leaves out what acts through its own worker's engine (member restarts and re-creations, service
 * repairs); on one host it is unchanged.
 */
import type { ClusterDecision, MonitorAction } from '../../common/monitor-decisions';
import { onItsHosts } from '../../common/monitor-hosts';

const TLS = { caFile: '/ca', certFile: '/cert', keyFile: '/key' };
const oneHost = { hosts: undefined };
const severalHosts = {
  hosts: [
    { name: 'h1', endpoint: 'tcp://10.1.0.1:2376', tls: TLS },
    { name: 'h2', endpoint: 'tcp://10.1.0.2:2376', tls: TLS },
  ],
};

const ACTIONS: MonitorAction[] = [
  { kind: 'failover', group: 'g1', oldPrimary: 'g1-a', requireApproval: false, reason: 'down' },
  { kind: 'rejoin', group: 'g1', member: 'g1-a', reason: 'diverged' },
  { kind: 'cancel-rejoin', group: 'g1', member: 'g1-a', reason: 'gone' },
  { kind: 'durability', group: 'g1', primary: 'g1-b', mode: 'async', reason: 'no standby' },
  { kind: 'restart', group: 'g1', member: 'g1-b', reason: 'exited' },
  { kind: 'recreate', group: 'g1', member: 'g1-b', reason: 'absent' },
  { kind: 'start-service', group: 'pgbouncer', member: 'pgbouncer', reason: 'exited' },
  { kind: 'recreate-service', group: 'etcd', member: 'etcd', reason: 'absent' },
];
const decision: ClusterDecision = { at: 1, actions: ACTIONS, groups: {} };

test('one host: the decision as decided', () => {
  expect(onItsHosts(oneHost, decision)).toBe(decision);
});

test('several hosts: only the actions that reach every host', () => {
  expect(onItsHosts(severalHosts, decision).actions.map((a) => a.kind)).toEqual([
    'failover',
    'rejoin',
    'cancel-rejoin',
    'durability',
  ]);
});

test("several hosts, monitors started since restarts run on the member's host: restarts kept too", () => {
  expect(onItsHosts(severalHosts, decision, true).actions.map((a) => a.kind)).toEqual([
    'failover',
    'rejoin',
    'cancel-rejoin',
    'durability',
    'restart',
  ]);
});

test('several hosts, nothing left out: the same decision', () => {
  const d = { ...decision, actions: ACTIONS.slice(0, 1) };
  expect(onItsHosts(severalHosts, d)).toBe(d);
});
