/**
 * Coordinator switchover with zero client errors: PgBouncer holds client transactions while the
 * coordinator changes.
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
import { withBouncerAdmin } from '../setup/pgbouncer-admin';
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

/** Points PgBouncer's [databases] entry at host: config file, RELOAD, then check what it runs. */
async function repoint(deps: ActivityDeps, admin: Client, spec: ClusterSpec, host: string): Promise<void> {
  const s = await deps.secrets.ensure(spec.name);
  await deps.docker
    .getContainer(containerName(spec.name, PGBOUNCER_MEMBER))
    .putArchive(await tarOf(pgbouncerFiles(spec, host, s)), { path: '/' });
  await reload(admin);
  const db = await bouncerDatabase(admin);
  if (db?.host !== host) throw notReady(`PgBouncer still points at ${db?.host ?? 'nothing'} after RELOAD, not ${host}`);
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
 * RESUME through a fresh admin connection: the pausing one may still wait for its PAUSE. Also when
 * the switchover was cancelled: clients must not stay held.
 */
async function resumeBouncer(deps: ActivityDeps, spec: ClusterSpec): Promise<void> {
  try {
    await pollEvenIfCancelled(() => withBouncerAdmin(deps, spec, (c) => resume(c)), 5_000, 100);
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
    return await withBouncerAdmin(deps, spec, async (admin) => {
      const db = await bouncerDatabase(admin);
      if (!db) throw fatal('Invariant', 'PgBouncer has no [databases] entry for the cluster database');
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
        if (!db.paused) await step('PAUSE (transactions in flight finish)', () => startPause(admin));
        // Paused by an earlier attempt that crashed: its PAUSE may not have completed.
        else
          await step('PAUSE (of an earlier attempt)', () =>
            pollUntil(async () => ((await serverConnections(admin)) === 0 ? true : undefined), PAUSE_BUDGET_MS, 20),
          );
        const promoted = await switchRoles(deps, h, input, step);
        await step(`re-point PgBouncer at ${newPrimary}`, () => repoint(deps, admin, spec, newPrimary));
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
