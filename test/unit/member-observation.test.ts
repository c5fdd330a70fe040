/**
 * The one member observation, its pure parts: the row of the member SQL as the observation, Docker's
 * inspect state as a container status (and in the four states the steps act on), and the views the
 * monitor's probe and `citusctl status` keep of one reading.
 */
import { roleOf, type MemberReading, type MemberSqlView } from '../../common/member-observation';
import { probeSqlView } from '../../common/monitor-observation';
import { coarseState, statusOfState } from '../../lib/docker/container-status';
import { memberSqlView, type MemberSqlRow } from '../../lib/postgres/member';
import { memberStatus } from '../../client/status-members';

const primaryRow: MemberSqlRow = {
  in_recovery: false,
  timeline: '3',
  sync_names: 'ANY 1 ("g1-b")',
  lsn: '0/3000060',
  replay_lsn: null,
  receiver: null,
  replication: [{ standby: 'g1-b', state: 'streaming', sync_state: 'quorum', lag_bytes: '128', lag_seconds: null }],
  slots: [{ name: 'citusctl_g1_b', active: true, wal_status: 'reserved', retained_bytes: '4096' }],
};

const standbyRow: MemberSqlRow = {
  in_recovery: true,
  timeline: 3,
  sync_names: null,
  lsn: '0/3000060',
  replay_lsn: '0/3000050',
  receiver: { status: 'streaming', sender_host: 'g1-a' },
  replication: null,
  slots: null,
};

describe('memberSqlView: the row of the member SQL', () => {
  it('a primary: walsenders and slots with numbers, not strings', () => {
    expect(memberSqlView(primaryRow)).toEqual<MemberSqlView>({
      ok: true,
      inRecovery: false,
      timeline: 3,
      lsn: '0/3000060',
      replayLsn: null,
      receiver: null,
      replication: [{ standby: 'g1-b', state: 'streaming', syncState: 'quorum', lagBytes: 128, lagSeconds: null }],
      slots: [{ name: 'citusctl_g1_b', active: true, walStatus: 'reserved', retainedBytes: 4096 }],
      syncNames: 'ANY 1 ("g1-b")',
    });
  });

  it('a standby: its receiver; no walsenders, no slots, no synchronous names', () => {
    expect(memberSqlView(standbyRow)).toMatchObject({
      inRecovery: true,
      receiver: { status: 'streaming', senderHost: 'g1-a' },
      replication: [],
      slots: [],
      syncNames: '',
      replayLsn: '0/3000050',
    });
  });
});

describe('container status: one reader, two granularities', () => {
  it('Docker says Running for a paused or restarting container: those flags come first', () => {
    expect(statusOfState({ Running: true, Paused: true, Status: 'paused' })).toBe('paused');
    expect(statusOfState({ Running: true, Restarting: true, Status: 'restarting' })).toBe('restarting');
    expect(statusOfState({ Running: true, Status: 'running' })).toBe('running');
  });

  it('a container that does not run: created, dead, else exited', () => {
    expect(statusOfState({ Running: false, Status: 'created' })).toBe('created');
    expect(statusOfState({ Running: false, Status: 'dead' })).toBe('dead');
    expect(statusOfState({ Running: false, Status: 'exited' })).toBe('exited');
    expect(statusOfState({ Running: false, Status: 'removing' })).toBe('exited');
  });

  it('the steps see four states: a paused or restarting container still has its process, a dead one has not', () => {
    expect(
      ['running', 'paused', 'restarting', 'created', 'absent', 'exited', 'dead'].map((s) =>
        coarseState(s as Parameters<typeof coarseState>[0]),
      ),
    ).toEqual(['running', 'running', 'running', 'created', 'absent', 'exited', 'exited']);
  });
});

const reading = (over: Partial<MemberReading>): MemberReading => ({
  member: 'g1-a',
  container: 'running',
  sql: memberSqlView(primaryRow),
  sqlMs: 7,
  ...over,
});

describe("the probe's view of a reading (what the monitor's history keeps)", () => {
  it('a primary: the walsenders by member name, with the SQL round trip', () => {
    expect(probeSqlView(reading({}))).toEqual({
      ok: true,
      inRecovery: false,
      timeline: 3,
      receiver: null,
      replication: [{ name: 'g1-b', state: 'streaming', syncState: 'quorum', lagBytes: 128 }],
      syncNames: 'ANY 1 ("g1-b")',
      ms: 7,
    });
  });

  it('keeps nothing the decisions do not read (slots, LSNs stay out of the history)', () => {
    expect(Object.keys(probeSqlView(reading({ sql: memberSqlView(standbyRow) }))).sort()).toEqual([
      'inRecovery',
      'ms',
      'ok',
      'receiver',
      'replication',
      'syncNames',
      'timeline',
    ]);
  });

  it('a failure carries its reason and how long it took', () => {
    expect(probeSqlView(reading({ sql: { ok: false, error: 'connect ECONNREFUSED' }, sqlMs: 3 }))).toEqual({
      ok: false,
      ms: 3,
      error: 'connect ECONNREFUSED',
    });
  });
});

describe("`citusctl status`'s view of a reading", () => {
  const member = { name: 'g1-a', group: 'g1' };
  it('a primary: role, timeline and its walsenders (an unknown lag reads 0)', () => {
    const sql = memberSqlView({
      ...primaryRow,
      replication: [{ standby: 'g1-b', state: 'catchup', sync_state: 'async', lag_bytes: null, lag_seconds: null }],
    });
    expect(memberStatus(member, 'citusctl-demo-g1-a', { container: 'running', sql })).toEqual({
      name: 'g1-a',
      group: 'g1',
      container: 'citusctl-demo-g1-a',
      state: 'running',
      role: 'primary',
      timeline: 3,
      replication: [{ standby: 'g1-b', state: 'catchup', lagBytes: 0, syncState: 'async' }],
    });
  });

  it('a standby: role and timeline, no replication list', () => {
    const s = memberStatus(member, 'c', { container: 'running', sql: memberSqlView(standbyRow) });
    expect(s).toMatchObject({ role: 'standby', timeline: 3 });
    expect(s.replication).toBeUndefined();
  });

  it('a running member that does not answer: the reason', () => {
    expect(memberStatus(member, 'c', { container: 'running', sql: { ok: false, error: 'timeout' } })).toMatchObject({
      role: 'unknown',
      error: 'timeout',
    });
  });

  it('a container that does not run: its state only (no connection error to read)', () => {
    expect(memberStatus(member, 'c', { container: 'exited', sql: { ok: false, error: 'ECONNREFUSED' } })).toEqual({
      name: 'g1-a',
      group: 'g1',
      container: 'c',
      state: 'exited',
      role: 'unknown',
    });
    expect(memberStatus(member, 'c', { container: 'paused', sql: memberSqlView(primaryRow) })).toMatchObject({
      state: 'paused',
      role: 'unknown',
    });
  });
});

test('roleOf: what the node says, unknown when it did not answer', () => {
  expect(roleOf(memberSqlView(primaryRow))).toBe('primary');
  expect(roleOf(memberSqlView(standbyRow))).toBe('standby');
  expect(roleOf({ ok: false, error: 'x' })).toBe('unknown');
});
