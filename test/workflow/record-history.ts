/**
 * Records the setupCluster history used by replay.test.ts. Not a test itself; run it through jest:
 *
 *   RECORD_HISTORY=1 npx jest test/workflow/replay.test.ts --selectProjects workflow
 *
 * It runs the current workflow code on a local dev server with mocked activities (validateSpec is the real
 * one, with a real SecretStore in a temp dir), then checks that none of the generated secrets, nor anything
 * that looks like a credential, reached the history before writing test/fixtures/setup-cluster-history.json.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { History } from '@temporalio/common/lib/proto-utils';
import * as fs from 'node:fs';
import type { SetupClusterInput } from '../../workflows';
import { decodedPayloads, historyToJson, HISTORY_FIXTURE, realValidateSpec, SPEC_INPUT } from './helpers';
import { mockActivities } from './mock-activities';

/** The recorded run: the CLI's input shape, with clean-up so that branch is in the history too. */
export const RECORDED_INPUT: SetupClusterInput = { spec: SPEC_INPUT, clean: true, force: false };
export const RECORDED_WORKFLOW_ID = 'setup-cluster-replay-fixture';

/** Strings that must never appear in a history, decoded or not. */
export const CREDENTIAL_PATTERNS = [/password/i, /SCRAM-SHA-256\$/, /secret/i, /verifier/i, /pgpass/i];

export function assertNoSecrets(historyJson: string, knownSecrets: string[] = []): void {
  const texts = [historyJson, ...decodedPayloads(historyJson)];
  for (const text of texts) {
    for (const s of knownSecrets)
      if (s && text.includes(s)) throw new Error('a generated secret value is in the history');
    for (const p of CREDENTIAL_PATTERNS)
      if (p.test(text)) throw new Error(`the history contains ${p}: ${text.slice(0, 200)}`);
  }
}

export async function recordHistory(
  env: TestWorkflowEnvironment,
  bundle: WorkflowBundleWithSourceMap,
): Promise<{ history: History; json: string }> {
  const real = realValidateSpec();
  try {
    const m = mockActivities({ validateSpec: real.validateSpec });
    const taskQueue = 'setup-cluster-replay-fixture';
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: bundle,
      activities: m.activities,
    });
    const handle = await env.client.workflow.start('setupCluster', {
      taskQueue,
      workflowId: RECORDED_WORKFLOW_ID,
      args: [RECORDED_INPUT],
    });
    await worker.runUntil(handle.result());
    const history = await handle.fetchHistory();
    // Identities are "<pid>@<hostname>": nothing replay needs, and the host's name has no place in the repository.
    const json = historyToJson(history).replace(/"identity": "[^"]*"/g, '"identity": "citusctl-test-recorder"');
    const s = await real.secrets.ensure(SPEC_INPUT.name);
    assertNoSecrets(json, [s.superuserPassword, s.replicationPassword, s.appPassword, s.appScramVerifier]);
    return { history, json };
  } finally {
    fs.rmSync(real.secretsRoot, { recursive: true, force: true });
  }
}

export function writeFixture(json: string): void {
  fs.writeFileSync(HISTORY_FIXTURE, json);
}
