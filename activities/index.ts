/** All activities, built from injected clients. Workflows use `import type` of this module only. */
import type { ActivityDeps } from './deps';
import { createCitusActivities } from './setup/citus';
import { createDemoLoadActivities } from './setup/demo-load';
import { createEtcdActivities } from './setup/etcd';
import { createPgBouncerActivities } from './setup/pgbouncer';
import { createPostgresActivities } from './setup/postgres';
import { createProvisionActivities } from './setup/provision';
import { createReplicationActivities } from './failover/replication';
import { createSpecActivities } from './setup/spec';
import { createLockActivities } from './setup/etcd-lock';
import { createFailoverActivities } from './failover/failover';
import { createHostReachActivities } from './failover/host-reach';
import { createShortWaitActivities } from './failover/short-wait';
import { createRejoinActivities } from './failover/rejoin';
import { createSwitchoverActivities } from './failover/switchover';
import { createMemberStateActivities } from './members/state';
import { createMonitorProbeActivities } from './monitor/monitor-probe';
import { createMonitorActionActivities } from './monitor/monitor-actions';
import { createMonitorRecreateActivities } from './monitor/monitor-recreate';
import { createMonitorServiceActivities } from './monitor/monitor-services';
import { createHealthActivities } from './monitor/health';
import { createResolveImagesActivities } from './setup/resolve-images';
import { createClusterSpecActivities } from './setup/cluster-spec';
import { createSearchAttributeActivities } from './setup/search-attributes';
import { createRebalanceActivities } from './scale/rebalance';
import { createDrainActivities } from './scale/drain';
import { createDroppedGroupActivities } from './scale/dropped-groups';
import { createTwoPhaseActivities } from './failover/two-phase';
import { createTlsRotationActivities } from './tls/rotation';
import { createVerifyBackupActivities } from './backup/verify-backup';
import { createRestorePlanActivities } from './backup/restore-plan';
import { createRestoreVolumeActivities } from './backup/restore-volumes';
import { createRestoreGroupActivities } from './backup/restore-group';
import { createRestoreFinishActivities } from './backup/restore-finish';
import { createRestorePointActivities } from './backup/restore-point';
import { createBaseBackupActivities } from './backup/base-backup';
import { createExpireActivities } from './backup/expire';
import { createRecordBackupActivities } from './backup/record-backup';
import { createRepositoryCheckActivities } from './backup/repository-check';
import { createStanzaActivities } from './backup/stanza';
import { createArchiveGapActivities } from './backup/archive-gap';

export function createActivities(deps: ActivityDeps) {
  return {
    ...createSpecActivities(deps),
    ...createStanzaActivities(deps),
    ...createArchiveGapActivities(deps),
    ...createProvisionActivities(deps),
    ...createPostgresActivities(deps),
    ...createCitusActivities(deps),
    ...createDemoLoadActivities(deps),
    ...createReplicationActivities(deps),
    ...createPgBouncerActivities(deps),
    ...createEtcdActivities(deps),
    ...createLockActivities(deps),
    ...createFailoverActivities(deps),
    ...createHostReachActivities(deps),
    ...createShortWaitActivities(),
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
    ...createTlsRotationActivities(deps),
    ...createVerifyBackupActivities(deps),
    ...createRestorePlanActivities(deps),
    ...createRestoreVolumeActivities(deps),
    ...createRestoreGroupActivities(deps),
    ...createRestoreFinishActivities(deps),
    ...createRestorePointActivities(deps),
    ...createRepositoryCheckActivities(deps),
    ...createBaseBackupActivities(deps),
    ...createRecordBackupActivities(deps),
    ...createExpireActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { Primaries, ShardSpread } from './setup/citus';
export type { ReplicationStatus } from './failover/replication';
