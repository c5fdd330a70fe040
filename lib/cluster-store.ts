/**
 * The cluster's state in etcd behind one interface (in the manner of Patroni's dcs): the spec's
 * topology, live primaries, member states, group locks, failover events, durability and
 * maintenance records. Keys come from common/etcd-keys.ts; values are JSON. Errors are etcd's:
 * callers classify them.
 */
import type { Etcd3 } from 'etcd3';
import * as keys from '../common/etcd-keys';
import { MEMBER_STATES, type MemberState, type MemberStateName } from '../common/member-state';
import type { DurabilityRecord } from '../common/monitor-observation';
import { grantLease, keepAliveOnce, revokeLease } from './etcd-lease';

/** The value of a lock key: who holds it, under which lease. */
export interface LockHolder {
  owner: string;
  lease: string;
}

export type LockAttempt = { acquired: true; lease: string } | { acquired: false; holder: string };

/** What the monitor reads each round, in three range reads. */
export interface StoreSnapshot {
  /** group -> member named as its primary (groups without the key are absent). */
  primaries: Record<string, string>;
  durability: Record<string, DurabilityRecord>;
  memberStates: Record<string, MemberStateName>;
  /** group -> owner of its lock ('unknown' when the value does not parse). */
  lockOwners: Record<string, string>;
}

export interface ClusterStore {
  readonly cluster: string;

  /** Writes the topology document unless etcd holds exactly it; returns whether it wrote. */
  publishTopology(doc: unknown): Promise<boolean>;
  /** Writes the validated spec unless etcd holds exactly it; returns whether it wrote. */
  publishSpec(spec: unknown): Promise<boolean>;
  /** The stored spec (unvalidated JSON); null when absent or unreadable. */
  readSpec(): Promise<unknown>;

  livePrimary(group: string): Promise<string | null>;
  /** Creates the group's primary key when absent (setup); returns whether it did. */
  createPrimaryIfAbsent(group: string, member: string): Promise<boolean>;
  /** Compare-and-set of the group's primary from expected (null: the key is absent); returns whether it succeeded. */
  swapPrimary(group: string, expected: string | null, member: string): Promise<boolean>;

  /** Stores a failover/switchover event under its id and as the group's last failover. */
  recordEvent(group: string, id: string, event: Record<string, unknown>): Promise<void>;
  lastFailover(group: string): Promise<unknown>;

  /** etcd's copy of a member's state; null when absent or unreadable. */
  memberState(member: string): Promise<MemberState | null>;
  writeMemberState(member: string, state: MemberState): Promise<void>;
  /**
   * Writes `state` only while etcd still records the member as primary (compare-and-set on the value
   * read): a failover's own fence, or a rejoin that followed it, is never overwritten. Returns the
   * state etcd held ('absent' when none).
   */
  replaceIfPrimary(member: string, state: MemberState): Promise<MemberStateName | 'absent'>;
  /** group -> member named its primary, in one range read (groups without the key are absent). */
  primaries(groups: string[]): Promise<Record<string, string>>;

  writeDurability(group: string, record: DurabilityRecord): Promise<void>;
  /** The monitor's pause state as stored; null when absent or unreadable. */
  readMaintenance(): Promise<unknown>;
  writeMaintenance(record: unknown): Promise<void>;

  /** One attempt at the group's lock: a new lease, or the lease this owner already holds (renewed). */
  tryAcquireLock(group: string, owner: string, ttlSeconds: number): Promise<LockAttempt>;
  /** Renews the lease and reads the lock key: the caller checks it is still its own. */
  renewLock(group: string, lease: string): Promise<{ ttl: number; holder: LockHolder | null }>;
  /** Deletes the key only while it names owner, then revokes its lease; returns whether it deleted. */
  releaseLock(group: string, owner: string): Promise<boolean>;

  snapshot(groups: string[]): Promise<StoreSnapshot>;

  /**
   * Deletes everything of a removed group: its keys, events and
   * lock, and its members' states. Returns how many keys went.
   */
  forgetGroup(group: string, members: string[]): Promise<number>;
}

const parsed = (raw: string | null): unknown => {
  if (!raw) return null;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return null; // a record we cannot read counts as none
  }
};

export function createClusterStore(etcd: Etcd3, cluster: string): ClusterStore {
  const get = (key: string) => etcd.get(key).string();
  const put = async (key: string, value: unknown): Promise<void> => {
    await etcd.put(key).value(JSON.stringify(value));
  };

  return {
    cluster,

    async publishTopology(doc) {
      const key = keys.topologyKey(cluster);
      const text = JSON.stringify(doc);
      if ((await get(key)) === text) return false;
      await etcd.put(key).value(text);
      return true;
    },

    async publishSpec(spec) {
      const key = keys.specKey(cluster);
      const text = JSON.stringify(spec);
      if ((await get(key)) === text) return false;
      await etcd.put(key).value(text);
      return true;
    },
    readSpec: async () => parsed(await get(keys.specKey(cluster))),

    livePrimary: (group) => get(keys.primaryKey(cluster, group)),

    async createPrimaryIfAbsent(group, member) {
      const key = keys.primaryKey(cluster, group);
      return (await etcd.if(key, 'Create', '==', 0).then(etcd.put(key).value(member)).commit()).succeeded;
    },

    async swapPrimary(group, expected, member) {
      const key = keys.primaryKey(cluster, group);
      const txn = expected === null ? etcd.if(key, 'Create', '==', 0) : etcd.if(key, 'Value', '==', expected);
      return (await txn.then(etcd.put(key).value(member)).commit()).succeeded;
    },

    async recordEvent(group, id, event) {
      const doc = JSON.stringify(event);
      await etcd.put(keys.eventKey(cluster, group, id)).value(doc);
      await etcd.put(keys.lastFailoverKey(cluster, group)).value(doc);
    },

    async lastFailover(group) {
      const raw = await get(keys.lastFailoverKey(cluster, group));
      return raw ? (JSON.parse(raw) as unknown) : null;
    },

    memberState: async (member) => parsed(await get(keys.memberStateKey(cluster, member))) as MemberState | null,
    writeMemberState: (member, state) => put(keys.memberStateKey(cluster, member), state),

    async replaceIfPrimary(member, state) {
      const key = keys.memberStateKey(cluster, member);
      const raw = await get(key);
      const current = (parsed(raw) as MemberState | null)?.state;
      if (raw === null || !current) return 'absent';
      if (current !== 'primary') return current;
      const r = await etcd
        .if(key, 'Value', '==', raw)
        .then(etcd.put(key).value(JSON.stringify(state)))
        .commit();
      if (r.succeeded) return 'primary';
      // Changed between the read and the write: by a failover or a rejoin, whose state stands.
      return (parsed(await get(key)) as MemberState | null)?.state ?? 'absent';
    },

    async primaries(groups) {
      const all = await etcd.getAll().prefix(keys.groupsPrefix(cluster)).strings();
      const out: Record<string, string> = {};
      for (const g of groups) {
        const p = all[keys.primaryKey(cluster, g)];
        if (p) out[g] = p;
      }
      return out;
    },

    writeDurability: (group, record) => put(keys.durabilityKey(cluster, group), record),
    readMaintenance: async () => parsed(await get(keys.maintenanceKey(cluster))),
    writeMaintenance: (record) => put(keys.maintenanceKey(cluster), record),

    async tryAcquireLock(group, owner, ttlSeconds) {
      const key = keys.lockKey(cluster, group);
      const current = await get(key);
      if (current) {
        const held = JSON.parse(current) as LockHolder;
        if (held.owner === owner && (await keepAliveOnce(etcd, held.lease)) > 0)
          return { acquired: true, lease: held.lease };
        return { acquired: false, holder: held.owner };
      }
      const lease = await grantLease(etcd, ttlSeconds);
      const value: LockHolder = { owner, lease };
      const r = await etcd
        .if(key, 'Create', '==', 0)
        .then(etcd.put(key).value(JSON.stringify(value)).lease(lease))
        .commit();
      if (r.succeeded) return { acquired: true, lease };
      await revokeLease(etcd, lease);
      return { acquired: false, holder: 'a concurrent owner' };
    },

    async renewLock(group, lease) {
      const ttl = await keepAliveOnce(etcd, lease);
      const current = await get(keys.lockKey(cluster, group));
      return { ttl, holder: current ? (JSON.parse(current) as LockHolder) : null };
    },

    async releaseLock(group, owner) {
      const key = keys.lockKey(cluster, group);
      const current = await get(key);
      if (!current) return false;
      const held = JSON.parse(current) as LockHolder;
      if (held.owner !== owner) return false;
      const r = await etcd.if(key, 'Value', '==', current).then(etcd.delete().key(key)).commit();
      await revokeLease(etcd, held.lease);
      return r.succeeded;
    },

    async snapshot(groups) {
      const [groupKeys, memberKeys, lockKeys] = await Promise.all([
        etcd.getAll().prefix(keys.groupsPrefix(cluster)).strings(),
        etcd.getAll().prefix(keys.membersPrefix(cluster)).strings(),
        etcd.getAll().prefix(keys.locksPrefix(cluster)).strings(),
      ]);
      const out: StoreSnapshot = { primaries: {}, durability: {}, memberStates: {}, lockOwners: {} };
      for (const g of groups) {
        const p = groupKeys[keys.primaryKey(cluster, g)];
        if (p) out.primaries[g] = p;
        const d = parsed(groupKeys[keys.durabilityKey(cluster, g)] ?? null);
        if (d) out.durability[g] = d as DurabilityRecord;
      }
      for (const [key, raw] of Object.entries(memberKeys)) {
        const member = keys.nameUnder(keys.membersPrefix(cluster), key);
        const s = (parsed(raw) as { state?: unknown } | null)?.state;
        if (member && typeof s === 'string' && (MEMBER_STATES as readonly string[]).includes(s))
          out.memberStates[member] = s as MemberStateName;
      }
      for (const [key, raw] of Object.entries(lockKeys)) {
        const group = keys.nameUnder(keys.locksPrefix(cluster), key);
        if (group) out.lockOwners[group] = String((parsed(raw) as { owner?: unknown } | null)?.owner ?? 'unknown');
      }
      return out;
    },

    async forgetGroup(group, members) {
      let deleted = 0;
      for (const prefix of [keys.groupPrefix(cluster, group), keys.groupEventsPrefix(cluster, group)]) {
        deleted += Number((await etcd.delete().prefix(prefix)).deleted);
      }
      for (const key of [keys.lockKey(cluster, group), ...members.map((m) => keys.memberStateKey(cluster, m))]) {
        deleted += Number((await etcd.delete().key(key)).deleted);
      }
      return deleted;
    },
  };
}
