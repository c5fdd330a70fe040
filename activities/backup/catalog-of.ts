/**
 * The cluster's backup catalog as activities open it (the throwaway container, when needed, runs
 * the cluster's postgres image).
 */
import { resolveImage } from '../../common/images';
import type { ClusterSpec } from '../../common/spec';
import { BackupCatalog } from '../../lib/backup/catalog';
import { stateDir } from '../../lib/state-dir';
import type { ActivityDeps } from '../deps';

export const catalogOf = (deps: Pick<ActivityDeps, 'docker' | 'env'>, spec: ClusterSpec) =>
  new BackupCatalog(deps.docker, spec.name, resolveImage(spec, 'postgres', deps.env), stateDir(deps.env));
