/**
 * The pieces every workflow input is built from: names, the whole spec (validated here with the
 * spec's own rules, so a bad spec is refused before any activity), the `{cluster}` / `{spec}`
 * reference to a cluster, real booleans and the rebalance transfer modes.
 */
import { z } from 'zod';
import { TRANSFER_MODES, type TransferMode } from '../rebalance';
import { checkSpec, dnsName, type PartialSpecInput } from '../spec';
import type { FieldParams } from './problems';

export const clusterName = dnsName;
export const groupName = dnsName;
export const memberName = dnsName;

/** Only true or false: "false" or "no" would be truthy in code that tests it. */
export const flag = z.boolean();

export const transferMode = z.enum(TRANSFER_MODES as [TransferMode, ...TransferMode[]]);

/** A duration Temporal understands: "90s", "10m", "1h". */
export const duration = z
  .string()
  .regex(/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/, 'must be a duration like "30s", "10m" or "1h"');

/** The whole spec (any field left out takes its default), checked by the spec's own rules. */
export const specField = z
  .custom<PartialSpecInput>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), {
    message: 'expected a JSON object (the cluster spec)',
  })
  .superRefine((value, ctx) => {
    const r = checkSpec(value);
    if (r.ok) return;
    for (const problem of r.problems) {
      // The spec names its own fields ("members[1].port: ..."): prefix them with "spec".
      const [where, ...rest] = problem.split(': ');
      const field = where === '(top level)' ? 'spec' : `spec.${where}`;
      ctx.addIssue({ code: 'custom', message: rest.join(': ') || problem, params: { field } satisfies FieldParams });
    }
  });

/** `{spec}`, `{cluster}`, or both naming the same cluster. */
export const clusterRefShape = {
  /** The whole spec; must equal the stored spec of an existing cluster (only setup may change it). */
  spec: specField.optional(),
  /** A cluster set up before: its stored spec is used. */
  cluster: clusterName.optional(),
};

/** The spec's name (default "demo") when the spec is valid. */
export function specName(spec: unknown): string | undefined {
  const r = checkSpec(spec);
  return r.ok ? r.spec.name : undefined;
}

const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Refinement of an object with clusterRefShape: `cluster` and `spec.name` agree; `required` demands
 * one of them. Runs even when other fields are wrong, so `{}` names every missing field at once.
 */
export function clusterRefRule(
  required: boolean,
): [
  (v: { spec?: unknown; cluster?: unknown }, ctx: z.RefinementCtx) => void,
  { when: (p: { value: unknown }) => boolean },
] {
  const rule = (v: { spec?: unknown; cluster?: unknown }, ctx: z.RefinementCtx) => {
    if (v.spec === undefined && v.cluster === undefined) {
      if (required)
        ctx.addIssue({
          code: 'custom',
          path: ['cluster'],
          message:
            'required: name the cluster ({"cluster": "demo", ...}) or give its whole spec ({"spec": {...}, ...})',
        });
      return;
    }
    if (v.spec !== undefined && typeof v.cluster === 'string') {
      const name = specName(v.spec);
      if (name !== undefined && name !== v.cluster)
        ctx.addIssue({
          code: 'custom',
          path: ['cluster'],
          message: `"${v.cluster}" and spec.name "${name}" differ: give one of them`,
        });
    }
  };
  return [rule, { when: (p) => isObject(p.value) }];
}
