/**
 * rotateCertificates against a real Temporal dev server with mocked activities: renewals go into
 * every container after the store renewed them; a CA rotation distributes the trust bundle with
 * both CAs before any certificate of the new CA, renews, installs, and retires the old CA only
 * after every install succeeded (never when one failed); a bad input is refused before any step.
 * And the Schedule `certs-<cluster>`: created, unchanged, updated (a paused one stays paused),
 * deleted by `down`'s cleanup.
 */
import { ApplicationFailure } from '@temporalio/common';
import { ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Activities } from '../../activities';
import type { InstalledTls } from '../../activities/tls/rotation';
import { ensureCertsSchedule } from '../../client/certs-schedule';
import { stopClusterWorkflows } from '../../client/stop-cluster-workflows';
import { tlsTargets } from '../../common/certificates';
import { parseSpec } from '../../common/spec';
import { tlsIdentities } from '../../common/tls-identities';
import { TASK_QUEUE } from '../../lib/temporal-server';
import type { RotateCertificatesResult } from '../../workflows';
import { SPEC_INPUT, uniqueClusterName } from './helpers';
import { mockActivities } from './mock-activities';
import { failureOf } from './runner';
import { useWorkflowEnv } from './workflow-env';

jest.setTimeout(90_000);

const wf = useWorkflowEnv();
const spec = parseSpec(SPEC_INPUT);
const TARGETS = tlsTargets(spec).map((t) => t.id);

type CertActivities = Pick<
  Activities,
  'renewCertificates' | 'rotateClusterCa' | 'retireOldClusterCas' | 'installTls' | 'validateSpec'
>;

/** Mocked steps recording `name[:id:part]` in the order they ran. */
function mockCerts(fail?: { id: string; part: 'trust' | 'all' }) {
  const log: string[] = [];
  const impl: Omit<CertActivities, 'validateSpec'> = {
    async renewCertificates({ spec: s, force }) {
      log.push('renewCertificates');
      return tlsIdentities(s).map((i, n) => ({
        id: i.id,
        renewed: force === true || n === 0,
        serial: `0${n}`,
        notAfter: '2027-03-01T00:00:00.000Z',
      }));
    },
    async rotateClusterCa() {
      log.push('rotateClusterCa');
      return { serial: 'ca2', trusted: 2 };
    },
    async retireOldClusterCas() {
      log.push('retireOldClusterCas');
      return { retired: 1 };
    },
    async installTls({ id, part }): Promise<InstalledTls> {
      log.push(`installTls:${id}:${part}`);
      if (fail?.id === id && fail.part === part)
        throw ApplicationFailure.create({ type: 'BadConfig', message: `${id}: cannot write`, nonRetryable: true });
      return { id, container: `c-${id}`, state: 'running', written: ['/citusctl/tls/server.crt'], reloaded: 'reload' };
    },
  };
  return { activities: { ...mockActivities().activities, ...impl }, log };
}

/** Where each kind of step ran in the log. */
const positions = (log: string[], prefix: string) =>
  log.map((l, i) => (l.startsWith(prefix) ? i : -1)).filter((i) => i >= 0);

test('renewal: the bundle everywhere, the store renews, then every container its files (no CA step)', async () => {
  const m = mockCerts();
  const { result, error, progress } = await wf.run<RotateCertificatesResult>(
    'rotateCertificates',
    { spec: SPEC_INPUT, force: true },
    m.activities,
  );
  expect(error).toBeUndefined();
  const n = TARGETS.length;
  expect(TARGETS).toHaveLength(spec.members.length + 2); // every member, PgBouncer, etcd
  expect(m.log.slice(0, n).sort()).toEqual(TARGETS.map((id) => `installTls:${id}:trust`).sort());
  expect(m.log[n]).toBe('renewCertificates');
  expect(m.log.slice(n + 1).sort()).toEqual(TARGETS.map((id) => `installTls:${id}:all`).sort());
  expect(m.log).not.toContain('rotateClusterCa');
  expect(m.log).not.toContain('retireOldClusterCas');
  expect(result!.certificates.every((c) => c.renewed)).toBe(true);
  expect(result!.installed).toHaveLength(n);
  expect(result!.newCa).toBeUndefined();
  expect(progress.steps.map((s) => `${s.name}:${s.state}`)).toEqual([
    'validate:done',
    'trust:done',
    'renew:done',
    'install:done',
  ]);
});

test('CA rotation: both CAs trusted everywhere first, then certificates, the old CA retired last', async () => {
  const m = mockCerts();
  const { result, error } = await wf.run<RotateCertificatesResult>(
    'rotateCertificates',
    { spec: SPEC_INPUT, rotateCa: true },
    m.activities,
  );
  expect(error).toBeUndefined();
  const trust = positions(m.log, 'installTls:').filter((i) => m.log[i]!.endsWith(':trust'));
  const all = positions(m.log, 'installTls:').filter((i) => m.log[i]!.endsWith(':all'));
  const [ca] = positions(m.log, 'rotateClusterCa');
  const [renew] = positions(m.log, 'renewCertificates');
  const [retire] = positions(m.log, 'retireOldClusterCas');
  expect(trust).toHaveLength(2 * TARGETS.length);
  expect(all).toHaveLength(TARGETS.length);
  const firstTrust = trust.slice(0, TARGETS.length);
  const lastTrust = trust.slice(TARGETS.length);
  // new CA < trust bundle in every container < renew < every certificate < retire < the bundle again
  expect(ca).toBe(0);
  expect(Math.max(...firstTrust)).toBeLessThan(renew!);
  expect(renew).toBeLessThan(Math.min(...all));
  expect(Math.max(...all)).toBeLessThan(retire!);
  expect(retire).toBeLessThan(Math.min(...lastTrust));
  expect(result).toMatchObject({ newCa: 'ca2', retiredCas: 1 });
});

test('CA rotation: an install that fails leaves the old CA trusted (no retire)', async () => {
  const m = mockCerts({ id: 'pgbouncer', part: 'all' });
  const { error, progress } = await wf.run<RotateCertificatesResult>(
    'rotateCertificates',
    { spec: SPEC_INPUT, rotateCa: true },
    m.activities,
  );
  expect(failureOf(error).message).toMatch(/pgbouncer: cannot write/);
  expect(m.log).not.toContain('retireOldClusterCas');
  expect(progress.steps.find((s) => s.name === 'install')?.state).toBe('failed');
  expect(progress.steps.find((s) => s.name === 'retire-old-ca')?.state).toBe('pending');
});

test('a bad input is refused before any step', async () => {
  const m = mockCerts();
  const { error } = await wf.run(
    'rotateCertificates',
    { spec: SPEC_INPUT, force: 'yes', rotateCA: true },
    m.activities,
  );
  const f = failureOf(error);
  expect(f.type).toBe('BadConfig');
  expect(f.message).toMatch(/force/);
  expect(f.message).toMatch(/rotateCA/);
  expect(m.log).toEqual([]);
});

test('the schedule: created, unchanged, updated (a pause kept), deleted by the cleanup of `down`', async () => {
  const cluster = uniqueClusterName('certs');
  const s = parseSpec({ ...SPEC_INPUT, name: cluster });
  expect(await ensureCertsSchedule(wf.client, s)).toEqual({ scheduleId: `certs-${cluster}`, outcome: 'created' });
  expect(await ensureCertsSchedule(wf.client, s)).toEqual({ scheduleId: `certs-${cluster}`, outcome: 'unchanged' });
  const handle = wf.client.schedule.getHandle(`certs-${cluster}`);
  let d = await handle.describe();
  expect(d.spec.intervals?.map((i) => i.every)).toEqual([24 * 3_600_000]); // daily by default
  expect(d.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
  expect(d.action).toMatchObject({
    type: 'startWorkflow',
    workflowType: 'rotateCertificates',
    taskQueue: TASK_QUEUE,
    workflowId: `certs-${cluster}`,
    args: [{ cluster }],
  });
  await handle.pause('operator: not now');
  const hourly = parseSpec({ ...SPEC_INPUT, name: cluster, tls: { renewCheckHours: 1 } });
  expect(await ensureCertsSchedule(wf.client, hourly)).toEqual({ scheduleId: `certs-${cluster}`, outcome: 'updated' });
  d = await handle.describe();
  expect(d.spec.intervals?.map((i) => i.every)).toEqual([3_600_000]);
  expect(d.state.paused).toBe(true);

  const report = await stopClusterWorkflows(wf.client, cluster);
  expect(report.schedulesDeleted).toContain(`certs-${cluster}`);
  await expect(handle.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
});
