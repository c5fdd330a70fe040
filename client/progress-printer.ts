/** Human output: one line per step as its state changes, with the time it took. */
import type { Progress, StepProgress } from '../common/progress';

const ICON: Record<StepProgress['state'], string> = {
  pending: ' ',
  running: '…',
  done: '✔',
  skipped: '-',
  failed: '✘',
};

export function formatStep(s: StepProgress): string {
  const secs = s.startedAt && s.endedAt ? `${((s.endedAt - s.startedAt) / 1000).toFixed(1)}s` : '';
  return `${ICON[s.state]} ${s.name.padEnd(18)} ${s.state.padEnd(8)} ${secs.padStart(7)}  ${s.detail ?? ''}`.trimEnd();
}

export class ProgressPrinter {
  private readonly seen = new Map<string, string>();

  constructor(private readonly write: (line: string) => void) {}

  update(p: Progress): void {
    for (const s of p.steps) {
      const key = `${s.state}:${s.detail ?? ''}`;
      if (s.state === 'pending' || this.seen.get(s.name) === key) continue;
      this.seen.set(s.name, key);
      this.write(formatStep(s));
    }
  }
}
