/** Test-only workflows for host-loss-hint.test.ts: every workflow, and a parent starting a failover as its child. */
import { executeChild, workflowInfo } from '@temporalio/workflow';
import type { FailoverGroupInput } from '../../common/inputs';
import { failoverGroup, type FailoverGroupResult } from '../../workflows/failover-group';

export * from '../../workflows';

/** Starts failoverGroup as a child (id `<own id>-failover`) and returns its result. */
export async function failoverAsChild(input: FailoverGroupInput): Promise<FailoverGroupResult> {
  return executeChild(failoverGroup, { args: [input], workflowId: `${workflowInfo().workflowId}-failover` });
}
