/**
 * unfenceMemberWorkflow against a real Temporal dev server with mocked activities: the lock is
 * checked right before the un-fence, a lost lock never un-fences, and the activity's refusal (a
 * member that is, or may be, writable) fails the workflow naming it, with nothing un-fenced.
 */
import { ApplicationFailure } from '@temporalio/client';
import type { UnfenceMemberInput, UnfenceMemberResult } from '../../workflows';
import { failureOf, step } from './runner';
import { mockActivities, type MockedActivities } from './mock-activities';
import { SPEC_INPUT } from './helpers';
import { useWorkflowEnv } from './workflow-env';

jest.setTimeout(60_000);

const wf = useWorkflowEnv();

const runUnfence = (activities: Partial<MockedActivities>, member = 'g1-a') =>
  wf.run<UnfenceMemberResult>(
    'unfenceMemberWorkflow',
    { spec: SPEC_INPUT, member } satisfies UnfenceMemberInput,
    activities,
  );

test('the recorded primary serves again; the lock is checked right before the un-fence', async () => {
  const m = mockActivities();
  const { result, error } = await runUnfence(m.activities);
  expect(error).toBeUndefined();
  expect(result).toMatchObject({ member: 'g1-a', primary: 'g1-a', action: 'serving-as-primary' });
  const all = m.calls.map((c) => c.name);
  expect(all[all.indexOf('unfencePrimary') - 1]).toBe('renewGroupLock');
  expect(m.inputs('unfencePrimary')).toEqual([expect.objectContaining({ member: 'g1-a', others: ['g1-b', 'g1-c'] })]);
});

test('a lost lock stops it before the un-fence: LockLost, never un-fenced', async () => {
  const m = mockActivities({
    async renewGroupLock() {
      throw ApplicationFailure.nonRetryable('the lock of group g1 is held by someone else', 'LockLost');
    },
  });
  const { error } = await runUnfence(m.activities);
  expect(failureOf(error)).toMatchObject({ type: 'LockLost' });
  expect(m.called('unfencePrimary')).toHaveLength(0);
  expect(m.called('releaseGroupLock')).toHaveLength(1);
});

test('refused while another member cannot be reached: the workflow fails Refused naming it', async () => {
  const m = mockActivities({
    async unfencePrimary() {
      throw ApplicationFailure.nonRetryable(
        'cannot unfence g1-a: g1-b cannot be reached (container running): it may have been promoted',
        'Refused',
      );
    },
  });
  const { error, progress } = await runUnfence(m.activities);
  expect(failureOf(error)).toMatchObject({ type: 'Refused', nonRetryable: true });
  expect(failureOf(error).message).toMatch(/g1-b cannot be reached/);
  expect(step(progress, 'unfence')).toMatchObject({ state: 'failed' });
  expect(m.called('configureDurability')).toHaveLength(0);
  expect(m.called('releaseGroupLock')).toHaveLength(1);
});
