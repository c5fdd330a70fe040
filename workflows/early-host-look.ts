/**
 * A failover the cluster's monitor started with its word that the primary's host is lost
 * (common/host-loss.ts) begins its look at that member at once (probeOnItsHost: read-only, SQL and
 * the host's peers), while it validates its input, takes the group's lock and reads the live
 * primaries (0.3 s, more on a loaded machine). The failover uses the look only if etcd, read under
 * the lock, names that member the group's primary; otherwise, or if the look failed, it looks
 * again. Nothing acts on it before the lock, and every other failover looks as before. The peers
 * are asked a little later than the SQL probe, so that their answer (about a second) comes once the
 * loss is old enough for the fence to count on it.
 */
import { workflowInfo } from '@temporalio/workflow';
import { hostOfContainer, isMultiHost } from '../common/addressing';
import { hintVerdict } from '../common/host-loss';
import { lookDecidesAfterMs, nextLookInMs } from '../common/host-silence';
import { parseSpec } from '../common/spec';
import { monitorWorkflowId } from '../common/workflow-ids';
import { checkedInput } from './checked-input';
import { probeOnItsHost, type HostProbe } from './host-fence';

export interface EarlyLook {
  member: string;
  /** undefined: the look failed (the failover looks again). */
  look: Promise<HostProbe | undefined>;
}

/** The early look; undefined unless the input is the monitor's word on a lost host (invalid: validate says why). */
export function earlyHostLook(started: unknown): EarlyLook | undefined {
  try {
    const input = checkedInput('failoverGroup', started);
    if (!input.spec || !input.hostLoss) return undefined;
    const spec = parseSpec(input.spec);
    const member = input.hostLoss.member;
    if (!isMultiHost(spec)) return undefined;
    const verdict = hintVerdict(input.hostLoss, {
      oldPrimary: member,
      host: hostOfContainer(spec, member).name,
      parentId: workflowInfo().parent?.workflowId,
      monitorId: monitorWorkflowId(spec.name),
    });
    if (!verdict.use) return undefined;
    // The peers' answer must come once the loss is old enough for the self-fence to have decided
    // (host-fence.ts): asked at once, it came ~0.1 s too early, and the fence looked a second time (1 s).
    const reachAfterMs = nextLookInMs(Math.max(0, lookDecidesAfterMs() - verdict.lostForMs));
    return { member, look: probeOnItsHost(spec, member, true, reachAfterMs).catch(() => undefined) };
  } catch {
    return undefined;
  }
}
