/** `--to` of `citusctl restore`: `latest`, a time (ISO 8601, starting with a date) or a restore point's name. Pure. */
import type { RestoreTarget } from './backup-records';

const LOOKS_LIKE_TIME = /^\d{4}-\d{2}-\d{2}([T ]|$)/;

export function parseRestoreTarget(to: string): RestoreTarget {
  if (to === 'latest') return { latest: true };
  if (LOOKS_LIKE_TIME.test(to)) return { time: to };
  return { point: to };
}
