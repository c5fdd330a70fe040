/**
 * A test workflow that runs one activity on a given task queue: how the host-worker test sends work
 * to a host's queue before any project workflow routes there.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../../../activities';
import type { ClusterSpec } from '../../../common/spec';

type Activities = ReturnType<typeof createActivities>;

export async function resolveImagesOn(taskQueue: string, spec: ClusterSpec) {
  const { resolveImages } = proxyActivities<Activities>({
    taskQueue,
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 1 },
  });
  return resolveImages(spec);
}
