/** The workflow ids are an interface: the CLI, the monitor, `down` and operators find workflows by them. */
import {
  backupScheduleId,
  backupWorkflowId,
  certsScheduleId,
  certsWorkflowId,
  failoverWorkflowId,
  healthRunId,
  healthScheduleId,
  monitorWorkflowId,
  rejoinWorkflowId,
  setupWorkflowId,
  switchoverWorkflowId,
  unfenceWorkflowId,
} from '../../common/workflow-ids';

test('each workflow id has its documented form', () => {
  expect(setupWorkflowId('demo')).toBe('setup-demo');
  expect(failoverWorkflowId('demo', 'g1')).toBe('failover-demo-g1');
  expect(switchoverWorkflowId('demo', 'coordinator')).toBe('switchover-demo-coordinator');
  expect(rejoinWorkflowId('demo', 'g1-a')).toBe('rejoin-demo-g1-a');
  expect(unfenceWorkflowId('demo', 'g1-b')).toBe('unfence-demo-g1-b');
  expect(monitorWorkflowId('demo')).toBe('monitor-demo');
  expect(healthScheduleId('demo')).toBe('health-demo');
  expect(certsWorkflowId('demo')).toBe('certs-demo');
  expect(certsScheduleId('demo')).toBe('certs-demo');
  expect(backupWorkflowId('demo')).toBe('backup-demo');
  expect(backupScheduleId('demo')).toBe('backup-demo');
});

test('a health check started by hand: the schedule id, then the time with only id-safe characters', () => {
  expect(healthRunId('demo', new Date('2026-01-02T03:04:05.678Z'))).toBe('health-demo-2026-01-02T03-04-05-678Z');
});
