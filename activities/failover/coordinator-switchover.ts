/**
 * Coordinator switchover with zero client errors: PgBouncer holds client transactions while the
 * coordinator changes. Every step acts on every PgBouncer process (pgbouncer.processes share the port).
 *
 *   PAUSE (transactions in flight finish, new ones wait) -> target replays all the old coordinator
 *   flushed -> fence the old -> promote the target -> re-point PgBouncer's [databases] entry
 *   (config + RELOAD) -> RESUME
 *
 * The pause is bounded as a whole (PAUSE_BUDGET_MS, not per statement): past it, or on any error,
 * PgBouncer is resumed (in a finally, through a fresh admin connection) and the attempt fails
 * retryably. A retry after a crash finds PgBouncer still paused (the pause outlives the connection
 * that asked for it), keeps it paused, finishes what is left (every step checks before it acts)
 * and resumes.
 */
import type { Client } from 'pg';
import type { ClusterSpec } from '../../common/spec';
import { PGBOUNCER_MEMBER, containerName } from '../../common/topology';
import type { ActivityDeps } from '../deps';
import { containerState, tarOf } from '../../lib/docker/docker-helpers';
import { classifyPgError, fatal, notReady } from '../../lib/errors';
import { fenceMember } from '../members/fence';
import { standbyPositions } from '../members/positions';
import { promoteStandby } from '../members/promote';
import { pollUntil as pollEvenIfCancelled } from '../../lib/poll';
import { pollUntil } from '../heartbeat';
import { pgbouncerFiles } from '../setup/pgbouncer';
import { bouncerDatabase, reload, resume, serverConnections, startPause } from '../../lib/postgres/pgbouncer-admin';
import { onEveryBouncer, withBouncerAdmins } from '../setup/pgbouncer-admin';
import type { SwitchoverInput, SwitchoverSectionResult } from './switchover-types';

/** Longest time client transactions may be held, from PAUSE to RESUME. */
export const PAUSE_BUDGET_MS = 10_000;

export class PauseBudgetExceeded extends Error {}

/** Settles like p, or rejects with PauseBudgetExceeded at the deadline (p itself runs on). */
export async function beforeDeadline<T>(p: Promise<T>, deadline: number, what: string): Promise<T> {
  p.catch(() => undefined); // a late rejection after the deadline is not unhandled
  const left = deadline - Date.now();
  if (left <= 0) throw new PauseBudgetExceeded(`pause budget spent before ${what}`);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>(
        (_, reject) =>
          (timer = setTimeout(() => reject(new PauseBudgetExceeded(`pause budget spent while ${what}`)), left)),
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export interface SwitchoverHelpers {
  waitReplayed(spec: ClusterSpec, oldPrimary: string, target: string, fenceReason: string | undefined): Promise<void>;
  runFenceReason(target: string): string | undefined;
}

/** Points PgBouncer's [databases] entry at host: config file, RELOAD on every process, then check what each runs. */
async function repoint(deps: ActivityDeps, admins: Client[], spec: ClusterSpec, host: string): Promise<void> {
  const s = await deps.secrets.ensure(spec.name);
  await deps.docker
    .getContainer(containerName(spec.name, PGBOUNCER_MEMBER))
    .putArchive(await tarOf(pgbouncerFiles(spec, host, s)), { path: '/' });
  await Promise.all(
    admins.map(async (admin, i) => {
      await reload(admin);
      const db = await bouncerDatabase(admin);
      if (db?.host !== host)
        throw notReady(`PgBouncer process ${i + 1} still points at ${db?.host ?? 'nothing'} after RELOAD, not ${host}`);
    }),
  );
}

/**
 * PAUSE on every process: one paused by an earlier attempt that crashed is not paused again
 * (its PAUSE may not have completed: wait until it holds no server connection).
 */
async function pauseAll(admins: Client[], paused: boolean[]): Promise<void> {
  await Promise.all(
    admins.map((admin, i) =>
      paused[i]
        ? pollUntil(async () => ((await serverConnections(admin)) === 0 ? true : undefined), PAUSE_BUDGET_MS, 20)
        : startPause(admin),
    ),
  );
}

/** Fence, promote (each a no-op when already done), unless the target already serves as primary. */
async function switchRoles(
  deps: ActivityDeps,
  h: SwitchoverHelpers,
  input: SwitchoverInput,
  step: <T>(what: string, fn: () => Promise<T>) => Promise<T>,
): Promise<boolean> {
  const { spec, oldPrimary, newPrimary } = input;
  const target = await step(
    `probe ${newPrimary}`,
    async () => (await standbyPositions(deps, { spec, members: [newPrimary] }))[0],
  );
  if (target?.reachable && !target.inRecovery) return false; // promoted by an earlier attempt
  const fenceReason = h.runFenceReason(newPrimary);
  await step(`catch-up of ${newPrimary}`, () => h.waitReplayed(spec, oldPrimary, newPrimary, fenceReason));
  await step(`fence ${oldPrimary}`, () => fenceMember(deps, { spec, member: oldPrimary, reason: fenceReason }));
  await step(`promote ${newPrimary}`, () =>
    promoteStandby(deps, { spec, member: newPrimary, reason: `promoted by a switchover from ${oldPrimary}` }),
  );
  return true;
}

/**
 * RESUME on every process through fresh admin connections: the pausing ones may still wait for
 * their PAUSE. Also when the switchover was cancelled: clients must not stay held.
 */
async function resumeBouncer(deps: ActivityDeps, spec: ClusterSpec): Promise<void> {
  try {
    await pollEvenIfCancelled(() => onEveryBouncer(deps, spec, (c) => resume(c)), 5_000, 100);
  } catch (err) {
    throw notReady(`PgBouncer could not be resumed (a retry resumes it): ${(err as Error).message}`);
  }
}

export async function coordinatorSwitchover(
  deps: ActivityDeps,
  h: SwitchoverHelpers,
  input: SwitchoverInput,
): Promise<SwitchoverSectionResult> {
  const { spec, oldPrimary, newPrimary } = input;
  if ((await containerState(deps.docker, containerName(spec.name, PGBOUNCER_MEMBER))) !== 'running') {
    // No PgBouncer to hold clients: switch without a pause; the workflow's next step starts it re-pointed.
    const t0 = Date.now();
    const promoted = await switchRoles(deps, h, input, (_what, fn) => fn());
    return { pauseMs: Date.now() - t0, promoted, metadataUpdated: false };
  }
  try {
    return await withBouncerAdmins(deps, spec, async (admins) => {
      const dbs = await Promise.all(admins.map((a) => bouncerDatabase(a)));
      if (dbs.some((db) => !db))
        throw fatal('Invariant', 'a PgBouncer process has no [databases] entry for the cluster database');
      const paused = dbs.map((db) => db!.paused);
      const t0 = Date.now();
      const deadline = t0 + PAUSE_BUDGET_MS;
      const timings: string[] = [];
      const step = async <T>(what: string, fn: () => Promise<T>) => {
        const s0 = Date.now();
        const r = await beforeDeadline(fn(), deadline, what);
        timings.push(`${what.split(' (')[0]} ${Date.now() - s0} ms`);
        return r;
      };
      let result: Omit<SwitchoverSectionResult, 'pauseMs'>;
      try {
        await step(
          paused.some(Boolean) ? 'PAUSE (in part of an earlier attempt)' : 'PAUSE (transactions in flight finish)',
          () => pauseAll(admins, paused),
        );
        const promoted = await switchRoles(deps, h, input, step);
        await step(`re-point PgBouncer at ${newPrimary}`, () => repoint(deps, admins, spec, newPrimary));
        result = { promoted, metadataUpdated: true };
      } finally {
        await resumeBouncer(deps, spec);
      }
      const pauseMs = Date.now() - t0;
      deps.log(
        `coordinator switchover ${oldPrimary} -> ${newPrimary}: clients held ${pauseMs} ms (${timings.join(', ')})`,
      );
      return { pauseMs, ...result };
    });
  } catch (err) {
    if (err instanceof PauseBudgetExceeded) {
      throw notReady(
        `coordinator switchover ${oldPrimary} -> ${newPrimary}: ${err.message} (budget ${PAUSE_BUDGET_MS} ms); ` +
          'PgBouncer resumed',
      );
    }
    if ((err as { type?: string }).type) throw err;
    throw classifyPgError(err, `coordinator switchover ${oldPrimary} -> ${newPrimary} (PgBouncer admin console)`);
  }
}
