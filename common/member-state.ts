/**
 * The one durable state of a PostgreSQL member, written by the workflows to etcd
 * (memberStateKey in etcd-keys.ts) and mirrored into the member's volume
 * (`<volume>/member.state`), where the node bootstrap obeys it before it starts PostgreSQL:
 *
 *   primary    starts as it is (the group's primary)
 *   standby    always starts in recovery (standby.signal is forced), never writable
 *   fenced     does not start PostgreSQL at all until the state changes (a failover took over,
 *              or a failover is deciding); `citusctl unfence` / `citusctl rejoin` lift it
 *   rejoining  rebuilt as a standby of `primary` (pg_rewind, else a fresh base backup through
 *              `slot`), then recorded as standby
 *
 * No file in the volume means "never initialized": the initial primary runs initdb, every other
 * member waits for its base backup. Pure: safe in workflows; the bootstrap (sh) reads the same
 * file format (KEY='value' lines, sourced).
 */

export const MEMBER_STATES = ['primary', 'standby', 'fenced', 'rejoining'] as const;
export type MemberStateName = (typeof MEMBER_STATES)[number];

export interface MemberState {
  state: MemberStateName;
  /** ISO time of the change. */
  at: string;
  /** Why, in words (fenced: which failover; rejoining: after what). */
  reason?: string;
  /** standby / rejoining: the primary to follow. */
  primary?: string;
  /** rejoining: the replication slot on the primary. */
  slot?: string;
  /** rejoining: pg_rewind first, or straight to a fresh base backup. */
  mode?: 'rewind' | 'fresh';
}

/** Relative to the volume root (/var/lib/postgresql/citusctl in the container). */
export const MEMBER_STATE_FILE = 'member.state';

const KEYS: Array<[keyof MemberState, string]> = [
  ['state', 'STATE'],
  ['at', 'AT'],
  ['reason', 'REASON'],
  ['primary', 'PRIMARY'],
  ['slot', 'SLOT'],
  ['mode', 'MODE'],
];

const shellQuote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;

/** KEY='value' lines the bootstrap sources with `. member.state`. */
export function formatMemberState(s: MemberState): string {
  return (
    KEYS.filter(([k]) => s[k] !== undefined && s[k] !== '')
      .map(([k, name]) => `${name}=${shellQuote(String(s[k]))}`)
      .join('\n') + '\n'
  );
}

/** Parses what formatMemberState wrote (and what the bootstrap writes); undefined when not a state. */
export function parseMemberState(text: string | null | undefined): MemberState | undefined {
  if (!text) return undefined;
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2]!;
    if (v.startsWith("'") && v.endsWith("'") && v.length >= 2) v = v.slice(1, -1).replace(/'\\''/g, "'");
    values[m[1]!] = v;
  }
  const state = values.STATE as MemberStateName | undefined;
  if (!state || !MEMBER_STATES.includes(state)) return undefined;
  const out: MemberState = { state, at: values.AT ?? '' };
  if (values.REASON) out.reason = values.REASON;
  if (values.PRIMARY) out.primary = values.PRIMARY;
  if (values.SLOT) out.slot = values.SLOT;
  if (values.MODE === 'rewind' || values.MODE === 'fresh') out.mode = values.MODE;
  return out;
}
