/**
 * One line per activity call for the Temporal UI's event history ("promote g1-b", "register g2-a",
 * "load rows 1-100000 into events"), sent as the activity's user metadata summary. Built from the
 * call's input alone, never from secrets (inputs carry none). Pure: safe in workflows; an activity
 * or input shape it does not know gets no summary rather than an error.
 */

type Input = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const rec = (v: unknown): Input => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Input) : {});
const spec = (i: Input) => rec(i.spec);
const cluster = (i: Input) => str(spec(i).name) ?? str(i.name);
const table = (i: Input) => str(rec(spec(i).demo).table) ?? 'events';
const workersOf = (primaries: unknown) =>
  Object.values(rec(rec(primaries).workers)).filter((x): x is string => typeof x === 'string');
const joined = (names: string[]) => (names.length ? names.join(', ') : undefined);

/** Inputs that are the spec itself (the activity takes `spec` as its only argument). */
const specName = (i: Input) => str(i.name);

const SUMMARIES: Record<string, (i: Input) => string | undefined> = {
  validateSpec: (i) => `validate the spec${specName(i) ? ` of ${specName(i)}` : ' (defaults: cluster.yaml)'}`,
  loadClusterSpec: (i) => str(i.cluster) && `load the stored spec of ${str(i.cluster)}`,
  shortWait: (i) => (num(i.ms) === undefined ? undefined : `wait ${Math.round(num(i.ms)!)} ms`),
  resolveImages: (i) => `resolve images for ${specName(i) ?? 'the cluster'}`,
  storeClusterSpec: (i) => `store the spec of ${specName(i) ?? 'the cluster'}`,
  searchAttributesRegistered: () => 'check CitusCluster/CitusGroup are registered',
  provisionCluster: (i) =>
    `provision ${specName(i) ?? 'the cluster'}: ${Array.isArray(i.members) ? i.members.length : '?'} members, ` +
    'etcd, PgBouncer',
  readLivePrimaries: (i) => `read the live primaries of ${specName(i) ?? 'the cluster'}`,
  waitForNodes: (i) => joined(list(i.primaries)) && `wait for ${joined(list(i.primaries))}`,
  prepareNode: (i) => str(i.member) && `prepare ${str(i.member)}`,
  cleanUp: (i) => `drop the demo table ${table(i)}${i.force ? ' (force)' : ''}`,
  registerNodes: (i) => joined(workersOf(i.primaries)) && `register ${joined(workersOf(i.primaries))}`,
  distributeDemoTable: (i) => `distribute ${table(i)} (${num(rec(spec(i).demo).shardCount) ?? '?'} shards)`,
  loadDemoData: (i) => {
    const from = num(i.fromId) ?? num(i.from);
    const to = num(i.toId) ?? num(i.to);
    if (from !== undefined && to !== undefined) return `load rows ${from}-${to} into ${table(i)}`;
    const rows = num(rec(spec(i).demo).rows);
    return rows === undefined
      ? undefined
      : rows === 0
        ? `load no rows into ${table(i)}`
        : `load rows 1-${rows} into ${table(i)}`;
  },
  checkShards: (i) => `check the shards of ${table(i)}`,
  followPrimary: (i) => str(i.standby) && `${str(i.standby)} follows ${str(i.primary) ?? 'its primary'}`,
  checkReplication: (i) => str(i.standby) && `check ${str(i.standby)} streams from ${str(i.primary) ?? 'its primary'}`,
  configureDurability: (i) =>
    str(i.primary) &&
    `durability of ${str(i.primary)}: ${str(spec(i).durability) ?? 'synchronous'} (standbys ` +
      `${joined(list(i.standbys)) ?? 'none'})`,
  initPgBouncer: (i) => str(i.coordinator) && `point PgBouncer at ${str(i.coordinator)}`,
  publishToEtcd: (i) => `publish topology and primaries of ${cluster(i) ?? 'the cluster'} to etcd`,
  acquireGroupLock: (i) => str(i.group) && `lock ${str(i.group)}`,
  renewGroupLock: (i) => str(i.group) && `renew the lock of ${str(i.group)}`,
  releaseGroupLock: (i) => str(i.group) && `release the lock of ${str(i.group)}`,
  probeMember: (i) => str(i.member) && `probe ${str(i.member)}${num(i.probes) ? ` (${num(i.probes)}x)` : ''}`,
  fenceMember: (i) => str(i.member) && `fence ${str(i.member)}`,
  standbyPositions: (i) => joined(list(i.members)) && `WAL positions of ${joined(list(i.members))}`,
  promoteStandby: (i) => str(i.member) && `promote ${str(i.member)}`,
  pointCitusAt: (i) => str(i.newHost) && `point Citus from ${str(i.oldHost) ?? '?'} to ${str(i.newHost)}`,
  waitMetadataSynced: (i) => `wait for Citus metadata sync${str(i.coordinator) ? ` (${str(i.coordinator)})` : ''}`,
  unfencePrimary: (i) => str(i.member) && `unfence ${str(i.member)}`,
  resolveInDoubtTransactions: (i) =>
    str(i.member) &&
    `resolve the transactions left prepared on ${str(i.member)} (${list(i.gids).length} at its promotion)`,
  pointCoordinatorAt: (i) => str(i.newCoordinator) && `point the coordinator metadata at ${str(i.newCoordinator)}`,
  recordPrimaryChange: (i) => {
    const event = str(rec(i.event).kind);
    const change = `${str(i.group) ?? '?'}: ${str(i.oldPrimary) ?? '?'} -> ${str(i.newPrimary) ?? '?'}`;
    return event ? `record the ${event} ${change}` : `record primary ${change}`;
  },
  rejoinMember: (i) => str(i.member) && `rejoin ${str(i.member)} to ${str(i.primary) ?? 'its primary'}`,
  switchoverCriticalSection: (i) =>
    str(i.newPrimary) && `switch over ${str(i.oldPrimary) ?? '?'} -> ${str(i.newPrimary)} (writes held)`,
  healthNodes: (i) => `observe the members of ${cluster(i) ?? 'the cluster'}`,
  healthEtcd: () => 'observe etcd',
  healthPgBouncer: () => 'observe PgBouncer',
  healthMonitor: (i) => `observe ${str(i.workflowId) ?? 'the monitor'}`,
  healthCitus: (i) => `observe Citus on ${str(i.coordinator) ?? 'the coordinator'}`,
  storeHealthReport: (i) => `store the health report of ${cluster(i) ?? 'the cluster'}`,
  healthCertificates: (i) => `read the certificate expiries of ${cluster(i) ?? 'the cluster'}`,
  healthBackups: (i) => `observe archiving, the backup repository and catalog of ${cluster(i) ?? 'the cluster'}`,
  backupToVerify: (i) => `find the newest backup of ${cluster(i) ?? 'the cluster'} to verify`,
  checkRestoredCluster: (i) => `count every table and check node health in ${cluster(i) ?? 'the restored cluster'}`,
  recordVerification: (i) => {
    const r = rec(i.record);
    return (
      str(r.id) && `record verification ${str(r.id)} (${r.ok ? 'ok' : 'FAILED'}) in ${cluster(i) ?? 'the catalog'}`
    );
  },
  removeScratchCluster: (i) => str(i.scratch) && `remove the scratch cluster ${str(i.scratch)}`,
  renewCertificates: (i) =>
    `renew the ${i.force ? 'certificates (all)' : 'certificates due'} of ${cluster(i) ?? 'the cluster'}`,
  rotateClusterCa: (i) => `a new CA for ${cluster(i) ?? 'the cluster'} (the old one still trusted)`,
  createRestorePoint: (i) =>
    str(i.name) &&
    `restore point ${str(i.name)} of ${cluster(i) ?? 'the cluster'}${i.rowCounts ? ' (rows counted)' : ''}`,
  planRestore: (i) => str(i.as) && `plan the restore of ${str(i.as)} from ${str(i.from) ?? str(i.as)}'s backups`,
  createRestoreVolumes: (i) => `create the restored primaries' volumes of ${cluster(i) ?? 'the cluster'}`,
  restoreGroupData: (i) =>
    str(i.member) && `restore ${str(i.group) ?? '?'} into ${str(i.member)} to point ${str(i.point) ?? '?'}`,
  finishRestore: (i) => `check Citus and resolve prepared transactions on ${str(i.coordinator) ?? 'the coordinator'}`,
  retireOldClusterCas: (i) => `retire the old CAs of ${cluster(i) ?? 'the cluster'}`,
  installTls: (i) =>
    str(i.id) && `install ${i.part === 'trust' ? 'the trust bundle' : 'the certificate'} of ${str(i.id)} and reload`,
  ensureBackupStanzas: (i) => `the backup stanza of every group of ${cluster(i) ?? 'the cluster'}`,
  closeArchiveGap: (i) =>
    str(i.primary) && `push from ${str(i.primary)} the WAL of ${str(i.group) ?? '?'} its old primary had not archived`,
  checkBackupRepository: (i) => `check the backup repository and stanzas of ${cluster(i) ?? 'the cluster'}`,
  baseBackupGroup: (i) =>
    str(i.group) && `full base backup of ${str(i.group)} in its primary (backup ${str(i.backupId) ?? '?'})`,
  recordBackup: (i) => str(rec(i.record).id) && `record backup ${str(rec(i.record).id)} in the catalog`,
  expireBackups: (i) => `expire backups of ${cluster(i) ?? 'the cluster'} past retention`,
  refuseDroppedGroups: (i) => `check no group left out of the spec of ${cluster(i) ?? 'the cluster'} is still in Citus`,
  checkRebalanceReady: (i) => `check logical moves can run (${str(i.transferMode) ?? 'auto'})`,
  startRebalance: (i) =>
    `start${i.drainOnly ? ' a drain-only' : ' a'} rebalance of ${cluster(i) ?? 'the cluster'} (or follow the ` +
    'running job)',
  followRebalance: (i) => {
    if (num(i.jobId) === undefined) return undefined;
    const done = num(rec(i.previous).movesDone);
    const moves = done !== undefined ? ` (${done}/${num(rec(i.previous).movesTotal) ?? '?'} moves)` : '';
    return `follow rebalance job ${num(i.jobId)}${moves}`;
  },
  stopRebalance: (i) => (num(i.jobId) === undefined ? undefined : `cancel rebalance job ${num(i.jobId)}`),
  checkDrain: (i) => str(i.group) && `check ${str(i.group)} can be drained`,
  markDraining: (i) => str(i.group) && `mark ${str(i.group)} shouldhaveshards = false`,
  verifyDrained: (i) => str(i.group) && `verify no placement is left on ${str(i.group)}`,
  removeWorkerNode: (i) => str(i.group) && `remove ${str(i.group)}'s primary from Citus`,
  removeGroupContainers: (i) => str(i.group) && `remove ${str(i.group)}'s containers${i.volumes ? ' and volumes' : ''}`,
  forgetGroup: (i) => str(i.group) && `delete ${str(i.group)}'s etcd keys`,
};

/** The summary of one call, or undefined (unknown activity or input). At most one line of 200 characters. */
export function activitySummary(activity: string, input: unknown): string | undefined {
  const describe = SUMMARIES[activity];
  if (!describe) return undefined;
  try {
    const line = describe(rec(input));
    if (!line) return undefined;
    const one = line.replace(/\s+/g, ' ').trim();
    return one.length > 200 ? `${one.slice(0, 197)}...` : one;
  } catch {
    return undefined;
  }
}
