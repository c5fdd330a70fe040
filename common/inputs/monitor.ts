/**
 * monitorCluster's input: `{cluster}` (the UI, `up`) or `{spec}`, optional tuning, and the carry
 * one run hands the next across continue-as-new. The carry is written by the monitor itself and
 * read by the next run, possibly on a newer build: its fields are checked, but a key an older or
 * newer build added is ignored rather than refused, so an upgrade never fails the monitor.
 */
import { z } from 'zod';
import type { ProbeHistory } from '../monitor-observation';
import { clusterRefRule, clusterRefShape, groupName } from './fields';

const ms = z.number().int().min(0);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export const monitorTuningSchema = z.strictObject({
  thresholds: z
    .strictObject({
      intervalMs: z.number().int().min(10).optional(),
      failures: z.number().int().min(1).optional(),
      failWindowMs: ms.optional(),
      downFailures: z.number().int().min(1).optional(),
      downWindowMs: ms.optional(),
      standbyGraceMs: ms.optional(),
      asyncAfterMs: ms.optional(),
    })
    .optional(),
  /** How long one probe activity watches before it returns when nothing happens (default 30 s). */
  periodMs: z.number().int().min(100).optional(),
  /** Probe activities per run before continue-as-new (default 200). */
  maxIterations: z.number().int().min(1).optional(),
});

export const maintenanceRecordSchema = z.object({
  cluster: z.boolean(),
  groups: z.array(groupName),
  at: z.string(),
  by: z.string().optional(),
  reason: z.string().optional(),
});

/** Kinds and outcomes stay open strings: a newer build may record kinds this one does not know. */
const actionRecordSchema = z.object({
  at: z.number(),
  kind: z.string(),
  target: z.string(),
  outcome: z.string(),
  detail: z.string(),
});

const probeHistory = z.custom<ProbeHistory>(
  (v) =>
    isRecord(v) && typeof v.rounds === 'number' && isRecord(v.primaries) && isRecord(v.members) && isRecord(v.groups),
  { message: 'expected the probe history a monitor run carries ({rounds, primaries, members, groups})' },
);

export const monitorCarrySchema = z.object({
  runs: z.number().int().min(0),
  maintenance: maintenanceRecordSchema,
  history: probeHistory,
  signature: z.string().optional(),
  notBefore: z.record(z.string(), z.number()),
  failures: z.record(z.string(), z.number().int().min(0)),
  lastActions: z.array(actionRecordSchema),
});

export const monitorInputSchema = z
  .strictObject({
    ...clusterRefShape,
    tuning: monitorTuningSchema.optional(),
    carry: monitorCarrySchema.optional(),
  })
  .superRefine(...clusterRefRule(true));

export type MonitorTuning = z.input<typeof monitorTuningSchema>;
export type MonitorCarryInput = z.input<typeof monitorCarrySchema>;
export type MonitorInputShape = z.input<typeof monitorInputSchema>;
