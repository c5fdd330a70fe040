/** Inputs of the runbooks on one group or member: failover, switchover, rejoin, unfence. */
import { z } from 'zod';
import { clusterRefRule, clusterRefShape, duration, flag, groupName, memberName } from './fields';
import { hostSchema } from '../hosts';

export const failoverGroupInputSchema = z
  .strictObject({
    ...clusterRefShape,
    group: groupName,
    /** Default: the spec's requireFailoverApproval. */
    requireApproval: flag.optional(),
    /** How long to wait for approval, e.g. '10m'. */
    approvalTimeout: duration.optional(),
    /** Rejoin the old primary as a standby when possible (default true). */
    rejoin: flag.optional(),
    /** The group lock's lease TTL in seconds (default 30). */
    lockTtlSeconds: z.number().int().min(1).max(3600).optional(),
    /** How long to wait for the group lock while another workflow holds it (default 60 s). */
    lockWaitMs: z.number().int().min(0).max(3_600_000).optional(),
    /** Promote only one of these (the monitor passes the standbys synchronous when the primary failed). */
    candidates: z.array(memberName).optional(),
    /**
     * The monitor's word that the primary's host is lost (common/host-loss.ts): used only when the
     * cluster's monitor started the failover, and then only to date the loss.
     */
    hostLoss: z
      .strictObject({
        member: memberName,
        host: hostSchema.shape.name,
        lostForMs: z.number().int().min(0).max(3_600_000),
      })
      .optional(),
  })
  .superRefine(...clusterRefRule(true));

export const switchoverGroupInputSchema = z
  .strictObject({
    ...clusterRefShape,
    group: groupName,
    /** Target standby; default: the most advanced one. */
    to: memberName.optional(),
  })
  .superRefine(...clusterRefRule(true));

const memberInput = z.strictObject({ ...clusterRefShape, member: memberName }).superRefine(...clusterRefRule(true));
export const rejoinMemberInputSchema = memberInput;
export const unfenceMemberInputSchema = memberInput;

export type FailoverGroupInput = z.input<typeof failoverGroupInputSchema>;
export type SwitchoverGroupInput = z.input<typeof switchoverGroupInputSchema>;
export type RejoinMemberInput = z.input<typeof rejoinMemberInputSchema>;
export type UnfenceMemberInput = z.input<typeof unfenceMemberInputSchema>;
