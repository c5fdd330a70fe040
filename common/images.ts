/** Which image each role runs: env var > spec > upstream default. Both paths run the same code. */
import type { ClusterSpec, ImageRole } from './spec';

export const UPSTREAM_IMAGES: Record<ImageRole, string> = {
  postgres: 'citusdata/citus:13.0',
  pgbouncer: 'edoburu/pgbouncer:v1.23.1-p3',
  etcd: 'quay.io/coreos/etcd:v3.5.21',
};

/** Images `citusctl images build` makes from Debian packages (PostgreSQL without Citus). */
export const OFFLINE_IMAGES: Record<ImageRole, string> = {
  postgres: 'citusctl/postgres:17',
  pgbouncer: 'citusctl/pgbouncer:1',
  etcd: 'citusctl/etcd:3.5',
};

export const IMAGE_ENV: Record<ImageRole, string> = {
  postgres: 'CITUSCTL_IMAGE_POSTGRES',
  pgbouncer: 'CITUSCTL_IMAGE_PGBOUNCER',
  etcd: 'CITUSCTL_IMAGE_ETCD',
};

export const ROLES: ImageRole[] = ['postgres', 'pgbouncer', 'etcd'];

export function resolveImage(spec: ClusterSpec, role: ImageRole, env: Record<string, string | undefined>): string {
  return env[IMAGE_ENV[role]] || spec.images[role] || UPSTREAM_IMAGES[role];
}

export function resolveImages(spec: ClusterSpec, env: Record<string, string | undefined>): Record<ImageRole, string> {
  return {
    postgres: resolveImage(spec, 'postgres', env),
    pgbouncer: resolveImage(spec, 'pgbouncer', env),
    etcd: resolveImage(spec, 'etcd', env),
  };
}
