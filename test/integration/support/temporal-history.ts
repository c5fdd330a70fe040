/** A workflow's event history through the temporal CLI, with every payload decoded to text. */
import { spawnSync } from 'node:child_process';
import { temporalCli } from './cluster';

/** Raw JSON of `temporal workflow show ... --output json` plus the base64 payloads decoded. */
export function workflowHistoryText(opts: { workflowId: string; runId?: string; port: number }): {
  raw: string;
  decoded: string;
} {
  const args = [
    'workflow',
    'show',
    '--workflow-id',
    opts.workflowId,
    '--address',
    `127.0.0.1:${opts.port}`,
    '--output',
    'json',
  ];
  if (opts.runId) args.push('--run-id', opts.runId);
  const r = spawnSync(temporalCli(), args, { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`temporal workflow show failed (exit ${r.status}): ${r.stderr}`);
  const decoded: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        // Payloads (and their metadata values) are base64 in the JSON output.
        if (
          typeof x === 'string' &&
          (k === 'data' || (k !== 'eventId' && /^[A-Za-z0-9+/]+={0,2}$/.test(x) && x.length >= 4))
        ) {
          decoded.push(Buffer.from(x, 'base64').toString('utf8'));
        }
        walk(x);
      }
    }
  };
  walk(JSON.parse(r.stdout));
  return { raw: r.stdout, decoded: decoded.join('\n') };
}

interface HistoryEvent {
  eventId: string;
  eventTime: string;
  eventType: string;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string }; taskQueue?: { name?: string } };
  activityTaskStartedEventAttributes?: { scheduledEventId?: string };
  activityTaskCompletedEventAttributes?: { scheduledEventId?: string };
  activityTaskFailedEventAttributes?: { scheduledEventId?: string };
  activityTaskTimedOutEventAttributes?: { scheduledEventId?: string };
}

/**
 * Each activity of a workflow's run as "name[queue] +scheduled..+started..+closed outcome" (ms from
 * the run's start): where a slow step's time went (a diagnosis printed by tests, never asserted).
 */
export function activityTimeline(opts: { workflowId: string; runId?: string; port: number }): string[] {
  const events = (JSON.parse(workflowHistoryText(opts).raw) as { events: HistoryEvent[] }).events;
  const t0 = Date.parse(events[0]?.eventTime ?? '');
  const at = (e: HistoryEvent) => Date.parse(e.eventTime) - t0;
  const kind = (e: HistoryEvent) =>
    e.eventType
      .replace(/^EVENT_TYPE_/, '')
      .replace(/_/g, '')
      .toLowerCase();
  const rows = new Map<string, { name: string; scheduled: number; started?: number; closed?: number; how?: string }>();
  for (const e of events) {
    const k = kind(e);
    if (k === 'activitytaskscheduled') {
      const a = e.activityTaskScheduledEventAttributes;
      rows.set(e.eventId, { name: `${a?.activityType?.name}[${a?.taskQueue?.name}]`, scheduled: at(e) });
    }
    const ref =
      e.activityTaskStartedEventAttributes ??
      e.activityTaskCompletedEventAttributes ??
      e.activityTaskFailedEventAttributes ??
      e.activityTaskTimedOutEventAttributes;
    const row = ref?.scheduledEventId ? rows.get(ref.scheduledEventId) : undefined;
    if (!row) continue;
    if (k === 'activitytaskstarted') row.started = at(e);
    else [row.closed, row.how] = [at(e), k.replace('activitytask', '')];
  }
  return [...rows.values()].map(
    (r) => `${r.name} +${r.scheduled}..${r.started ?? '?'}..${r.closed ?? '?'} ${r.how ?? 'open'}`,
  );
}
