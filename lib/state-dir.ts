/** Where citusctl keeps its state: secrets, pgpass, the embedded Temporal server's database. */
import * as os from 'node:os';
import * as path from 'node:path';

export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CITUSCTL_STATE_DIR) return path.resolve(env.CITUSCTL_STATE_DIR);
  const base = env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'citusctl');
}

export const clustersDir = (root: string) => path.join(root, 'clusters');
export const clusterDir = (root: string, cluster: string) => path.join(clustersDir(root), cluster);
export const pgpassPath = (root: string, cluster: string) => path.join(clusterDir(root, cluster), 'pgpass');
/** The validated spec a setup stored, read by workflows started with only the cluster's name. */
export const specPath = (root: string, cluster: string) => path.join(clusterDir(root, cluster), 'spec.json');
