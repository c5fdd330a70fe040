/**
 * rotateCertificates (`certs-<cluster>`: the Schedule's runs and `citusctl certs rotate`): renews
 * the cluster's certificates that are due (or all with `force`) and puts them in service in every
 * container without a restart; with `rotateCa`, a new CA first, trusted beside the old one until
 * every server presents a certificate it signed (the order: common/certificates.ts). Only identity
 * ids, serials and dates pass through here: keys stay in the activities.
 * From the UI: `{"cluster": "demo"}`, optional `"force": true`, `"rotateCa": true`.
 */
import { workflowInfo } from '@temporalio/workflow';
import type { RotateCertificatesInput } from '../common/inputs';
import { rotationSteps, tlsTargets, type TlsPart } from '../common/certificates';
import type { ClusterSpec } from '../common/spec';
import type { InstalledTls, RenewedCertificate } from '../activities/tls/rotation';
import { acts } from './activity-proxies';
import { checkedInput } from './checked-input';
import { specFor } from './cluster-input';
import { trackProgress } from './progress-query';
import { tagWorkflow } from './tag-workflow';

/** `{"cluster": "demo"}`, optional `force`, `rotateCa`; schema in common/inputs. */
export type { RotateCertificatesInput };

export interface RotateCertificatesResult {
  cluster: string;
  /** The new CA's serial, when one was made. */
  newCa?: string;
  retiredCas: number;
  certificates: RenewedCertificate[];
  installed: InstalledTls[];
}

const installAll = (spec: ClusterSpec, part: TlsPart) =>
  Promise.all(tlsTargets(spec).map((t) => acts.installTls({ spec, id: t.id, part })));

const installSummary = (r: InstalledTls[]) => {
  const written = r.filter((x) => x.written.length).map((x) => x.id);
  return written.length ? `written to ${written.join(', ')}` : 'every container already up to date';
};

export async function rotateCertificates(started: RotateCertificatesInput): Promise<RotateCertificatesResult> {
  // The steps are known before the input is checked, so the progress query answers from the start
  // (a bad input fails in `validate`).
  const steps = rotationSteps({ rotateCa: (started as { rotateCa?: unknown } | undefined)?.rotateCa === true });
  const progress = trackProgress('rotateCertificates', ['validate', ...steps.map((s) => s.name)]);
  const { checked, spec } = await progress.run('validate', async () => {
    const i = checkedInput('rotateCertificates', started);
    const s = await specFor(i);
    await tagWorkflow(s.name);
    return { checked: i, spec: s };
  });
  const result: RotateCertificatesResult = { cluster: spec.name, retiredCas: 0, certificates: [], installed: [] };
  for (const step of steps) {
    switch (step.kind) {
      case 'rotate-ca':
        result.newCa = (
          await progress.run(
            step.name,
            () => acts.rotateClusterCa({ spec, rotation: workflowInfo().runId }),
            (r) => `new CA ${r.serial}; ${r.trusted} CAs trusted`,
          )
        ).serial;
        break;
      case 'renew':
        result.certificates = await progress.run(
          step.name,
          () => acts.renewCertificates({ spec, force: checked.force ?? false }),
          (r) => `${r.filter((c) => c.renewed).length} of ${r.length} renewed`,
        );
        break;
      case 'install': {
        const installed = await progress.run(step.name, () => installAll(spec, step.part), installSummary);
        if (step.part === 'all') result.installed = installed;
        break;
      }
      case 'retire-old-cas':
        result.retiredCas = (
          await progress.run(
            step.name,
            () => acts.retireOldClusterCas({ spec }),
            (r) => `${r.retired} retired`,
          )
        ).retired;
        break;
    }
  }
  return result;
}
