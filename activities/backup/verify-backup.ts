/**
 * The verifyBackup workflow's steps: which backup to prove (the catalog's newest and its restore
 * point), what the restored scratch cluster holds (every Citus table counted, the node health
 * check), the verification's record in the SOURCE cluster's catalog, and the scratch cluster's
 * removal (its Temporal schedules and workflows, Docker objects with their volumes and repository,
 * its state directory). Each checks before it acts: a retry finds its own record, a removal
 * finds less to remove.
 */
import { addressOf } from '../../common/addressing';
import { Context } from '@temporalio/activity';
import type { RestorePointRecord, VerificationRecord } from '../../common/backup-records';
import type { RestoredClusterView } from '../../common/backup-verification';
import { ownedByCluster } from '../../common/cluster-workflows';
import { resolveImage } from '../../common/images';
import type { ClusterSpec } from '../../common/spec';
import { backupRepoVolumeName, SUPERUSER } from '../../common/topology';
import { BackupCatalog } from '../../lib/backup/catalog';
import { listRunningClusterWorkflows } from '../../lib/cluster-workflow-list';
import { removeBackupRepo, removeClusterObjectsOnce, type RemovedObjects } from '../../lib/docker/cluster-objects';
import { fatal, notReady } from '../../lib/errors';
import { UNDEFINED_FUNCTION, citusNodeHealth } from '../../lib/postgres/health-queries';
import { countCitusTables } from '../../lib/postgres/restored-tables';
import { memberTls } from '../../lib/tls/pg-tls';
import { RepositoryStore } from '../../lib/backup/repository';
import type { ActivityDeps } from '../deps';
import { sleep, withHeartbeat } from '../heartbeat';
import { livePrimariesOf } from '../store';

export type BackupToVerify =
  | { found: false; reason: string }
  | {
      found: true;
      backupId: string;
      restorePoint: string;
      /** The point's record; null when the catalog has none (the backup cannot be proven: a failed verification). */
      point: RestorePointRecord | null;
    };

export interface ScratchRemoval extends RemovedObjects {
  schedulesDeleted: string[];
  workflowsTerminated: string[];
  stateRemoved: boolean;
}

/** A count of a table that takes longer than this is a problem of its own. */
const COUNT_TIMEOUT_MS = 10 * 60_000;

export function createVerifyBackupActivities(deps: ActivityDeps) {
  const catalogOf = (spec: ClusterSpec) =>
    new BackupCatalog(deps.docker, spec.name, resolveImage(spec, 'postgres', deps.env));

  /** The newest recorded backup of the cluster and the restore point it was cut at. */
  async function backupToVerify(input: { spec: ClusterSpec }): Promise<BackupToVerify> {
    return withHeartbeat(async () => {
      const catalog = catalogOf(input.spec);
      const backups = await catalog.list('backups');
      const newest = [...backups].sort((a, b) => b.finishedAt.localeCompare(a.finishedAt))[0];
      if (!newest) return { found: false, reason: `cluster ${input.spec.name} has no recorded backup yet` };
      const point = (await catalog.get('restore-points', newest.restorePoint)) ?? null;
      return { found: true, backupId: newest.id, restorePoint: newest.restorePoint, point };
    });
  }

  /**
   * Reads the restored cluster on its live coordinator: every Citus table (pg_dist_partition) counted
   * (a table that cannot be read is reported with its error, not thrown), and
   * citus_check_cluster_node_health(). Throws (retryable) only when the coordinator cannot be reached.
   */
  async function checkRestoredCluster(input: { spec: ClusterSpec }): Promise<RestoredClusterView> {
    const { spec } = input;
    return withHeartbeat(async () => {
      const secrets = await deps.secrets.read(spec.name);
      if (!secrets?.superuserPassword)
        throw fatal('BadConfig', `no secrets for the restored cluster ${spec.name} in this state directory`);
      const coordinator = (await livePrimariesOf(deps, spec)).coordinator;
      const member = spec.members.find((m) => m.name === coordinator)!;
      const target = {
        host: addressOf(spec, coordinator),
        port: member.port,
        user: SUPERUSER,
        password: secrets.superuserPassword,
        tls: await memberTls(deps.tls, spec.name, coordinator),
        connectTimeoutMs: 5_000,
        queryTimeoutMs: COUNT_TIMEOUT_MS,
      };
      try {
        return await deps.pg.withClient(target, async (c) => {
          const tables = await countCitusTables(c);
          let nodeHealth: RestoredClusterView['nodeHealth'];
          try {
            nodeHealth = { ok: true, rows: await citusNodeHealth(c) };
          } catch (err) {
            const code = (err as { code?: string }).code;
            nodeHealth = {
              ok: false,
              error: code === UNDEFINED_FUNCTION ? 'this Citus has no such function' : (err as Error).message,
            };
          }
          return { tables, nodeHealth };
        });
      } catch (err) {
        throw notReady(`the restored cluster's coordinator ${coordinator}: ${(err as Error).message}`);
      }
    });
  }

  /** Writes the verification into the source cluster's catalog (write-once: a retry finds it there). */
  async function recordVerification(input: {
    spec: ClusterSpec;
    record: VerificationRecord;
  }): Promise<{ written: boolean }> {
    return withHeartbeat(async () => ({
      written: await catalogOf(input.spec).put('verifications', input.record.id, input.record),
    }));
  }

  /**
   * Removes the scratch cluster completely: its schedules and running workflows (but `keep`, the
   * verification itself), its containers, network and volumes (its backup repository among them),
   * and its state directory (spec, secrets, certificates). Refuses any name that is not the scratch
   * cluster of `source` (`<source stem>-v<time>`): this never removes a cluster anyone set up.
   */
  async function removeScratchCluster(input: {
    scratch: string;
    source: string;
    keep?: string;
  }): Promise<ScratchRemoval> {
    const { scratch, source } = input;
    const stem = source.slice(0, 20).replace(/-+$/, '');
    if (scratch === source || !new RegExp(`^${stem}-v[0-9a-z]+$`).test(scratch))
      throw fatal('Refused', `${scratch} is not a scratch cluster of ${source}: not removed`);
    return withHeartbeat(async () => {
      const out: ScratchRemoval = {
        removedContainers: [],
        removedVolumes: [],
        network: false,
        schedulesDeleted: [],
        workflowsTerminated: [],
        stateRemoved: false,
      };
      await stopScratchWorkflows(scratch, input.keep, out);
      for (let round = 0; ; round++) {
        const left = await removeClusterObjectsOnce(deps.docker, scratch, { volumes: true, backups: true }, out);
        if (left === 0) break;
        if (round >= 20) throw notReady(`scratch cluster ${scratch}: ${left} Docker objects are still there`);
        await sleep(1000);
      }
      // The repository volume, also when it was created without the cluster's label.
      if (await removeBackupRepo(deps.docker, scratch)) out.removedVolumes.push(backupRepoVolumeName(scratch));
      await deps.secrets.remove(scratch);
      // An S3 repository's keys kept for the scratch cluster (its objects stay in the bucket).
      await new RepositoryStore(deps.secrets.root).remove(scratch);
      out.stateRemoved = true;
      return out;
    });
  }

  /**
   * The scratch cluster's schedules deleted and its running workflows terminated (a monitor would
   * recreate what is being removed), through the worker's own Temporal client. Terminated, not
   * cancelled: nothing of the scratch cluster is worth a graceful stop.
   */
  async function stopScratchWorkflows(scratch: string, keep: string | undefined, out: ScratchRemoval) {
    let client;
    try {
      client = Context.current().client;
    } catch {
      return; // outside a worker (a unit test): nothing to stop
    }
    for await (const s of client.schedule.list()) {
      if (!ownedByCluster(s.scheduleId, scratch)) continue;
      await client.schedule
        .getHandle(s.scheduleId)
        .delete()
        .catch(() => undefined);
      out.schedulesDeleted.push(s.scheduleId);
    }
    for (const w of await listRunningClusterWorkflows(client, scratch)) {
      if (w.workflowId === keep) continue;
      await client.workflow
        .getHandle(w.workflowId, w.runId)
        .terminate(`the scratch cluster ${scratch} of a backup verification is removed`)
        .catch(() => undefined);
      out.workflowsTerminated.push(w.workflowId);
    }
  }

  return { backupToVerify, checkRestoredCluster, recordVerification, removeScratchCluster };
}
