/** rotateCertificates' input: `{cluster}` (the schedule, the CLI) or `{spec}`, and what beyond the due renewals. */
import { z } from 'zod';
import { clusterRefRule, clusterRefShape, flag } from './fields';

export const rotateCertificatesInputSchema = z
  .strictObject({
    ...clusterRefShape,
    /** Renew every certificate now, due or not. */
    force: flag.optional(),
    /** A new CA first (trusted beside the old one until every certificate it signed is replaced). */
    rotateCa: flag.optional(),
  })
  .superRefine(...clusterRefRule(true));

export type RotateCertificatesInput = z.input<typeof rotateCertificatesInputSchema>;
