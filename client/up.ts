/**
 * `citusctl up`: validate, preflight the images, then start (or attach to) the setup workflow
 * `setup-<cluster>` and follow its progress.
 */
import Docker from 'dockerode';
import type { ClusterSpec } from '../common/spec';
import { SecretStore } from '../lib/secrets';
import { stateDir } from '../lib/state-dir';
import type { SetupClusterResult } from '../workflows/setup-cluster';
import { startMonitor } from './monitor';
import { preflightImages } from './preflight';
import { runWorkflow, type RunReport } from './run-workflow';
import { setupWorkflowId } from './temporal-client';

export interface UpOptions {
  clean?: boolean;
  force?: boolean;
  json?: boolean;
  /** Run an in-process worker (default). */
  worker?: boolean;
}

export type UpReport = RunReport<SetupClusterResult> & { pgpass: string };

export async function up(spec: ClusterSpec, opts: UpOptions, log: (line: string) => void): Promise<UpReport> {
  const finalSpec = await preflightImages(new Docker(), spec, process.env, log, opts.json ? 'stderr' : 'inherit');
  const report = await runWorkflow<SetupClusterResult>({
    workflowType: 'setupCluster',
    workflowId: setupWorkflowId(finalSpec.name),
    args: [{ spec: finalSpec, clean: opts.clean ?? false, force: opts.force ?? false }],
    json: opts.json,
    worker: opts.worker,
    log,
  });
  const pgpass = await new SecretStore(stateDir()).writeHostPgpass(finalSpec.name, { postgres: finalSpec.members.map((m) => m.port), pgbouncer: finalSpec.pgbouncer.port });
  await startMonitor(finalSpec, log); // the self-healing monitor, idempotently (issue 7)
  return { ...report, pgpass };
}
