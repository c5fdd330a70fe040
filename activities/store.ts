/** The cluster's etcd state for an activity: the store over the worker's cached etcd client. */
import type { ClusterSpec } from '../common/spec';
import { createClusterStore, type ClusterStore } from '../lib/cluster-store';
import type { ActivityDeps } from './deps';

export const storeOf = (deps: Pick<ActivityDeps, 'etcd'>, spec: ClusterSpec): ClusterStore => createClusterStore(deps.etcd.client(spec), spec.name);
