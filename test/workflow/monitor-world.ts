/**
 * A simulated cluster for the monitor's workflow tests: members with a container state, a role and
 * the primary they follow. The mocked probe activity observes it the way the real one observes
 * Docker and PostgreSQL, and folds the rounds with the real pure functions; the mocked failover,
 * rejoin, restart and durability activities change it the way the real ones change a cluster.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Activities } from '../../activities';
import type { MonitorProbeInput, MonitorProbeResult } from '../../activities/monitor/monitor-probe';
import type { MaintenanceRecord } from '../../common/monitor-status';
import { unfenceBlockers } from '../../common/failover-decisions';
import { decideCluster, decisionSignature } from '../../common/monitor-decisions';
import {
  emptyHistory,
  foldObservation,
  type ClusterObservation,
  type ContainerStatus,
  type MemberObservation,
} from '../../common/monitor-observation';
import type { MemberStateName } from '../../common/member-state';
import type { ServiceName } from '../../common/monitor-service-decisions';
import { parseSpec, type ClusterSpecInput } from '../../common/spec';
import type { Primaries } from '../../common/topology';
import { anyOneOf } from '../../lib/postgres';
import { mockActivities, type Scenario, type MockedActivities } from './mock-activities';

export interface SimMember {
  group: string;
  container: ContainerStatus;
  /** PostgreSQL answers (false: crashed, starting, or the container is paused/stopped). */
  up: boolean;
  role: 'primary' | 'standby';
  follows?: string;
  state?: MemberStateName;
}

export class World {
  readonly members: Record<string, SimMember> = {};
  readonly primaries: Record<string, string> = {};
  readonly syncNames: Record<string, string> = {};
  maintenance: MaintenanceRecord | null = null;
  /**
   * The next promotion of this member goes through, but its answer is lost and the member cannot be reached afterwards.
   */
  promotionAnswerLost?: string;
  /** The PgBouncer and etcd containers; etcd answers only while its container runs. */
  readonly services: Record<ServiceName, ContainerStatus> = { pgbouncer: 'running', etcd: 'running' };

  constructor(spec: ClusterSpecInput) {
    for (const m of spec.members) {
      const first = spec.members.find((x) => x.group === m.group)!.name;
      this.primaries[m.group] ??= first;
      this.members[m.name] =
        first === m.name
          ? { group: m.group, container: 'running', up: true, role: 'primary', state: 'primary' }
          : { group: m.group, container: 'running', up: true, role: 'standby', follows: first, state: 'standby' };
    }
    for (const [g, p] of Object.entries(this.primaries)) this.syncNames[g] = anyOneOf(this.streamingTo(p));
  }

  answers = (name: string) => this.members[name]!.container === 'running' && this.members[name]!.up;

  /** Standbys whose WAL receiver streams from primary. */
  streamingTo(primary: string): string[] {
    if (!this.answers(primary)) return [];
    return Object.entries(this.members)
      .filter(([n, m]) => m.role === 'standby' && m.follows === primary && this.answers(n))
      .map(([n]) => n);
  }

  kill(name: string) {
    Object.assign(this.members[name]!, { container: 'exited', up: false });
  }

  /** Members whose whole host is lost: engine and SQL silent, no peer reaches them. */
  readonly lost = new Set<string>();
  loseHost(members: string[]) {
    for (const name of members) {
      Object.assign(this.members[name]!, { container: 'unknown', up: false });
      this.lost.add(name);
    }
  }

  livePrimaries(): Primaries {
    const { coordinator, ...workers } = this.primaries;
    return { coordinator: coordinator!, workers };
  }

  observe(at: number): ClusterObservation {
    const members: Record<string, MemberObservation> = {};
    for (const [name, m] of Object.entries(this.members)) {
      const base = { member: name, at, container: m.container, ...(m.state ? { state: m.state } : {}) };
      if (!this.answers(name)) {
        members[name] = {
          ...base,
          sql: { ok: false, ms: 500, error: m.container === 'running' ? 'timeout expired' : 'connect ECONNREFUSED' },
          ...(this.lost.has(name) ? { peers: { reached: [], cut: ['g2-a'], unasked: [] }, peersAt: at } : {}),
        };
        continue;
      }
      // A paused primary keeps its connections (the standbys notice nothing); a stopped or crashed one does not.
      const senderAlive = (p: string) => this.members[p]!.container === 'paused' || this.answers(p);
      const receiver =
        m.role === 'standby' && m.follows && senderAlive(m.follows)
          ? { status: 'streaming', senderHost: m.follows }
          : null;
      const replication =
        m.role === 'primary'
          ? this.streamingTo(name).map((s) => ({
              name: s,
              state: 'streaming',
              syncState: this.syncNames[m.group]?.includes(`"${s}"`) ? 'quorum' : 'async',
              lagBytes: 0,
            }))
          : [];
      members[name] = {
        ...base,
        sql: {
          ok: true,
          ms: 2,
          inRecovery: m.role === 'standby',
          timeline: 1,
          receiver,
          replication,
          syncNames: m.role === 'primary' ? (this.syncNames[m.group] ?? '') : '',
        },
      };
    }
    const etcdOk = this.services.etcd === 'running';
    return {
      at,
      etcd: etcdOk ? { ok: true } : { ok: false, error: 'etcd: no answer' },
      pgbouncer: this.services.pgbouncer === 'running' ? { ok: true } : { ok: false, error: 'connect ECONNREFUSED' },
      services: { ...this.services },
      ...(etcdOk ? { primaries: { ...this.primaries } } : {}),
      locks: {},
      durability: {},
      members,
    };
  }
}

/** Every activity the monitor and its children call, acting on the world; calls are recorded by the failover mocks. */
export function worldActivities(world: World, specInput: ClusterSpecInput, scenario: Scenario = {}) {
  const spec = parseSpec(specInput);
  const monitorCalls: Array<{ name: string; input: unknown }> = [];
  const groupOf = (m: string) => world.members[m]!.group;
  const f = mockActivities(
    {
      async readLivePrimaries() {
        return world.livePrimaries();
      },
      async probeMember({ member }) {
        return world.answers(member)
          ? [{ ok: true, detail: 'answers as primary' }]
          : [
              {
                ok: false,
                detail: `container ${world.members[member]!.container}`,
                conclusive: world.members[member]!.container !== 'running',
              },
            ];
      },
      async standbyPositions({ members }) {
        return members.map((m) => ({
          member: m,
          reachable: world.answers(m),
          inRecovery: world.members[m]!.role === 'standby',
          replayLsn: '0/1000000',
          receiveLsn: '0/1000000',
        }));
      },
      async fenceMember({ member }) {
        Object.assign(world.members[member]!, { container: 'exited', up: false, state: 'fenced' });
        return { wasRunning: true };
      },
      async promoteStandby({ member }) {
        if (world.promotionAnswerLost === member) {
          world.promotionAnswerLost = undefined;
          Object.assign(world.members[member]!, { role: 'primary', follows: undefined, up: false });
          world.syncNames[groupOf(member)] = '';
          throw ApplicationFailure.nonRetryable(`promoting ${member}: Connection terminated unexpectedly`, 'NotReady');
        }
        Object.assign(world.members[member]!, { role: 'primary', follows: undefined, state: 'primary' });
        world.syncNames[groupOf(member)] = '';
        return { promoted: true, inDoubt: [] };
      },
      async unfencePrimary({ member, others }) {
        // As the activity: refused while another member is, or may be, writable.
        const blockers = unfenceBlockers(
          others.map((o) => ({
            member: o,
            reachable: world.answers(o),
            inRecovery: world.members[o]!.role === 'standby',
            container: world.members[o]!.container,
            state: world.members[o]!.state,
          })),
        );
        if (blockers.length)
          throw ApplicationFailure.nonRetryable(
            `cannot unfence ${member}: ${blockers.map((b) => `${b.member} ${b.why}`).join('; ')}`,
            'Refused',
          );
        Object.assign(world.members[member]!, { container: 'running', up: true, state: 'primary' });
        return { started: true };
      },
      async recordPrimaryChange({ group, newPrimary }) {
        world.primaries[group] = newPrimary;
        return { recorded: true };
      },
      async rejoinMember({ member, primary }) {
        Object.assign(world.members[member]!, {
          container: 'running',
          up: true,
          role: 'standby',
          follows: primary,
          state: 'standby',
        });
        return { action: 'rewound' as const };
      },
      async configureDurability({ primary }) {
        const s = world.streamingTo(primary);
        world.syncNames[groupOf(primary)] = anyOneOf(s);
        return { synchronousStandbyNames: world.syncNames[groupOf(primary)]! };
      },
    },
    scenario,
  );

  const monitorActs: Pick<
    Activities,
    | 'monitorProbe'
    | 'readMaintenance'
    | 'recordMaintenance'
    | 'restartMember'
    | 'recreateMember'
    | 'setGroupDurability'
    | 'healService'
  > = {
    async monitorProbe(input: MonitorProbeInput): Promise<MonitorProbeResult> {
      monitorCalls.push({ name: 'monitorProbe', input: { context: input.context } });
      const ctx = Context.current();
      let history =
        (ctx.info.heartbeatDetails as { history?: typeof input.history } | undefined)?.history ??
        input.history ??
        emptyHistory();
      const until = Date.now() + (input.periodMs ?? 30_000);
      for (let rounds = 1; ; rounds++) {
        history = foldObservation(history, world.observe(Date.now()), spec.members);
        ctx.heartbeat({ history });
        const decision = decideCluster(history, input.context);
        const signature = decisionSignature(decision);
        const done = (ended: MonitorProbeResult['ended']) => ({
          history: { ...history, returnedAt: Date.now() }, // as the real probe stamps it
          decision,
          signature,
          rounds,
          ended,
        });
        if (decision.actions.length) return done('action');
        if (signature !== input.signature) return done('change');
        if (Date.now() >= until) return done('period');
        await ctx.sleep(input.context.thresholds.intervalMs);
      }
    },
    async readMaintenance() {
      monitorCalls.push({ name: 'readMaintenance', input: null });
      return world.maintenance;
    },
    async recordMaintenance({ maintenance }) {
      monitorCalls.push({ name: 'recordMaintenance', input: maintenance });
      world.maintenance = maintenance;
      return maintenance;
    },
    async restartMember({ member }) {
      monitorCalls.push({ name: 'restartMember', input: member });
      const m = world.members[member]!;
      const started = m.container !== 'running';
      Object.assign(m, { container: 'running', up: m.state !== 'fenced' });
      return { started, state: 'running' };
    },
    async recreateMember({ member }) {
      monitorCalls.push({ name: 'recreateMember', input: member });
      const m = world.members[member]!;
      const created = m.container === 'absent';
      Object.assign(m, { container: 'running', up: m.state !== 'fenced' });
      return { created, state: 'running' };
    },
    async healService({ service, coordinator }) {
      monitorCalls.push({ name: 'healService', input: { service, coordinator } });
      const was = world.services[service];
      world.services[service] = 'running';
      return {
        found: was === 'running' ? 'running' : was === 'absent' ? 'absent' : 'stopped',
        ...(service === 'pgbouncer' && was === 'absent' && coordinator
          ? { coordinator: { member: coordinator, from: 'monitor' as const } }
          : {}),
      };
    },
    async setGroupDurability({ group, primary, mode, reason }) {
      monitorCalls.push({ name: 'setGroupDurability', input: { group, mode } });
      const s = mode === 'synchronous' ? world.streamingTo(primary) : [];
      world.syncNames[group] = anyOneOf(s);
      return {
        primary,
        mode: s.length ? 'synchronous' : 'async',
        standbys: s,
        at: new Date().toISOString(),
        reason,
        recorded: true,
      };
    },
  };
  const activities = { ...(f.activities as MockedActivities), ...monitorActs };
  /** Failovers started (each acquires the group lock once, under its own workflow id). */
  const failoversStarted = (group: string) =>
    f.inputs('acquireGroupLock').filter((i) => i.group === group && i.owner.startsWith('failover-')).length;
  return { activities, failover: f, monitorCalls, failoversStarted };
}
