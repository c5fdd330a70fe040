/** Step-by-step progress a workflow exposes through its `progress` query. Pure; safe in workflows. */
import { InvariantError } from './workflow-failure';

export type StepState = 'pending' | 'running' | 'done' | 'skipped' | 'failed';

export interface StepProgress {
  name: string;
  state: StepState;
  startedAt?: number;
  endedAt?: number;
  detail?: string;
}

export interface Progress {
  workflow: string;
  steps: StepProgress[];
}

/** Tracks steps in a fixed order; the workflow owns one and its query returns snapshot(). */
export class ProgressTracker {
  private readonly steps: StepProgress[];

  constructor(
    private readonly workflow: string,
    names: readonly string[],
    private readonly now: () => number,
  ) {
    this.steps = names.map((name) => ({ name, state: 'pending' }));
  }

  private step(name: string): StepProgress {
    const s = this.steps.find((x) => x.name === name);
    if (!s) throw new InvariantError(`unknown step ${name}`);
    return s;
  }

  start(name: string): void {
    Object.assign(this.step(name), { state: 'running', startedAt: this.now(), endedAt: undefined, detail: undefined });
  }

  finish(name: string, detail?: string): void {
    Object.assign(this.step(name), { state: 'done', endedAt: this.now(), detail });
  }

  /** A running step's news (a long step's progress: moves done, the move in flight). */
  note(name: string, detail: string): void {
    this.step(name).detail = detail;
  }

  skip(name: string, detail: string): void {
    Object.assign(this.step(name), { state: 'skipped', endedAt: this.now(), detail });
  }

  fail(name: string, detail: string): void {
    Object.assign(this.step(name), { state: 'failed', endedAt: this.now(), detail });
  }

  /** Runs fn as the named step, recording its state and outcome. */
  async run<T>(name: string, fn: () => Promise<T>, describe?: (result: T) => string | undefined): Promise<T> {
    this.start(name);
    try {
      const result = await fn();
      this.finish(name, describe?.(result));
      return result;
    } catch (err) {
      this.fail(
        name,
        err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err),
      );
      throw err;
    }
  }

  snapshot(): Progress {
    return { workflow: this.workflow, steps: this.steps.map((s) => ({ ...s })) };
  }
}
