/**
 * The switchover section's input and result, shared by switchover.ts and coordinator-switchover.ts
 * (here so that neither imports the other's types in a circle).
 */
import type { ClusterSpec } from '../../common/spec';

export interface SwitchoverInput {
  spec: ClusterSpec;
  coordinator: string;
  oldPrimary: string;
  newPrimary: string;
  /** The coordinator group has no Citus pause: PgBouncer holds client transactions instead. */
  isCoordinatorGroup: boolean;
}

export interface SwitchoverSectionResult {
  pauseMs: number;
  promoted: boolean;
  /** Citus metadata (worker group) or PgBouncer (coordinator) already points at the new primary. */
  metadataUpdated: boolean;
}
