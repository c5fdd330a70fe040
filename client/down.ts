/**
 * `citusctl down`: first stops the cluster's workflows (schedules deleted, running workflows
 * cancelled, terminated after a bounded wait), so none retries against what is removed next;
 * then removes the cluster's containers and network; volumes (and secrets) only with --volumes.
 * The backup repository volume outlives even that (a cluster restored in place reads its backups
 * there): only --volumes --backups removes it.
 */
import type { Client } from '@temporalio/client';
import Docker from 'dockerode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseSpec, type ClusterSpec } from '../common/spec';
import { isMultiHost } from '../common/addressing';
import { resolveHosts } from '../common/hosts';
import { engineFor, pingEngine } from '../lib/docker/engine-client';
import { storedClusterSpecs } from '../lib/cluster-spec-file';
import { monitorWorkflowId } from '../common/workflow-ids';
import {
  backupRepoPresent,
  labelledClusters,
  removeBackupRepo,
  removeClusterObjectsOnce,
  type RemovedObjects,
} from '../lib/docker/cluster-objects';
import { backupRepoVolumeName } from '../common/topology';
import { SecretStore } from '../lib/secrets';
import { describeRepository, RepositoryStore } from '../lib/backup/repository';
import { stateDir } from '../lib/state-dir';
import { supervisedWorkerState } from '../lib/supervised-worker-files';
import { stopClusterWorkflows, type StopReport } from './stop-cluster-workflows';
import { stopSupervisedWorker } from './supervised-worker';
import { connectForCleanup } from './temporal-client';

export interface DownOptions {
  volumes?: boolean;
  /** With volumes: the backup repository volume too (its backups, WAL archive and catalog are gone for good). */
  backups?: boolean;
  /** How long cancelled workflows get before they are terminated (default 10 s). */
  cancelWaitMs?: number;
  /** Notes for the operator (default: stderr, so --json stdout stays one document). */
  log?: (line: string) => void;
}

export interface DownReport extends RemovedObjects {
  /** The backup repository volume left in place (restore from it later; `--volumes --backups` removes it). */
  keptBackupRepo?: string;
  /** Several hosts: those whose engine did not answer (their share of the cluster is still there). */
  unreachableHosts?: string[];
  workflows:
    ({ reachable: true; address: string } & StopReport) | { reachable: false; address?: string; reason: string };
}

export async function down(spec: ClusterSpec, opts: DownOptions): Promise<DownReport> {
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  if (opts.backups && !opts.volumes)
    throw new Error('--backups removes the backup repository only together with the data: give --volumes too');
  const docker = new Docker();
  const root = stateDir();
  const workflows = await stopWorkflows(docker, root, spec.name, opts.cancelWaitMs, log);
  const removed: RemovedObjects = { removedContainers: [], removedVolumes: [], network: false };
  // An activity attempt already running when its workflow was cancelled may still create a container
  // (a seeding helper, say): when workflows were stopped, sweep until a listing finds nothing left.
  const stopped = workflows.reachable && workflows.cancelled.length > 0;
  const scope = { volumes: opts.volumes ?? false, backups: opts.backups ?? false };
  const unreachableHosts: string[] = [];
  if (!isMultiHost(spec)) await removeFrom(docker, spec.name, scope, stopped, removed);
  else
    for (const host of resolveHosts(spec.hosts)) {
      // Several hosts: every host's engine in turn; one that does not answer is said and left as it is.
      const engine = engineFor(host);
      const ping = await pingEngine(engine);
      if (!ping.reachable) {
        unreachableHosts.push(host.name);
        log(`host ${host.name}: its engine ${host.endpoint} does not answer (${ping.error}); nothing removed there`);
        continue;
      }
      const here: RemovedObjects = { removedContainers: [], removedVolumes: [], network: false };
      await removeFrom(engine, spec.name, scope, stopped, here);
      removed.removedContainers.push(...here.removedContainers.map((c) => `${c}@${host.name}`));
      removed.removedVolumes.push(...here.removedVolumes.map((v) => `${v}@${host.name}`));
      removed.network ||= here.network;
    }
  // The data they protected is gone (kept while a host that may still hold some did not answer).
  if (opts.volumes && !unreachableHosts.length) await new SecretStore(root).remove(spec.name);
  else if (opts.volumes)
    log(
      `secrets of ${spec.name} kept: ${unreachableHosts.join(', ')} did not answer and may still hold volumes; ` +
        'run `citusctl down --volumes` again once it is back',
    );
  let keptBackupRepo: string | undefined;
  const s3 = await new RepositoryStore(root).read(spec.name);
  if (opts.backups && s3) {
    await new RepositoryStore(root).remove(spec.name);
    log(
      `backups: citusctl forgot the S3 repository ${describeRepository('', s3)} (its keys); ` +
        'the objects stay in the bucket (remove them with the S3 service)',
    );
  }
  if (opts.backups) {
    const repo = backupRepoVolumeName(spec.name);
    if (await removeBackupRepo(docker, spec.name))
      if (!removed.removedVolumes.includes(repo)) removed.removedVolumes.push(repo);
  } else if (opts.volumes && (await backupRepoPresent(docker, spec.name))) {
    // Without --volumes every volume stays: only a removal of the data makes keeping the backups news.
    keptBackupRepo = backupRepoVolumeName(spec.name);
    log(
      `backups: the repository volume ${keptBackupRepo} is kept (citusctl restore reads it); ` +
        '`citusctl down --volumes --backups` removes it',
    );
  }
  return {
    ...removed,
    ...(keptBackupRepo ? { keptBackupRepo } : {}),
    ...(unreachableHosts.length ? { unreachableHosts } : {}),
    workflows,
  };
}

/** Removes the cluster's objects from one engine, sweeping again while stopped workflows may still create some. */
async function removeFrom(
  docker: Docker,
  cluster: string,
  scope: { volumes: boolean; backups: boolean },
  stopped: boolean,
  removed: RemovedObjects,
): Promise<void> {
  for (let round = 0; ; round++) {
    const left = await removeClusterObjectsOnce(docker, cluster, scope, removed);
    if (left === 0 && (!stopped || round >= 1)) return;
    if (round >= 10) throw new Error(`cluster ${cluster}: ${left} Docker objects could not be removed`);
    await sleep(1000);
  }
}

/**
 * The cluster `down --cluster NAME` removes: its stored spec when this state directory has one (a
 * restored cluster's), else a spec of that name only (down needs nothing but the name: every object
 * is found by its label).
 */
export function namedCluster(name: string): ClusterSpec {
  const stored = storedClusterSpecs(stateDir()).find((s) => s.name === name);
  return stored ?? parseSpec({ name });
}

async function stopWorkflows(
  docker: Docker,
  root: string,
  cluster: string,
  cancelWaitMs: number | undefined,
  log: (line: string) => void,
): Promise<DownReport['workflows']> {
  const { connected, address, why } = await connectForCleanup(root, process.env);
  if (!connected) {
    const reason = `Temporal not reachable (${why}): no workflow to cancel`;
    log(reason);
    return { reachable: false, address, reason };
  }
  try {
    const report = await stopClusterWorkflows(connected.client, cluster, {
      cancelWaitMs,
      otherClusters: await knownClusters(docker, root),
      log,
    });
    await stopIdleWorker(connected.client, root, cluster, log);
    return { reachable: true, address: address!, ...report };
  } finally {
    await connected.close(); // every call above was awaited: nothing in flight
  }
}

/** The supervised worker serves this state directory's monitors: once none is left, it goes too. */
async function stopIdleWorker(
  client: Client,
  root: string,
  cluster: string,
  log: (line: string) => void,
): Promise<void> {
  if (!supervisedWorkerState(root).supervisor) return;
  const others: string[] = [];
  for await (const w of client.workflow.list({
    query: `WorkflowType = 'monitorCluster' AND ExecutionStatus = 'Running'`,
  })) {
    if (w.workflowId !== monitorWorkflowId(cluster)) others.push(w.workflowId);
  }
  if (others.length) return log(`worker: the supervised worker keeps running for ${others.join(', ')}`);
  await stopSupervisedWorker(root);
  log('worker: the supervised worker stopped (no monitor left to run)');
}

/** Cluster names this machine knows (state directory, Docker labels): ids of "demo-x" are not "demo"'s. */
async function knownClusters(docker: Docker, root: string): Promise<string[]> {
  const names = new Set<string>();
  try {
    for (const d of fs.readdirSync(path.join(root, 'clusters'))) names.add(d);
  } catch {
    // no state yet
  }
  for (const name of await labelledClusters(docker)) names.add(name);
  return [...names];
}
