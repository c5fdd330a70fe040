/**
 * The worker process's side of the supervisor's standby (worker/supervisor.ts): a process started
 * as the standby loads everything (modules, connection, workflow bundle) and then waits here, not
 * polling, until the supervisor tells it to take over; the polling one tells the supervisor when it
 * polls. A worker started any other way (`citusctl worker`, compose) polls at once.
 * The messages travel over the IPC channel the supervisor opens (stdio 'ipc').
 */

export const WORKER_ROLE_ENV = 'CITUSCTL_WORKER_ROLE';
export const TAKE_OVER = 'take-over';
export const POLLING = 'polling';

const fromSupervisor = () => typeof process.send === 'function';

/**
 * Resolves once this process may poll: at once, unless the supervisor started it as the standby.
 * Call it first thing (the supervisor may say "take over" while this process is still loading) and
 * await it right before polling. A standby whose supervisor is gone exits: nobody would wake it.
 */
export function waitForTurn(log: (line: string) => void): Promise<void> {
  if (process.env[WORKER_ROLE_ENV] !== 'standby' || !fromSupervisor()) {
    process.channel?.unref(); // the channel must not keep a finished worker alive
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const leave = (why: string) => () => {
      log(`standby: ${why}; leaving`);
      process.exit(0);
    };
    // The SDK's runtime catches these to drain running workers; a standby runs none, so it just goes.
    const onSignal = leave('stopped');
    const onDisconnect = leave('the supervisor is gone');
    const onMessage = (m: unknown) => {
      if (m !== TAKE_OVER) return;
      process.off('message', onMessage);
      process.off('disconnect', onDisconnect);
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      process.channel?.unref();
      log('standby: taking over');
      resolve();
    };
    process.on('message', onMessage);
    process.on('disconnect', onDisconnect);
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/**
 * Waits for the turn; a standby meanwhile runs warm() at once and every everyMs (its clients stay
 * connected and authenticated, so the first steps after a takeover do not pay for that).
 */
export async function whileStandby(turn: Promise<void>, warm: () => Promise<void>, everyMs = 60_000): Promise<void> {
  if (process.env[WORKER_ROLE_ENV] !== 'standby' || !fromSupervisor()) return turn;
  let taken = false;
  void turn.then(() => (taken = true));
  const keepWarm = async () => {
    while (!taken) {
      await warm().catch(() => undefined);
      await Promise.race([turn, new Promise((r) => setTimeout(r, everyMs).unref())]);
    }
  };
  void keepWarm();
  return turn;
}

/** Tells the supervisor that this process polls now (it then starts a standby). */
export function tellSupervisorPolling(): void {
  if (fromSupervisor() && process.connected) process.send!(POLLING, undefined, {}, () => undefined);
}
