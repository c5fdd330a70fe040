/** All activities, built from injected clients. Workflows use `import type` of this module only. */
import type { ActivityDeps } from './deps';
import { createCitusActivities } from './citus';
import { createDemoLoadActivities } from './demo-load';
import { createEtcdActivities } from './etcd';
import { createPgBouncerActivities } from './pgbouncer';
import { createPostgresActivities } from './postgres';
import { createProvisionActivities } from './provision';
import { createReplicationActivities } from './replication';
import { createSpecActivities } from './spec';
import { createLockActivities } from './etcd-lock';
import { createFailoverActivities } from './failover';
import { createRejoinActivities } from './rejoin';
import { createSwitchoverActivities } from './switchover';
import { createMemberStateActivities } from './member-state';
import { createMonitorProbeActivities } from './monitor-probe';
import { createMonitorActionActivities } from './monitor-actions';
import { createMonitorRecreateActivities } from './monitor-recreate';
import { createMonitorServiceActivities } from './monitor-services';
import { createHealthActivities } from './health';
import { createResolveImagesActivities } from './resolve-images';
import { createClusterSpecActivities } from './cluster-spec';
import { createSearchAttributeActivities } from './search-attributes';
import { createRebalanceActivities } from './rebalance';
import { createDrainActivities } from './drain';
import { createDroppedGroupActivities } from './dropped-groups';
import { createTwoPhaseActivities } from './two-phase';

export function createActivities(deps: ActivityDeps) {
  return {
    ...createSpecActivities(deps),
    ...createProvisionActivities(deps),
    ...createPostgresActivities(deps),
    ...createCitusActivities(deps),
    ...createDemoLoadActivities(deps),
    ...createReplicationActivities(deps),
    ...createPgBouncerActivities(deps),
    ...createEtcdActivities(deps),
    ...createLockActivities(deps),
    ...createFailoverActivities(deps),
    ...createRejoinActivities(deps),
    ...createSwitchoverActivities(deps),
    ...createMemberStateActivities(deps),
    ...createMonitorProbeActivities(deps),
    ...createMonitorActionActivities(deps),
    ...createMonitorRecreateActivities(deps),
    ...createMonitorServiceActivities(deps),
    ...createHealthActivities(deps),
    ...createResolveImagesActivities(deps),
    ...createClusterSpecActivities(deps),
    ...createSearchAttributeActivities(),
    ...createRebalanceActivities(deps),
    ...createDrainActivities(deps),
    ...createDroppedGroupActivities(deps),
    ...createTwoPhaseActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { Primaries, ShardSpread } from './citus';
export type { ReplicationStatus } from './replication';
