/**
 * The restore's first step, before anything is created: the source's catalog read, the target
 * chosen (a missing point is refused with the list of points), the new cluster checked absent, and
 * its spec derived (common/restore-plan.ts) with free ports picked once (the workflow keeps them).
 */
import * as net from 'node:net';
import type { BackupRecord, RestorePointRecord } from '../../common/backup-records';
import { chooseTarget } from '../../common/backup-records';
import { resolveImage } from '../../common/images';
import type { RestoreClusterInput } from '../../common/inputs';
import { LABEL_CLUSTER } from '../../common/labels';
import { pickPorts, portsNeeded, restoredSpec } from '../../common/restore-plan';
import { parseSpec, SpecError, type ClusterSpec } from '../../common/spec';
import { backupRepoVolumeName, volumeName } from '../../common/topology';
import { BackupCatalog } from '../../lib/backup/catalog';
import { fatal } from '../../lib/errors';
import type { ActivityDeps } from '../deps';
import { withHeartbeat } from '../heartbeat';

export interface RestorePlan {
  spec: ClusterSpec;
  from: string;
  /** The new cluster is the source itself (after `down --volumes`): it archives on into the same repository. */
  inPlace: boolean;
  point: RestorePointRecord;
  /** The backup the restore starts from (its recorded spec left out: the plan's spec replaces it). */
  backup: Omit<BackupRecord, 'spec'>;
  /** Which point and why (a time target names the point it chose). */
  note: string;
  /** The ports were picked free here (else the spec file's or the backup's own). */
  portsPicked: boolean;
}

/** A port nothing listens on at 127.0.0.1 (Docker's published ports included: its proxy listens). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export function createRestorePlanActivities(deps: ActivityDeps) {
  const { docker } = deps;

  /** Containers and data volumes of `cluster` (its backup repository does not count). */
  async function leftovers(cluster: string, members: readonly string[]): Promise<string[]> {
    const filters = { label: [`${LABEL_CLUSTER}=${cluster}`] };
    const containers = (await docker.listContainers({ all: true, filters })).map(
      (c) => c.Names[0]?.replace(/^\//, '') ?? c.Id,
    );
    const labelled = ((await docker.listVolumes({ filters })).Volumes ?? []).map((v) => v.Name);
    const named: string[] = [];
    for (const m of members) {
      const v = volumeName(cluster, m);
      if (
        await docker
          .getVolume(v)
          .inspect()
          .then(
            () => true,
            () => false,
          )
      )
        named.push(v);
    }
    const volumes = [...new Set([...labelled, ...named])].filter((v) => v !== backupRepoVolumeName(cluster));
    return [...containers, ...volumes];
  }

  async function planRestore(input: RestoreClusterInput): Promise<RestorePlan> {
    return withHeartbeat(async () => {
      const from = input.from ?? input.as;
      const inPlace = from === input.as;
      let given: ClusterSpec | undefined;
      try {
        given = input.spec === undefined ? undefined : parseSpec(input.spec);
      } catch (err) {
        if (err instanceof SpecError) throw fatal('BadConfig', err.message, { problems: err.problems });
        throw err;
      }
      const catalog = new BackupCatalog(docker, from, resolveImage(given ?? parseSpec({}), 'postgres', deps.env));
      if (!(await catalog.exists()))
        throw fatal('BadConfig', `cluster ${from} has no backup repository (volume ${backupRepoVolumeName(from)})`);
      const points = await catalog.list('restore-points');
      const backups = await catalog.list('backups');
      const choice = chooseTarget(input.target, points, backups);
      if (!choice.ok) throw fatal('BadConfig', choice.problem, { points: points.map((p) => p.name) });
      const { spec: backupSpec, ...backup } = choice.backup;

      const left = await leftovers(
        input.as,
        backupSpec.members.map((m) => m.name),
      );
      if (left.length)
        throw fatal(
          'Conflict',
          inPlace
            ? `cluster ${input.as} still has ${left.join(', ')}: a restore in place needs ` +
                '`citusctl down --volumes` ' +
                'first (its backup repository stays)'
            : `cluster ${input.as} exists already (${left.join(', ')}): restore under another name, or remove it ` +
                `with \`citusctl down --cluster ${input.as} --volumes\``,
        );
      if (!inPlace && (await new BackupCatalog(docker, input.as, '').exists()))
        throw fatal(
          'Conflict',
          `a backup repository of another cluster named ${input.as} is left ` +
            `(volume ${backupRepoVolumeName(input.as)}): ` +
            `restore under another name, or remove it (\`citusctl down --cluster ${input.as} --volumes --backups\`)`,
        );

      // Free ports unless the spec file gives them; in place, the cluster's own ports by default.
      const portsPicked = input.freePorts ?? (given === undefined && !inPlace);
      const freePorts = portsPicked ? await pickPorts(portsNeeded(backupSpec, input.scratch), portIsFree) : undefined;
      const r = restoredSpec({
        backupSpec,
        point: choice.point,
        as: input.as,
        ...(given ? { given } : {}),
        ...(freePorts ? { freePorts } : {}),
        ...(input.scratch ? { scratch: true } : {}),
      });
      if (!r.ok) throw fatal('BadConfig', r.problems.join('; '), { problems: r.problems });
      return { spec: r.spec, from, inPlace, point: choice.point, backup, note: choice.note, portsPicked };
    });
  }

  return { planRestore };
}
