/**
 * `citusctl up`: validate, preflight the images, make sure Temporal and a worker are there, then start
 * (or attach to) the setup workflow `setup-<cluster>` and follow its progress.
 */
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import type { Worker } from '@temporalio/worker';
import Docker from 'dockerode';
import type { Progress } from '../common/progress';
import type { ClusterSpec } from '../common/spec';
import { SecretStore } from '../lib/secrets';
import { stateDir } from '../lib/state-dir';
import { TASK_QUEUE, ensureTemporal } from '../lib/temporal-server';
import type { SetupClusterResult } from '../workflows/setup-cluster';
import { createDeps } from '../worker/deps';
import { createWorker, quietRuntime } from '../worker/run-worker';
import { preflightImages } from './preflight';
import { ProgressPrinter } from './progress-printer';
import { connectClient, setupWorkflowId } from './temporal-client';

export interface UpOptions {
  clean?: boolean;
  force?: boolean;
  json?: boolean;
  /** Run an in-process worker (default). */
  worker?: boolean;
}

export interface UpReport {
  workflowId: string;
  runId: string;
  attached: boolean;
  steps: Progress['steps'];
  result: SetupClusterResult;
  pgpass: string;
  temporal: { address: string; ui?: string };
}

export async function up(spec: ClusterSpec, opts: UpOptions, log: (line: string) => void): Promise<UpReport> {
  const env = process.env;
  const root = stateDir(env);
  const finalSpec = await preflightImages(new Docker(), spec, env, log);
  const endpoint = await ensureTemporal(root, env);
  log(`temporal: ${endpoint.address}${endpoint.uiUrl ? ` (UI ${endpoint.uiUrl})` : ''}`);

  let worker: Worker | undefined;
  let workerDone: Promise<void> | undefined;
  const deps = createDeps(env);
  if (opts.worker !== false) {
    quietRuntime();
    const created = await createWorker({ address: endpoint.address, namespace: endpoint.namespace, deps, identity: `citusctl-up@${process.pid}` });
    worker = created.worker;
    workerDone = worker.run().finally(() => created.connection.close());
  }
  const { client, close } = await connectClient(endpoint);
  try {
    const workflowId = setupWorkflowId(finalSpec.name);
    const existing = await client.workflow.getHandle(workflowId).describe().catch(() => undefined);
    const attached = existing?.status.name === 'RUNNING';
    if (attached) log(`attached to setup ${workflowId} already in flight (its options stay as started)`);
    const handle = await client.workflow.start('setupCluster', {
      taskQueue: TASK_QUEUE,
      workflowId,
      args: [{ spec: finalSpec, clean: opts.clean ?? false, force: opts.force ?? false }],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    });
    const runId = handle.firstExecutionRunId;
    const printer = new ProgressPrinter(log);
    let last: Progress | undefined;
    const poll = setInterval(() => {
      handle
        .query<Progress>('progress')
        .then((p) => {
          last = p;
          if (!opts.json) printer.update(p);
        })
        .catch(() => undefined);
    }, 250);
    let result: SetupClusterResult;
    try {
      result = await handle.result();
    } finally {
      clearInterval(poll);
    }
    last = await handle.query<Progress>('progress').catch(() => last);
    if (last && !opts.json) printer.update(last);
    const pgpass = await new SecretStore(root).writeHostPgpass(finalSpec.name, { postgres: finalSpec.members.map((m) => m.port), pgbouncer: finalSpec.pgbouncer.port });
    return { workflowId, runId, attached, steps: last?.steps ?? [], result, pgpass, temporal: { address: endpoint.address, ui: endpoint.uiUrl } };
  } finally {
    await close();
    if (worker) {
      worker.shutdown();
      await workerDone;
    }
    deps.close();
  }
}
