/**
 * Node operations: every statement about a PostgreSQL node's role, WAL positions, promotion,
 * replication slots, walsenders, WAL receiver and commit durability, one typed function each.
 * Each takes a connected client (PgConnector.withClient) and throws what pg throws: callers
 * (activities) heartbeat and classify errors; no SQL of this kind is written anywhere else.
 */
export type { PgClient } from './client';
export {
  currentFlushLsn,
  isInRecovery,
  ping,
  readPositions,
  readRole,
  replayLsn,
  type NodePositions,
  type NodeRole,
} from './role';
export { PromotionTimeout, promoteAndWait, promoteStandby, waitReceivedReplayed } from './promote';
export {
  anyOneOf,
  readSynchronousCommit,
  readSynchronousStandbyNames,
  setCommitWaitsFor,
  setSynchronousCommit,
  setSynchronousStandbyNames,
  type SynchronousCommit,
} from './durability';
export { dropSlot, ensurePhysicalSlot, listSlots, type SlotInfo } from './slots';
export { replicationRows, slotReplication, streamingStandbys, type ReplicationRow } from './replication';
export { streamingSource, walReceiver, type WalReceiver } from './wal-receiver';
export { checkpointForRewind } from './rewind';
export { MEMBER_SQL, readMember } from './member';
export { canConnectTo } from './peer-check';
export { POSTGRESQL_CONF } from './settings';
export { copyFromChunks, keepCitusConnections } from './copy';
export { preparedTransactionIds, recoverPreparedTransactions, stillPrepared } from './two-phase';
