/**
 * Only setupCluster builds on several hosts so far: every runbook after it refuses a cluster whose
 * spec lists several hosts before any step acts (its container steps would reach the shared worker's
 * engine, which holds none of the cluster's containers). Mocked activities, real Temporal dev server.
 */
import type { ClusterSpecInput } from '../../common/spec';
import { failureOf } from './runner';
import { mockActivities } from './mock-activities';
import { SPEC_INPUT } from './helpers';
import { useWorkflowEnv } from './workflow-env';

jest.setTimeout(60_000);

const wf = useWorkflowEnv();

const TLS = { caFile: '/etc/h/ca.pem', certFile: '/etc/h/cert.pem', keyFile: '/etc/h/key.pem' };
const severalHosts: ClusterSpecInput = {
  ...SPEC_INPUT,
  backup: { enabled: false },
  hosts: [
    { name: 'h1', endpoint: 'tcp://10.1.0.1:2376', tls: TLS },
    { name: 'h2', endpoint: 'tcp://10.1.0.2:2376', tls: TLS },
  ],
};

test.each([
  ['failoverGroup', { group: 'g1' }],
  ['switchoverGroup', { group: 'g1' }],
  ['rebalanceCluster', {}],
  ['healthCheck', {}],
])('%s refuses a cluster on several hosts before any step acts', async (workflow, extra) => {
  const name = String(SPEC_INPUT.name);
  const m = mockActivities({}, { stored: { [name]: severalHosts } });
  const { error } = await wf.run(workflow, { cluster: name, ...extra }, m.activities);
  expect(failureOf(error)).toMatchObject({ type: 'Refused', nonRetryable: true });
  expect(failureOf(error).message).toMatch(/runs on several hosts \(h1, h2\); only `citusctl up`/);
  expect(
    m.calls.map((c) => c.name).filter((n) => !['loadClusterSpec', 'searchAttributesRegistered'].includes(n)),
  ).toEqual([]);
});
