/**
 * monitorProbe: watches every member of a cluster at a short interval for a bounded period and
 * returns as soon as something needs action (or what the monitor would report changes), else at
 * the end of the period. Each round, in parallel and each bounded by a deadline: every member
 * observed (lib/observation/member.ts: its container and its SQL view, short budgets), etcd (live
 * primaries, member states, group locks, durability records) and PgBouncer's port; for a primary
 * that failed the previous round while its container runs (several hosts: or while its host's
 * engine does not answer either), its peers' view of it too (monitor-peer-view.ts: the second
 * viewpoint on a partition, and the evidence of a lost host, common/host-loss.ts). Rounds are
 * folded into a small history (common/monitor-observation.ts); the heartbeat carries it, so a
 * retried attempt (the worker died) resumes the counts instead of starting over.
 */
import { Context } from '@temporalio/activity';
import * as net from 'node:net';
import {
  decideCluster,
  decisionSignature,
  type ClusterDecision,
  type DecisionContext,
} from '../../common/monitor-decisions';
import {
  emptyHistory,
  foldObservation,
  probeSqlView,
  type ClusterObservation,
  type MemberObservation,
  type ProbeHistory,
} from '../../common/monitor-observation';
import { hostOfContainer, isMultiHost, pgbouncerHosts } from '../../common/addressing';
import { onItsHosts } from '../../common/monitor-hosts';
import { peersOf, peersToAsk } from '../../common/partition-decisions';
import type { ContainerStatus } from '../../common/member-observation';
import type { PeerView } from '../../common/peer-view';
import type { MemberStateName } from '../../common/member-state';
import type { ClusterSpec } from '../../common/spec';
import { ETCD_MEMBER, PGBOUNCER_MEMBER, containerName, groupsOf } from '../../common/topology';
import { errMessage, withDeadline } from '../../lib/deadline';
import { observeContainer } from '../../lib/docker/container-status';
import { PROBE_BUDGET, observeMember as readMember } from '../../lib/observation/member';
import { watchContainerEvents, type ContainerEvents } from './container-events';
import type { ActivityDeps } from '../deps';
import { storeOf } from '../store';
import { PEER_CHECK_TIMEOUT_MS, createPeerViewObserver } from './monitor-peer-view';

export interface MonitorProbeInput {
  spec: ClusterSpec;
  history?: ProbeHistory;
  context: DecisionContext;
  /** Probe for at most this long (default 30 s). */
  periodMs?: number;
  /** The signature of the decision the workflow last saw: a different one returns at once. */
  signature?: string;
}

export interface MonitorProbeResult {
  history: ProbeHistory;
  decision: ClusterDecision;
  signature: string;
  rounds: number;
  ended: 'action' | 'change' | 'period';
}

function tcpReachable(port: number, ms: number, host = '127.0.0.1'): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    const done = (err?: Error) => {
      s.destroy();
      if (err) reject(err);
      else resolve();
    };
    s.setTimeout(ms, () => done(new Error(`no answer within ${ms} ms`)));
    s.once('connect', () => done());
    s.once('error', (e) => done(e));
  });
}

/**
 * Several hosts: no event stream (one per engine, not merged yet): each round reads every container
 * with `docker inspect` on its host's engine, within the budget (a dead host's read `unknown`).
 */
const NO_EVENTS: ContainerEvents = {
  seen: () => 0,
  after: () => new Promise<void>(() => undefined),
  statusOf: () => undefined,
  close: () => undefined,
};

/**
 * A round's etcd read. Several hosts: no longer than a lost host's peer check (PEER_CHECK_TIMEOUT_MS),
 * so an etcd that lost its leader with that host (1-2 s to elect one) does not make the round that
 * saw the loss longer; such a round still fails the host's primaries over
 * (common/monitor-decisions.ts hostLossWithoutEtcdMs). A healthy etcd answers in milliseconds.
 */
const etcdReadDeadlineMs = (spec: ClusterSpec) => (isMultiHost(spec) ? PEER_CHECK_TIMEOUT_MS : 1500);

/**
 * Several hosts: a primary's peers are asked once its SQL failed, or once it has not answered for this
 * long (a healthy member answers in milliseconds; a cut-off host's connect waits out its 500 ms
 * timeout): the lost host's evidence comes that much sooner, and a late answer drops it.
 */
const ASK_PEERS_AFTER_MS = 150;

export function createMonitorProbeActivities(deps: ActivityDeps) {
  /** The engine holding a container of the cluster: its host's with several hosts. */
  const engineOf = (spec: ClusterSpec, container: string) =>
    isMultiHost(spec) && deps.engineOf ? deps.engineOf(hostOfContainer(spec, container)) : deps.docker;
  /** Docker's latest event for the container when it says down, else `docker inspect` within the budget. */
  const containerStatus = async (spec: ClusterSpec, member: string, events?: ContainerEvents) =>
    events?.statusOf(containerName(spec.name, member)) ??
    observeContainer(engineOf(spec, member), containerName(spec.name, member), PROBE_BUDGET.containerMs);
  /** PgBouncer's port answers: on this machine with one host; at any PgBouncer host's address with several. */
  const pgbouncerReachable = (spec: ClusterSpec) =>
    isMultiHost(spec)
      ? Promise.any(pgbouncerHosts(spec).map((h) => tcpReachable(spec.pgbouncer.port, 500, h.address)))
      : tcpReachable(spec.pgbouncer.port, 500);
  const { observePeers } = createPeerViewObserver(deps);

  /**
   * Several hosts: each primary not asked about already, with its peers, asked as soon as its SQL
   * fails: a lost host's evidence (common/host-loss.ts) one round earlier. One host: none.
   */
  const asksOnFailure = (spec: ClusterSpec, h: ProbeHistory, asks: Record<string, string[]>) =>
    isMultiHost(spec)
      ? Object.fromEntries(
          Object.entries(h.primaries)
            .filter(([, p]) => !asks[p])
            .map(([group, p]) => [p, peersOf(h.primaries, spec.members, group)]),
        )
      : {};

  /**
   * The one member observation (short budgets: a round is bounded by the interval plus them), in the probe's compact
   * form.
   */
  async function observeMember(
    spec: ClusterSpec,
    member: string,
    password: string,
    at: number,
    events?: ContainerEvents,
    /** Its peers, asked as soon as its SQL fails (the answer goes with the observation). */
    peersOnFailure?: string[],
  ): Promise<Omit<MemberObservation, 'state'> & { peers?: PeerView }> {
    const known = events?.statusOf(containerName(spec.name, member));
    let asked: Promise<PeerView | undefined> | undefined;
    let docker: Promise<ContainerStatus | undefined> | undefined;
    const ask = () => {
      if (asked || !peersOnFailure?.length) return;
      asked = observePeers(spec, password, { [member]: peersOnFailure }).then(
        (v) => v[member],
        () => undefined,
      );
      // Docker's word as of the failure: the read begun with the round may predate the fault.
      docker = containerStatus(spec, member, events).catch(() => undefined);
    };
    // SQL that has not answered by now is asked about beside its own wait (a cut host's connect hangs).
    const hedge = peersOnFailure?.length ? setTimeout(ask, ASK_PEERS_AFTER_MS) : undefined;
    const r = await readMember(
      { ...deps, docker: engineOf(spec, member) },
      spec,
      member,
      password,
      PROBE_BUDGET,
      known,
      (sql) => {
        clearTimeout(hedge);
        if (!sql.ok) ask();
      },
    );
    const base = { member, at, sql: probeSqlView(r) };
    // SQL answered (late): the peers' word, if asked, is not waited for, and not kept.
    if (r.sql.ok) return { ...base, container: r.container };
    const [peers, container] = await Promise.all([asked, docker]);
    return { ...base, container: container ?? r.container, ...(peers ? { peers } : {}) };
  }

  /** One etcd view: primaries, member states, locks, durability records. */
  async function observeEtcd(
    spec: ClusterSpec,
  ): Promise<
    Pick<ClusterObservation, 'primaries' | 'locks' | 'durability'> & { states: Record<string, MemberStateName> }
  > {
    const groups = groupsOf(spec);
    const view = await storeOf(deps, spec).snapshot(groups.map((g) => g.group));
    const primaries: Record<string, string> = {};
    for (const g of groups) {
      const p = view.primaries[g.group];
      primaries[g.group] = p && spec.members.some((m) => m.name === p && m.group === g.group) ? p : g.primary.name;
    }
    return { primaries, locks: view.lockOwners, durability: view.durability, states: view.memberStates };
  }

  /**
   * One probe round of the whole cluster; `asks`: the primaries whose peers are asked too (primary ->
   * peers); `asksOnFailure`: those asked only if their SQL fails this round (several hosts: a lost
   * host's peers answer a round earlier).
   */
  async function observeCluster(
    spec: ClusterSpec,
    password: string,
    asks: Record<string, string[]>,
    events?: ContainerEvents,
    asksOnFailure: Record<string, string[]> = {},
  ): Promise<ClusterObservation> {
    const at = Date.now();
    const [etcd, pgbouncer, members, services, peers] = await Promise.all([
      withDeadline(observeEtcd(spec), etcdReadDeadlineMs(spec), 'etcd').then(
        (v) => ({ ok: true as const, ...v }),
        (err: unknown) => ({ ok: false as const, error: errMessage(err) }),
      ),
      pgbouncerReachable(spec).then(
        () => ({ ok: true }),
        (err: unknown) => ({ ok: false, error: errMessage(err) }),
      ),
      Promise.all(spec.members.map((m) => observeMember(spec, m.name, password, at, events, asksOnFailure[m.name]))),
      // Docker's word on the services: what the monitor repairs them from, whether etcd answers or not.
      Promise.all([containerStatus(spec, PGBOUNCER_MEMBER, events), containerStatus(spec, ETCD_MEMBER, events)]).then(
        ([pgbouncer, etcd]) => ({ pgbouncer, etcd }),
      ),
      observePeers(spec, password, asks),
    ]);
    const peersAt = Date.now(); // every peer had answered by now
    const byName: Record<string, MemberObservation> = {};
    for (const { peers: asked, ...m } of members) {
      const o: MemberObservation = etcd.ok && etcd.states[m.member] ? { ...m, state: etcd.states[m.member] } : m;
      const view = peers[m.member] ?? asked;
      byName[m.member] = view ? { ...o, peers: view, peersAt } : o;
    }
    return {
      at,
      etcd: etcd.ok ? { ok: true } : { ok: false, error: etcd.error },
      pgbouncer,
      services,
      ...(etcd.ok ? { primaries: etcd.primaries } : {}),
      locks: etcd.ok ? etcd.locks : {},
      durability: etcd.ok ? etcd.durability : {},
      members: byName,
    };
  }

  async function monitorProbe(input: MonitorProbeInput): Promise<MonitorProbeResult> {
    // A container of the cluster dying or being removed ends the wait for the next round at once.
    const events = isMultiHost(input.spec) ? NO_EVENTS : watchContainerEvents(deps.docker, input.spec.name);
    try {
      return await probeUntilDue(input, events);
    } finally {
      events.close();
    }
  }

  async function probeUntilDue(input: MonitorProbeInput, events: ContainerEvents): Promise<MonitorProbeResult> {
    const ctx = Context.current();
    const { spec, context } = input;
    const resumed = ctx.info.heartbeatDetails as { history?: ProbeHistory } | undefined;
    let history = resumed?.history ?? input.history ?? emptyHistory();
    const password = (await deps.secrets.ensure(spec.name)).superuserPassword;
    const periodMs = input.periodMs ?? 30_000;
    const interval = context.thresholds.intervalMs;
    const until = Date.now() + periodMs;
    let rounds = 0;
    for (;;) {
      const started = Date.now();
      const mark = events.seen();
      const asks = peersToAsk(history, spec.members, { engineSilent: isMultiHost(spec) });
      const observed = await observeCluster(spec, password, asks, events, asksOnFailure(spec, history, asks));
      deps.metrics?.observeCluster(spec, observed);
      history = foldObservation(history, observed, spec.members);
      rounds++;
      ctx.heartbeat({ history });
      const decision = onItsHosts(spec, decideCluster(history, context), context.restartOnHosts);
      const signature = decisionSignature(decision);
      const result = (ended: MonitorProbeResult['ended']) => ({
        history: { ...history, returnedAt: Date.now() },
        decision,
        signature,
        rounds,
        ended,
      });
      if (decision.actions.length) return result('action');
      if (signature !== input.signature) return result('change');
      if (Date.now() >= until) return result('period');
      // Cancelled (the workflow's state changed, or the worker shuts down): CancelledFailure.
      await Promise.race([ctx.sleep(Math.max(0, interval - (Date.now() - started))), events.after(mark)]);
    }
  }

  return { monitorProbe };
}
