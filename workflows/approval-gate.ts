/**
 * The failover's approval gate, in the style of Temporal's safe-message-handlers sample: the
 * workflow wires the `approve` Update to this small class, whose validator rejects an Update before
 * it reaches the history (not waiting, already decided, no approver), whose state is the decision,
 * and whose wait() gives the workflow that decision, or none when the timeout passes first.
 */
import { ApplicationFailure, condition, defineUpdate, setHandler } from '@temporalio/workflow';
import { ErrorTypes } from '../common/error-types';

export interface ApprovalInput {
  approver: string;
  approve: boolean;
  comment?: string;
}

export const approveUpdate = defineUpdate<string, [ApprovalInput]>('approve');

export class ApprovalGate {
  private waiting = false;
  private decision: ApprovalInput | undefined;

  /** Registers the Update handler at once: an Update sent before wait() is rejected by the validator, not lost. */
  constructor() {
    setHandler(approveUpdate, (a) => this.decide(a), { validator: (a) => this.validate(a) });
  }

  private validate(a: ApprovalInput): void {
    if (!this.waiting || this.decision !== undefined) throw new Error('this failover is not waiting for approval');
    if (!a || typeof a.approver !== 'string' || !a.approver.trim()) throw new Error('approver is required');
    if (typeof a.approve !== 'boolean') throw new Error('approve must be true or false');
  }

  private decide(a: ApprovalInput): string {
    this.decision = a;
    return `${a.approve ? 'approved' : 'rejected'} by ${a.approver}`;
  }

  /**
   * The decision, or undefined when none came within timeout
   * (e.g. '10m'; a malformed one fails the workflow: BadConfig).
   */
  async wait(timeout: string): Promise<ApprovalInput | undefined> {
    this.waiting = true;
    const decided = await condition(() => this.decision !== undefined, timeout).catch((err: unknown) => {
      throw ApplicationFailure.nonRetryable(`approvalTimeout ${timeout}: ${String(err)}`, ErrorTypes.BadConfig);
    });
    this.waiting = false;
    return decided ? this.decision : undefined;
  }
}
