/**
 * The self-fence loop of a host's worker (`citusctl worker --host NAME`, several hosts only): every
 * round it reads the groups' primaries from etcd (a linearizable read: it needs a quorum) with a short
 * deadline; while etcd fails it also asks the other hosts (lib/peer-reach.ts). The decision is
 * common/self-fence.ts's. To fence, it kills the primary's container through this host's own engine,
 * which it reaches without the network, then records the fence where it can: a log line, a journal in
 * the state directory, `member.state` = fenced in the member's volume (the node bootstrap then never
 * starts PostgreSQL as it was) and, once etcd answers again, the member state in etcd, unless a
 * failover already wrote its own (the monitor then rejoins the member as a standby).
 *
 * Why `docker kill` (SIGKILL to the container) and not `pg_ctl stop -m immediate` by exec, nor
 * `docker stop`: one call to the local engine, no process to start inside a container that may be
 * starved, effective on a hung postmaster, and the whole container (its PID namespace) goes at once;
 * immediate mode skips the shutdown checkpoint too, so both need crash recovery at the next start,
 * which a rejoin does anyway. `docker stop` sends SIGTERM first, PostgreSQL's smart shutdown, which
 * waits for clients: too slow. Members have no restart policy, so nothing starts it again behind us.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type Docker from 'dockerode';
import type { Etcd3 } from 'etcd3';
import { LABEL_CLUSTER, LABEL_MEMBER } from '../common/labels';
import type { MemberState } from '../common/member-state';
import {
  SELF_FENCE_TIMINGS,
  localPrimaries,
  selfFenceDecision,
  type PeerTarget,
  type PlacedMember,
  type SelfFenceDecision,
  type SelfFenceTimings,
} from '../common/self-fence';
import { containerName } from '../common/topology';
import { createClusterStore, type ClusterStore } from '../lib/cluster-store';
import { errMessage, withDeadline } from '../lib/deadline';
import { replaceFile } from '../lib/file-writes';
import { postgresAnswers, tcpConnects } from '../lib/peer-reach';

/** One fence, as the journal keeps it until etcd has it. */
export interface FenceRecord {
  member: string;
  group: string;
  at: string;
  reason: string;
  /** member.state written into the member's volume. */
  volume: boolean;
  /** etcd's state of the member when the loop recorded the fence there ('primary': it wrote `fenced`). */
  etcd?: string;
}

interface Journal {
  /** The primaries of the last etcd read: what a worker restarted during an isolation fences by. */
  primaries: Record<string, string>;
  primariesAt?: string;
  fences: FenceRecord[];
}

export type SelfFenceEvent =
  | { kind: 'round'; etcdOk: boolean; peers?: Record<string, boolean>; decision?: SelfFenceDecision }
  | { kind: 'stopped'; member: string; error?: string }
  | { kind: 'recorded'; member: string; where: 'journal' | 'volume' | 'etcd'; detail?: string };

export interface SelfFenceLoopOptions {
  cluster: string;
  host: string;
  hostCount: number;
  groups: string[];
  /** Every member of the spec with the host placement put it on. */
  members: PlacedMember[];
  /** This host's engine (the local socket on a real host). */
  docker: Docker;
  /**
   * The loop's own etcd client (not the activities': its deadlines and failures are its own), or a
   * function asked at each use: a worker starts before `up` writes the cluster's TLS files, and a
   * client made then could never reach the secured etcd (self-fence-start.ts passes its connector's).
   */
  etcd: Etcd3 | (() => Etcd3 | Etcd3[]);
  peers: PeerTarget[];
  /** Where a target is dialled (tests route through a simulated host); default: its own address. */
  dial?: (t: PeerTarget) => { address: string; port: number } | undefined;
  /** The journal file (the state directory's). */
  journalPath: string;
  /** Writes member.state into the member's volume (activities/members/state.ts writeVolumeState). */
  writeVolumeState?: (member: string, state: MemberState) => Promise<boolean>;
  timings?: SelfFenceTimings;
  fenceAfterMs: number;
  enabled?: boolean;
  log: (line: string) => void;
  onEvent?: (e: SelfFenceEvent) => void;
  now?: () => number;
}

export interface SelfFenceLoop {
  /** Ends the loop after the current round. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readJournal(file: string): Journal {
  try {
    const j = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Journal>;
    return { primaries: j.primaries ?? {}, primariesAt: j.primariesAt, fences: j.fences ?? [] };
  } catch {
    return { primaries: {}, fences: [] };
  }
}

const isStatus = (e: unknown, ...codes: number[]) => codes.includes((e as { statusCode?: number }).statusCode ?? 0);

export function startSelfFenceLoop(o: SelfFenceLoopOptions): SelfFenceLoop {
  const t = o.timings ?? SELF_FENCE_TIMINGS;
  const now = o.now ?? Date.now;
  const emit = (e: SelfFenceEvent) => o.onEvent?.(e);
  /** The stores over each client (several: one per etcd member, asked together). */
  const stores = () =>
    [typeof o.etcd === 'function' ? o.etcd() : o.etcd].flat().map((c) => createClusterStore(c, o.cluster));
  /** The first answer of any client: a linearizable read answered by any member means etcd has a quorum. */
  const readPrimaries = async () =>
    Promise.any(stores().map((s) => s.primaries(o.groups))).catch((e: unknown) => {
      throw e instanceof AggregateError && e.errors.length ? e.errors[0] : e;
    });
  /** A write through the first client that takes it (in turn: a compare-and-swap must not race itself). */
  const replaceIfPrimary: ClusterStore['replaceIfPrimary'] = async (member, state) => {
    let last: unknown;
    for (const s of stores()) {
      try {
        return await withDeadline(s.replaceIfPrimary(member, state), t.probeTimeoutMs * 3, 'etcd');
      } catch (e) {
        last = e;
      }
    }
    throw last;
  };
  const journal = readJournal(o.journalPath);
  const startedAt = now();
  let lastEtcdOkAt: number | undefined;
  let previousEtcdOk = true;
  let running = true;

  const save = async () => {
    fs.mkdirSync(path.dirname(o.journalPath), { recursive: true, mode: 0o700 });
    await replaceFile(o.journalPath, JSON.stringify(journal, null, 2) + '\n', 0o600);
  };

  const probePeers = async (): Promise<Record<string, boolean>> => {
    const out: Record<string, boolean> = {};
    const byHost = new Map<string, PeerTarget[]>();
    for (const p of o.peers) byHost.set(p.host, [...(byHost.get(p.host) ?? []), p]);
    await Promise.all(
      [...byHost].map(async ([host, targets]) => {
        const answers = await Promise.all(
          targets.map((target) => {
            const to = o.dial ? o.dial(target) : target;
            if (!to) return false;
            return target.kind === 'postgres'
              ? postgresAnswers(to.address, to.port, t.probeTimeoutMs)
              : tcpConnects(to.address, to.port, t.probeTimeoutMs);
          }),
        );
        out[host] = answers.some(Boolean);
      }),
    );
    return out;
  };

  /** Members whose containers run on this host, by their labels (the local engine answers without the network). */
  const runningHere = async (): Promise<string[]> => {
    const list = await o.docker.listContainers({
      filters: { label: [`${LABEL_CLUSTER}=${o.cluster}`, LABEL_MEMBER], status: ['running'] },
    });
    return list.map((c) => c.Labels?.[LABEL_MEMBER]).filter((m): m is string => !!m);
  };

  const kill = async (member: string): Promise<void> => {
    try {
      await o.docker.getContainer(containerName(o.cluster, member)).kill({ signal: 'SIGKILL' });
    } catch (e) {
      if (!isStatus(e, 404, 409)) throw e; // gone or not running: stopped all the same
    }
  };

  const fence = async (members: string[], reason: string) => {
    await Promise.all(
      members.map(async (member) => {
        try {
          await kill(member);
          emit({ kind: 'stopped', member });
        } catch (e) {
          o.log(`self-fence: could not stop ${member}: ${errMessage(e)}`);
          emit({ kind: 'stopped', member, error: errMessage(e) });
          return;
        }
        const at = new Date(now()).toISOString();
        const group = o.members.find((m) => m.name === member)?.group ?? '';
        const record: FenceRecord = { member, group, at, reason, volume: false };
        journal.fences.push(record);
        o.log(`self-fence: stopped primary ${member} (${group}) on host ${o.host}: ${reason}`);
        await save();
        emit({ kind: 'recorded', member, where: 'journal' });
        const state: MemberState = { state: 'fenced', at, reason: `self-fence on host ${o.host}: ${reason}` };
        try {
          record.volume = (await o.writeVolumeState?.(member, state)) ?? false;
          await save();
          if (record.volume) emit({ kind: 'recorded', member, where: 'volume' });
        } catch (e) {
          o.log(`self-fence: ${member} stopped, but its volume's member.state not written: ${errMessage(e)}`);
        }
      }),
    );
  };

  /** etcd answers again: each fence not recorded there yet becomes the member's state, unless a failover's stands. */
  const recordInEtcd = async () => {
    const pending = journal.fences.filter((f) => f.etcd === undefined);
    if (!pending.length) return;
    for (const f of pending) {
      const before = await replaceIfPrimary(f.member, {
        state: 'fenced',
        at: f.at,
        reason: `self-fence on host ${o.host}: ${f.reason}`,
      });
      f.etcd = before;
      o.log(
        before === 'primary'
          ? `self-fence: recorded ${f.member} as fenced in etcd`
          : `self-fence: ${f.member} left as etcd has it (${before}): a failover or a rejoin recorded it`,
      );
      emit({ kind: 'recorded', member: f.member, where: 'etcd', detail: before });
    }
    // Recorded: the monitor owns these members from here (a rejoined one may be primary again one day).
    journal.fences = journal.fences.filter((f) => f.etcd === undefined);
    await save();
  };

  const round = async (): Promise<boolean> => {
    const start = now();
    // While etcd fails, the peers and this host's containers are read in the same round, within its deadline.
    const suspicious = !previousEtcdOk;
    const [etcd, peers, here] = await Promise.all([
      withDeadline(Promise.resolve().then(readPrimaries), t.probeTimeoutMs, 'etcd').then(
        (p) => ({ ok: true as const, primaries: p }),
        (e: unknown) => ({ ok: false as const, error: errMessage(e) }),
      ),
      suspicious ? probePeers() : Promise.resolve(undefined),
      suspicious
        ? withDeadline(runningHere(), t.probeTimeoutMs, "this host's engine").catch((e: unknown) => {
            o.log(`self-fence: this host's containers not listed: ${errMessage(e)}`);
            return null;
          })
        : Promise.resolve(undefined),
    ]);
    // Before etcd ever answered (no cluster here yet, or a worker started first) with no primary known
    // from an earlier run, there is nothing to protect: said once, calmly, without etcd's error text.
    const nothingKnown = lastEtcdOkAt === undefined && !Object.keys(journal.primaries).length;
    if (etcd.ok !== previousEtcdOk)
      o.log(
        etcd.ok
          ? 'self-fence: etcd reached again'
          : nothingKnown
            ? 'self-fence: etcd not reached yet: no primary known, nothing to fence until it answers'
            : `self-fence: etcd not reached (${etcd.error})`,
      );
    previousEtcdOk = etcd.ok;
    if (etcd.ok) {
      lastEtcdOkAt = start;
      if (JSON.stringify(etcd.primaries) !== JSON.stringify(journal.primaries)) {
        journal.primaries = etcd.primaries;
        journal.primariesAt = new Date(start).toISOString();
        await save();
      }
      await recordInEtcd().catch((e: unknown) => o.log(`self-fence: fence not recorded in etcd yet: ${errMessage(e)}`));
      emit({ kind: 'round', etcdOk: true });
      return true;
    }
    // First failed read: ask the peers in the next round, at once (no sleep).
    if (!peers || here === undefined) {
      emit({ kind: 'round', etcdOk: false });
      return false;
    }
    if (here === null) {
      emit({ kind: 'round', etcdOk: false });
      return true;
    }
    const decision = selfFenceDecision({
      enabled: o.enabled ?? true,
      hostCount: o.hostCount,
      now: now(),
      startedAt,
      lastEtcdOkAt,
      etcdOk: false,
      peers,
      primaries: localPrimaries(here, journal.primaries, o.members, o.host),
      fenced: journal.fences.map((f) => f.member),
      fenceAfterMs: o.fenceAfterMs,
    });
    emit({ kind: 'round', etcdOk: false, peers, decision });
    if (decision.action === 'fence') await fence(decision.members, decision.reason);
    return true;
  };

  const done = (async () => {
    o.log(
      `self-fence: on (host ${o.host} of ${o.hostCount}; fences a primary after ${o.fenceAfterMs} ms ` +
        `without etcd and, counting itself, a majority of the hosts)`,
    );
    while (running) {
      let sleepAfter = true;
      try {
        sleepAfter = await round();
      } catch (e) {
        o.log(`self-fence: round failed: ${errMessage(e)}`);
      }
      if (running && sleepAfter) await sleep(t.probeIntervalMs);
    }
  })();

  return {
    async stop() {
      running = false;
      await done;
    },
  };
}
