/**
 * monitorCluster (id `monitor-<cluster>`): watches the cluster without end and repairs what the
 * pure decisions (common/monitor-decisions.ts) say: a failed primary gets a failover, a dead
 * standby a `docker start`, a standby that does not stream (or a member fenced by a failover) a
 * rejoin, and a group whose last standby is gone asynchronous commit until one streams again.
 *
 * The monitor never fences or promotes by itself: it starts `failoverGroup` (id
 * `failover-<cluster>-<group>`) and `rejoinMemberWorkflow` (id `rejoin-<cluster>-<member>`) as
 * child workflows. Children rather than an activity with a Temporal client: the start is recorded
 * in this history together with the decision (a replay never starts it twice), the one id per
 * group keeps it single against an operator's `citusctl failover` too (the start then fails with
 * "already started" and the monitor waits), the result comes back to the monitor (status, backoff),
 * and activities need no Temporal client. ParentClosePolicy ABANDON and cancellation type ABANDON:
 * a failover half done must finish whatever happens to the monitor (continue-as-new, `down`
 * cancelling it, termination). Continue-as-new waits until no child runs, so every result is seen.
 *
 * Updates `pause` / `resume` (whole cluster, or one group) put it in maintenance: no automatic
 * action (synchronous commit is still kept from blocking); the state is kept in the workflow,
 * carried across continue-as-new, and recorded in etcd (maintenanceKey, common/etcd-keys.ts), from
 * where a new monitor starts. Query `status`.
 *
 * It never replays on another build's code: it runs on its build's own task queue
 * (common/task-queues.ts) and starts its children on the shared queue. When a worker of another
 * build takes over, the `handOff` Update makes it continue as new on that build's queue at once
 * (children keep running); a worker that finds no live worker of the old build instead terminates
 * the run and starts a new one (lib/monitor-handoff.ts).
 */
import {
  ChildWorkflowCancellationType,
  CancellationScope,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineUpdate,
  getExternalWorkflowHandle,
  isCancellation,
  makeContinueAsNewFunc,
  patched,
  setHandler,
  sleep,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { ActionRecord, MaintenanceInput, MaintenanceRecord, MonitorStatus } from '../common/monitor-status';
import {
  DEFAULT_THRESHOLDS,
  HOST_LOSS_DETECTION,
  HOST_LOSS_WITHOUT_ETCD,
  TWO_PROBE_DOWN_DETECTION,
  actionKey,
  backoffMs,
  decideCluster,
  type DecisionContext,
  type MonitorAction,
  type MonitorThresholds,
} from '../common/monitor-decisions';
import { hostLossHint } from '../common/host-loss';
import { onItsHosts } from '../common/monitor-hosts';
import { emptyHistory, type ProbeHistory } from '../common/monitor-observation';
import type { ClusterSpec, ClusterSpecInput } from '../common/spec';
import { checkedInput } from './checked-input';
import { specFor } from './cluster-input';
import { WORKFLOW_TASK_TIMEOUT } from '../common/takeover';
import { COORDINATOR_GROUP } from '../common/topology';
import { failoverWorkflowId, rejoinWorkflowId } from '../common/workflow-ids';
import { monitorQuick as quick, probeActs, validation } from './activity-proxies';
import { monitorQuickFor } from './host-routing';
import { childSearchAttributes, tagWorkflow } from './tag-workflow';
import { failoverGroup, type FailoverGroupResult } from './failover-group';
import { rejoinMemberWorkflow } from './rejoin-member';
import { handOffUpdate, reloadSpecSignal } from './monitor-signals';
import { buildOfMonitorQueue, sharedQueueOf } from '../common/task-queues';
import { errorMessage } from '../common/error-message';

export interface MonitorTuning {
  thresholds?: Partial<MonitorThresholds>;
  /** How long one probe activity watches before it returns when nothing happens (default 30 s). */
  periodMs?: number;
  /** Probe activities per run before continue-as-new (default 200). */
  maxIterations?: number;
}

/** What one run hands the next across continue-as-new. */
export interface MonitorCarry {
  runs: number;
  maintenance: MaintenanceRecord;
  history: ProbeHistory;
  signature?: string;
  notBefore: Record<string, number>;
  failures: Record<string, number>;
  lastActions: ActionRecord[];
  /** The queue of the run that wrote it: a carry from another build's run is read in part only. */
  taskQueue?: string;
}

export interface MonitorInput {
  /**
   * Given by `up`; from the UI `{"cluster": "demo"}` suffices (the
   * stored spec is read, then the monitor continues as new with it).
   */
  spec?: ClusterSpecInput;
  cluster?: string;
  tuning?: MonitorTuning;
  carry?: MonitorCarry;
}

/** The status types live in common (the readers outside the workflow share them); re-exported with the query. */
export type { ActionRecord, MaintenanceInput, MaintenanceRecord, MonitorStatus } from '../common/monitor-status';

export const monitorStatusQuery = defineQuery<MonitorStatus>('status');
export const pauseUpdate = defineUpdate<MaintenanceRecord, [MaintenanceInput]>('pause');
export const resumeUpdate = defineUpdate<MaintenanceRecord, [MaintenanceInput]>('resume');

export { monitorWorkflowId } from '../common/workflow-ids';

/** CitusCluster/CitusGroup on a child when this monitor carries them (then the namespace knows them). */
const childTags = (cluster: string, group: string | undefined) => {
  const typedSearchAttributes = childSearchAttributes(cluster, group);
  return typedSearchAttributes ? { typedSearchAttributes } : {};
};

const MAX_RECORDS = 20;

/** Patch: a failover of a primary whose host is lost is told so (common/host-loss.ts). */
const HOST_LOSS_HINT = 'monitor-host-loss-hint';
/** Patch: the hint measures the loss up to the probe's return (hostLossHint's `toReturn`). */
const HOST_LOSS_TO_RETURN = 'monitor-host-loss-to-return';

/** Patch: several hosts: a restart runs on the member's host queue, the decision filtered as the probe's. */
const RESTART_ON_HOSTS = 'monitor-restart-on-hosts';

/** Patch: a primary whose host is lost has failed on the first round its peers confirm it (HOST_LOSS_DETECTION). */
const HOST_LOSS_VERDICT = 'monitor-host-loss-verdict';
/** Patch: that failover starts in a round etcd did not answer, when it answered lately (HOST_LOSS_WITHOUT_ETCD). */
const HOST_LOSS_WITHOUT_ETCD_PATCH = 'monitor-host-loss-without-etcd';

export async function monitorCluster(input: MonitorInput): Promise<void> {
  checkedInput('monitorCluster', input); // the whole input, before anything reads it
  if (!input.spec)
    return continueAsNew<typeof monitorCluster>({
      ...input,
      spec: await specFor({ cluster: input.cluster }, 'stored', 'supported'),
    });
  const root = CancellationScope.current();
  const groupNames = [COORDINATOR_GROUP, ...(input.spec.workers ?? [])];
  const ownQueue = workflowInfo().taskQueue;
  const { carry, maintenanceCarried } = carriedOver(input.carry, ownQueue);
  const status: MonitorStatus = {
    cluster: input.spec.name,
    state: 'starting',
    policy: input.spec.failover ?? 'auto',
    allowAsyncFailover: input.spec.allowAsyncFailover ?? false,
    maintenance: carry.maintenance,
    runs: carry.runs + 1,
    iterations: 0,
    groups: {},
    inFlight: { failovers: {}, rejoins: {} },
    lastActions: carry.lastActions,
  };
  const failovers = status.inFlight.failovers; // group -> workflow id
  const rejoins = status.inFlight.rejoins; // member -> workflow id
  let probeScope: CancellationScope | undefined;
  /** The world or the rules changed: end the running probe (it was told the old rules) and decide again. */
  const wake = () => probeScope?.cancel();
  const record = (r: Omit<ActionRecord, 'at'>) => {
    status.lastActions = [...status.lastActions, { at: Date.now(), ...r }].slice(-MAX_RECORDS);
  };
  const settle = (key: string, ok: boolean, okPauseMs: number) => {
    carry.failures[key] = ok ? 0 : (carry.failures[key] ?? 0) + 1;
    carry.notBefore[key] = Date.now() + (ok ? okPauseMs : backoffMs(carry.failures[key]!));
  };

  setHandler(monitorStatusQuery, () => status);
  let reloadSpec = false;
  setHandler(reloadSpecSignal, () => {
    reloadSpec = true;
    wake();
  });
  let moveTo: string | undefined;
  setHandler(
    handOffUpdate,
    (h) => {
      moveTo = h.taskQueue;
      wake();
      return { from: ownQueue, to: h.taskQueue };
    },
    {
      validator: (h) => {
        if (buildOfMonitorQueue(h?.taskQueue ?? '') === undefined)
          throw new Error(`not a monitor task queue: ${JSON.stringify(h?.taskQueue)}`);
        if (h.taskQueue === ownQueue) throw new Error(`the monitor already runs on ${ownQueue}`);
      },
    },
  );
  const validated: { spec?: ClusterSpec } = {};
  const changeMaintenance = async (next: MaintenanceRecord): Promise<MaintenanceRecord> => {
    status.maintenance = next; // in force at once; etcd is the record status and a new monitor read
    wake();
    if (validated.spec)
      await quick
        .recordMaintenance({ spec: validated.spec, maintenance: next })
        .catch((err: unknown) => (status.lastError = `maintenance not recorded in etcd: ${errorMessage(err)}`));
    return next;
  };
  const validateGroup = (m?: MaintenanceInput) => {
    if (m?.group !== undefined && !groupNames.includes(m.group))
      throw new Error(`unknown group ${m.group} (groups: ${groupNames.join(', ')})`);
  };
  setHandler(
    pauseUpdate,
    (m) => {
      const cur = status.maintenance;
      const groups = m?.group ? [...new Set([...cur.groups, m.group])].sort() : cur.groups;
      return changeMaintenance({
        cluster: cur.cluster || !m?.group,
        groups,
        at: new Date(Date.now()).toISOString(),
        ...(m?.by ? { by: m.by } : {}),
        ...(m?.reason ? { reason: m.reason } : {}),
      });
    },
    { validator: validateGroup },
  );
  setHandler(
    resumeUpdate,
    (m) =>
      changeMaintenance({
        cluster: false,
        groups: m?.group ? status.maintenance.groups.filter((g) => g !== m.group) : [],
        at: new Date(Date.now()).toISOString(),
        ...(m?.by ? { by: m.by } : {}),
      }),
    {
      validator: (m) => {
        validateGroup(m);
        if (m?.group && status.maintenance.cluster)
          throw new Error(`the whole cluster is paused: resume it without --group`);
      },
    },
  );

  // A spec given at start must be the stored one; a carried spec is this monitor's own.
  const s = input.carry
    ? await validation.validateSpec(input.spec)
    : await specFor({ spec: input.spec }, 'stored', 'supported');
  validated.spec = s;
  await tagWorkflow(s.name); // the next runs inherit it through continue-as-new
  if (!maintenanceCarried) {
    const stored = await quick.readMaintenance({ spec: s }).catch(() => null);
    if (stored && status.maintenance.at === '') status.maintenance = stored;
  }
  // A run recorded before detection on the first Docker-confirmed probe replays with two probes.
  const detection = patched('down-on-first-probe') ? {} : TWO_PROBE_DOWN_DETECTION;
  // Runs recorded before the lost-host verdict (common/host-loss.ts) replay without it.
  const hostLoss = patched(HOST_LOSS_VERDICT) ? HOST_LOSS_DETECTION : {};
  const withoutEtcd = patched(HOST_LOSS_WITHOUT_ETCD_PATCH) ? HOST_LOSS_WITHOUT_ETCD : {};
  const thresholds = {
    ...DEFAULT_THRESHOLDS,
    ...detection,
    ...hostLoss,
    ...withoutEtcd,
    ...input.tuning?.thresholds,
  };
  const restartOnHosts = patched(RESTART_ON_HOSTS);
  const maxIterations = input.tuning?.maxIterations ?? 200;
  const groups = Object.fromEntries(
    groupNames.map((g) => [g, s.members.filter((m) => m.group === g).map((m) => m.name)]),
  );
  const context = (): DecisionContext => ({
    policy: {
      failover: s.failover,
      allowAsyncFailover: s.allowAsyncFailover,
      requireFailoverApproval: s.requireFailoverApproval,
      durability: s.durability,
      groups,
    },
    maintenance: { cluster: status.maintenance.cluster, groups: status.maintenance.groups },
    failoversInFlight: Object.keys(failovers),
    rejoinsInFlight: Object.keys(rejoins),
    ownWorkflowIds: [...Object.values(failovers), ...Object.values(rejoins)],
    notBefore: carry.notBefore,
    thresholds,
    ...(restartOnHosts ? { restartOnHosts } : {}),
  });
  // On the shared queue: a failover or rejoin in flight goes on whichever build's worker is there. A
  // short workflow task timeout: its task in flight on a worker that died is retried in seconds (common/takeover.ts).
  const childOptions = {
    taskQueue: sharedQueueOf(ownQueue),
    parentClosePolicy: ParentClosePolicy.ABANDON,
    cancellationType: ChildWorkflowCancellationType.ABANDON,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    workflowTaskTimeout: WORKFLOW_TASK_TIMEOUT,
  };
  const alreadyRunning = (key: string, id: string) => {
    // Started by someone else (an operator's CLI): its lock keeps the group safe; look again later.
    carry.notBefore[key] = Date.now() + 30_000;
    record({
      kind: key.split(':')[0] as MonitorAction['kind'],
      target: id,
      outcome: 'skipped',
      detail: `${id} is already running (not started by this monitor)`,
    });
  };

  async function apply(a: MonitorAction): Promise<void> {
    const key = actionKey(a);
    switch (a.kind) {
      case 'failover': {
        const id = failoverWorkflowId(s.name, a.group);
        // Several hosts: the evidence that the primary's host is lost goes with it (runs recorded before: none).
        const hint = hostLossHint(s, history, a.group, !!history.returnedAt && patched(HOST_LOSS_TO_RETURN));
        const hostLoss = hint && patched(HOST_LOSS_HINT) ? hint : undefined;
        try {
          const child = await startChild(failoverGroup, {
            ...childOptions,
            ...childTags(s.name, a.group),
            workflowId: id,
            args: [
              {
                spec: s,
                group: a.group,
                requireApproval: a.requireApproval,
                ...(a.candidates ? { candidates: a.candidates } : {}),
                ...(hostLoss ? { hostLoss } : {}),
              },
            ],
          });
          failovers[a.group] = id;
          record({
            kind: 'failover',
            target: a.group,
            outcome: 'started',
            detail:
              `${id}${a.requireApproval ? ' (waits for approval)' : ''}: ${a.reason}` +
              (hostLoss ? `; host ${hostLoss.host} lost for ${hostLoss.lostForMs} ms` : ''),
          });
          void child
            .result()
            .then(
              (r: FailoverGroupResult) => {
                settle(key, r.outcome === 'failed-over', 5_000);
                record({
                  kind: 'failover',
                  target: a.group,
                  outcome: r.outcome === 'failed-over' ? 'done' : 'failed',
                  detail: `${r.outcome}: ${r.detail}`,
                });
              },
              (err: unknown) => {
                settle(key, false, 0);
                record({ kind: 'failover', target: a.group, outcome: 'failed', detail: errorMessage(err) });
              },
            )
            .finally(() => {
              delete failovers[a.group];
              wake();
            });
        } catch (err) {
          if (err instanceof WorkflowExecutionAlreadyStartedError) alreadyRunning(key, id);
          else throw err;
        }
        return;
      }
      case 'rejoin': {
        const id = rejoinWorkflowId(s.name, a.member);
        try {
          const child = await startChild(rejoinMemberWorkflow, {
            ...childOptions,
            ...childTags(s.name, s.members.find((m) => m.name === a.member)?.group),
            workflowId: id,
            args: [{ spec: s, member: a.member }],
          });
          rejoins[a.member] = id;
          record({ kind: 'rejoin', target: a.member, outcome: 'started', detail: `${id}: ${a.reason}` });
          void child
            .result()
            .then(
              (r) => {
                settle(key, true, thresholds.standbyGraceMs);
                record({ kind: 'rejoin', target: a.member, outcome: 'done', detail: `streams from ${r.primary}` });
              },
              (err: unknown) => {
                settle(key, false, 0);
                record({ kind: 'rejoin', target: a.member, outcome: 'failed', detail: errorMessage(err) });
              },
            )
            .finally(() => {
              delete rejoins[a.member];
              wake();
            });
        } catch (err) {
          if (err instanceof WorkflowExecutionAlreadyStartedError) alreadyRunning(key, id);
          else throw err;
        }
        return;
      }
      case 'cancel-rejoin': {
        const id = rejoins[a.member];
        if (!id) return;
        await getExternalWorkflowHandle(id)
          .cancel()
          .catch(() => undefined);
        record({ kind: 'cancel-rejoin', target: a.member, outcome: 'done', detail: a.reason });
        return;
      }
      case 'restart': {
        try {
          const r = await (restartOnHosts ? monitorQuickFor(s, a.member) : quick).restartMember({
            spec: s,
            member: a.member,
          });
          settle(key, true, thresholds.standbyGraceMs * 2);
          record({
            kind: 'restart',
            target: a.member,
            outcome: 'done',
            detail: `${r.started ? 'docker start' : `already ${r.state}`}: ${a.reason}`,
          });
        } catch (err) {
          settle(key, false, 0);
          record({ kind: 'restart', target: a.member, outcome: 'failed', detail: errorMessage(err) });
        }
        return;
      }
      case 'recreate': {
        try {
          const r = await quick.recreateMember({ spec: s, member: a.member });
          settle(key, true, thresholds.standbyGraceMs * 2);
          record({
            kind: 'recreate',
            target: a.member,
            outcome: 'done',
            detail: `${r.created ? 'container created' : `already ${r.state}`}: ${a.reason}`,
          });
        } catch (err) {
          settle(key, false, 0);
          record({ kind: 'recreate', target: a.member, outcome: 'failed', detail: errorMessage(err) });
        }
        return;
      }
      case 'start-service':
      case 'recreate-service': {
        try {
          const r = await quick.healService({
            spec: s,
            service: a.member,
            ...(a.coordinator ? { coordinator: a.coordinator } : {}),
          });
          settle(key, true, 5_000);
          const how =
            r.found === 'running' ? 'already running' : r.found === 'absent' ? 'container created' : 'docker start';
          const routed = r.coordinator ? ` (PgBouncer -> ${r.coordinator.member}, from ${r.coordinator.from})` : '';
          record({ kind: a.kind, target: a.member, outcome: 'done', detail: `${how}${routed}: ${a.reason}` });
        } catch (err) {
          settle(key, false, 0);
          record({ kind: a.kind, target: a.member, outcome: 'failed', detail: errorMessage(err) });
        }
        return;
      }
      case 'durability': {
        try {
          const r = await quick.setGroupDurability({
            spec: s,
            group: a.group,
            primary: a.primary,
            mode: a.mode,
            reason: a.reason,
          });
          settle(key, true, 2_000);
          const standbys = r.standbys.length ? ` (${r.standbys.join(', ')})` : '';
          record({
            kind: 'durability',
            target: a.group,
            outcome: 'done',
            detail: `${r.mode}${standbys}${r.recorded ? '' : ', not recorded in etcd'}: ${a.reason}`,
          });
        } catch (err) {
          settle(key, false, 0);
          record({ kind: 'durability', target: a.group, outcome: 'failed', detail: errorMessage(err) });
        }
        return;
      }
    }
  }

  let history = carry.history;
  let signature = carry.signature;
  for (let i = 0; ; i++) {
    const idle = !Object.keys(failovers).length && !Object.keys(rejoins).length;
    if (moveTo || (idle && (reloadSpec || i >= maxIterations || workflowInfo().continueAsNewSuggested))) break;
    status.state = 'watching';
    status.iterations = i;
    probeScope = new CancellationScope();
    try {
      const scope = probeScope;
      const r = await scope.run(() =>
        probeActs.monitorProbe({
          spec: s,
          history,
          context: context(),
          periodMs: input.tuning?.periodMs ?? 30_000,
          signature,
        }),
      );
      history = r.history;
      signature = r.signature;
    } catch (err) {
      if (root.consideredCancelled) throw err;
      if (!isCancellation(err)) {
        status.lastError = `probe: ${errorMessage(err)}`;
        await sleep('5s');
      }
      continue;
    } finally {
      probeScope = undefined;
    }
    const decided = decideCluster(history, context());
    const decision = restartOnHosts ? onItsHosts(s, decided, true) : decided;
    status.groups = decision.groups;
    status.services = decision.services;
    status.lastProbeAt = history.last ? new Date(history.last.at).toISOString() : undefined;
    status.etcdOk = history.last?.etcd.ok;
    status.pgbouncerOk = history.last?.pgbouncer.ok;
    if (decision.actions.length) {
      status.state = 'acting';
      for (const a of decision.actions) await apply(a);
    }
  }

  status.state = 'continuing-as-new';
  await condition(allHandlersFinished);
  const next: MonitorInput = {
    // The stored spec is read again when it changed (a group added or drained); unreadable, the old one stays.
    spec: reloadSpec ? await specFor({ cluster: s.name }, 'stored', 'supported').catch(() => input.spec) : input.spec,
    tuning: input.tuning,
    carry: {
      runs: status.runs,
      maintenance: status.maintenance,
      history,
      signature,
      notBefore: carry.notBefore,
      failures: carry.failures,
      lastActions: status.lastActions,
      taskQueue: ownQueue,
    },
  };
  // Handed off: the next run is the new build's, and its children in flight go on without it.
  if (moveTo) await makeContinueAsNewFunc<typeof monitorCluster>({ taskQueue: moveTo })(next);
  await continueAsNew<typeof monitorCluster>(next);
}

/**
 * The carry of the previous run, whole when that run was this build's (same queue). From another
 * build (a hand-off) only what every build reads alike is kept: maintenance (the etcd record's
 * shape), the action log and the run count; the probe history and backoffs are a build's own format
 * and start afresh, as in a new monitor (which needs fresh evidence before it acts).
 */
function carriedOver(
  carry: MonitorCarry | undefined,
  ownQueue: string,
): { carry: MonitorCarry; maintenanceCarried: boolean } {
  const fresh: MonitorCarry = {
    runs: 0,
    maintenance: { cluster: false, groups: [], at: '' },
    history: emptyHistory(),
    notBefore: {},
    failures: {},
    lastActions: [],
  };
  if (!carry) return { carry: fresh, maintenanceCarried: false };
  if (carry.taskQueue === ownQueue) return { carry, maintenanceCarried: true };
  const m = carry.maintenance as Partial<MaintenanceRecord> | undefined;
  const maintenanceCarried = typeof m?.cluster === 'boolean' && Array.isArray(m.groups) && typeof m.at === 'string';
  return {
    carry: {
      ...fresh,
      runs: typeof carry.runs === 'number' ? carry.runs : 0,
      ...(maintenanceCarried ? { maintenance: carry.maintenance } : {}),
      lastActions: Array.isArray(carry.lastActions) ? carry.lastActions : [],
    },
    maintenanceCarried,
  };
}
