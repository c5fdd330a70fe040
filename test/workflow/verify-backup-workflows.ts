/**
 * The workflows of the verifyBackup test: the real verifyBackup, and a stand-in for the
 * restoreCluster child that builds the scratch cluster (its one step is a mocked activity, so each
 * test decides whether the restore succeeds, fails or hangs).
 */
import { proxyActivities } from '@temporalio/workflow';

export { verifyBackup } from '../../workflows/verify-backup';

const { fakeRestore } = proxyActivities<{ fakeRestore(input: unknown): Promise<void> }>({
  startToCloseTimeout: '1m',
  heartbeatTimeout: '5s',
  retry: { maximumAttempts: 1 },
});

export async function restoreCluster(input: unknown): Promise<{ restored: true }> {
  await fakeRestore(input);
  return { restored: true };
}
