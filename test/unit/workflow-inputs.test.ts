/**
 * The workflow input schemas (common/inputs): every refusal names its field, the inputs the CLI,
 * the monitor and the README send are accepted, and every workflow the worker runs has a schema.
 */
import {
  WORKFLOW_INPUT_SCHEMAS,
  inputProblems,
  workflowInput,
  InputError,
  type MonitorCarryInput,
  type WorkflowWithInput,
} from '../../common/inputs';
import { targetProblems } from '../../common/inputs/against-spec';
import { emptyHistory } from '../../common/monitor-observation';
import { parseSpec } from '../../common/spec';
import type { MonitorCarry, MonitorInput } from '../../workflows/monitor';
import * as workflows from '../../workflows';

const problems = (workflow: WorkflowWithInput, input: unknown) =>
  inputProblems(WORKFLOW_INPUT_SCHEMAS[workflow], input);

/** Exactly the problems listed, each starting with its field. */
function expectRefused(workflow: WorkflowWithInput, input: unknown, expected: Array<[field: string, what: RegExp]>) {
  const got = problems(workflow, input);
  expect(got).toHaveLength(expected.length);
  for (const [field, what] of expected) {
    const p = got.find((x) => x.startsWith(`${field}: `));
    expect(p).toBeDefined();
    expect(p).toMatch(what);
  }
}

describe('every workflow has a schema', () => {
  test('each workflow function exported to the worker has an input schema', () => {
    const types = Object.entries(workflows)
      .filter(([, v]) => typeof v === 'function' && v.constructor.name === 'AsyncFunction')
      .map(([k]) => k)
      .sort();
    expect(types.length).toBeGreaterThanOrEqual(9);
    expect(Object.keys(WORKFLOW_INPUT_SCHEMAS).sort()).toEqual(types);
  });
});

describe('refusals name the field', () => {
  test.each(Object.keys(WORKFLOW_INPUT_SCHEMAS) as WorkflowWithInput[])(
    '%s with no input at all: "input: expected a JSON object"',
    (w) => {
      for (const nothing of [undefined, null, 'demo', 7, []]) {
        const got = problems(w, nothing);
        expect(got).toHaveLength(1);
        expect(got[0]).toMatch(/^input: expected a JSON object, got /);
      }
    },
  );

  test('failoverGroup {}: the cluster and the group are required', () => {
    expectRefused('failoverGroup', {}, [
      ['group', /^group: required$/],
      ['cluster', /name the cluster/],
    ]);
  });

  test('rejoinMemberWorkflow {}: the member and the cluster are required', () => {
    expectRefused('rejoinMemberWorkflow', {}, [
      ['member', /^member: required$/],
      ['cluster', /required/],
    ]);
  });

  test('strings are not booleans: "volumes":"false" and "clean":"no" are refused', () => {
    expectRefused('drainGroup', { cluster: 'demo', group: 'g3', volumes: 'false' }, [
      ['volumes', /expected true or false, got the string "false"/],
    ]);
    expectRefused('setupCluster', { spec: { name: 'demo' }, clean: 'no' }, [
      ['clean', /expected true or false, got the string "no"/],
    ]);
    expectRefused('failoverGroup', { cluster: 'demo', group: 'g1', rejoin: 0 }, [
      ['rejoin', /expected true or false, got number 0/],
    ]);
  });

  test('an unknown transfer mode is refused, naming the modes', () => {
    expectRefused('drainGroup', { cluster: 'demo', group: 'g3', transferMode: 'x' }, [
      ['transferMode', /the string "x" is not one of "auto", "force_logical", "block_writes"/],
    ]);
    expectRefused('rebalanceCluster', { cluster: 'demo', transferMode: 'fast' }, [['transferMode', /not one of/]]);
  });

  test('unknown keys are refused, at the top level and inside', () => {
    expectRefused('failoverGroup', { cluster: 'demo', group: 'g1', force: true }, [
      ['input', /unknown key\(s\) "force"/],
    ]);
    expectRefused('healthCheck', { cluster: 'demo', thresholds: { lag: 1 } }, [
      ['thresholds', /unknown key\(s\) "lag"/],
    ]);
    expectRefused('monitorCluster', { cluster: 'demo', tuning: { period: 5 } }, [
      ['tuning', /unknown key\(s\) "period"/],
    ]);
  });

  test('numbers are numbers, names are names', () => {
    expectRefused('failoverGroup', { cluster: 'demo', group: 'g1', lockTtlSeconds: '30' }, [
      ['lockTtlSeconds', /expected a number, got the string "30"/],
    ]);
    expectRefused('failoverGroup', { cluster: 'demo', group: 'g1', candidates: ['g1-b', 3] }, [
      ['candidates[1]', /expected a string/],
    ]);
    expectRefused('switchoverGroup', { cluster: 'Demo!', group: 'g1' }, [['cluster', /1-31 characters/]]);
    expectRefused('failoverGroup', { cluster: 'demo', group: 'g1', approvalTimeout: 'soon' }, [
      ['approvalTimeout', /duration/],
    ]);
    const hostLoss = { member: 'g1-a', host: 'h1', lostForMs: 2000 };
    expectRefused('failoverGroup', { cluster: 'demo', group: 'g1', hostLoss: { ...hostLoss, lostForMs: -1 } }, [
      ['hostLoss.lostForMs', />=0/],
    ]);
    expectRefused('failoverGroup', { cluster: 'demo', group: 'g1', hostLoss: { ...hostLoss, lostForMs: '2s' } }, [
      ['hostLoss.lostForMs', /expected a number/],
    ]);
    expectRefused('failoverGroup', { cluster: 'demo', group: 'g1', hostLoss: { ...hostLoss, fenced: true } }, [
      ['hostLoss', /unknown key\(s\) "fenced"/],
    ]);
    expectRefused('failoverGroup', { cluster: 'demo', group: 'g1', hostLoss: { ...hostLoss, host: 'H 1' } }, [
      ['hostLoss.host', /1-31 characters/],
    ]);
  });

  test("a bad spec is refused with the spec's own field names", () => {
    expectRefused(
      'setupCluster',
      {
        spec: {
          name: 'demo',
          members: [
            { name: 'coord-a', group: 'coordinator', port: 'x' },
            { name: 'g1-a', group: 'g1', port: 5433 },
          ],
        },
      },
      [['spec.members[0].port', /expected number/]],
    );
    expectRefused('setupCluster', { spec: { name: 'demo', color: 'blue' } }, [['spec', /unknown key\(s\) "color"/]]);
    expectRefused('failoverGroup', { spec: 'demo', group: 'g1' }, [
      ['spec', /expected a JSON object \(the cluster spec\)/],
    ]);
  });

  test('cluster and spec.name must agree', () => {
    expectRefused('switchoverGroup', { cluster: 'other', spec: { name: 'demo' }, group: 'g1' }, [
      ['cluster', /"other" and spec.name "demo" differ/],
    ]);
  });
});

describe('what the product sends is accepted', () => {
  test.each<[WorkflowWithInput, unknown]>([
    ['setupCluster', {}],
    ['setupCluster', { spec: { name: 'demo' } }],
    ['setupCluster', { cluster: 'demo' }],
    [
      'setupCluster',
      { spec: parseSpec({ name: 'demo' }), clean: false, force: false, applySpecChange: true, rebalance: false },
    ],
    ['failoverGroup', { cluster: 'demo', group: 'g1', rejoin: true }],
    ['failoverGroup', { cluster: 'demo', group: 'g1', hostLoss: { member: 'g1-a', host: 'h2', lostForMs: 1500 } }],
    ['failoverGroup', { spec: parseSpec({}), group: 'g1', requireApproval: false, candidates: ['g1-b'] }],
    [
      'failoverGroup',
      { spec: parseSpec({}), group: 'g1', lockTtlSeconds: 2, lockWaitMs: 30_000, approvalTimeout: '10m' },
    ],
    ['switchoverGroup', { cluster: 'demo', group: 'coordinator', to: 'coord-b' }],
    ['rejoinMemberWorkflow', { cluster: 'demo', member: 'g1-a' }],
    ['unfenceMemberWorkflow', { cluster: 'demo', member: 'g1-a' }],
    ['rebalanceCluster', { cluster: 'demo', transferMode: 'block_writes' }],
    ['drainGroup', { cluster: 'demo', group: 'g3', volumes: false, transferMode: 'auto' }],
    ['healthCheck', { cluster: 'demo' }],
    ['healthCheck', { spec: parseSpec({}), thresholds: { monitorStaleMs: 1000 } }],
    ['monitorCluster', { cluster: 'demo' }],
    ['monitorCluster', { spec: parseSpec({}), tuning: { thresholds: { intervalMs: 50 }, periodMs: 1500 } }],
  ])('%s %j', (w, input) => {
    expect(problems(w, input)).toEqual([]);
  });

  test('the carry a monitor run hands the next is accepted, and a key of another build is ignored, not refused', () => {
    const carry: MonitorCarry = {
      runs: 3,
      maintenance: { cluster: false, groups: ['g1'], at: '2026-01-01T00:00:00.000Z', by: 'op' },
      history: emptyHistory(),
      signature: 'x',
      notBefore: { 'failover:g1': 123 },
      failures: { 'failover:g1': 1 },
      lastActions: [{ at: 1, kind: 'failover', target: 'g1', outcome: 'done', detail: 'ok' }],
    };
    // The type the monitor writes is the schema's input type: a new carry field needs the schema too.
    const asInput: MonitorCarryInput = carry;
    const input: MonitorInput = { spec: parseSpec({}), carry };
    expect(problems('monitorCluster', input)).toEqual([]);
    expect(problems('monitorCluster', { spec: parseSpec({}), carry: { ...asInput, addedByANewerBuild: 1 } })).toEqual(
      [],
    );
    expectRefused('monitorCluster', { spec: parseSpec({}), carry: { ...carry, runs: 'three' } }, [
      ['carry.runs', /expected a number/],
    ]);
  });

  test('workflowInput (the CLI) returns a valid input and throws InputError naming the fields otherwise', () => {
    expect(workflowInput('drainGroup', { cluster: 'demo', group: 'g3', volumes: true })).toEqual({
      cluster: 'demo',
      group: 'g3',
      volumes: true,
    });
    expect(() => workflowInput('drainGroup', { cluster: 'demo', group: 'g3', transferMode: 'x' as never })).toThrow(
      InputError,
    );
    expect(() => workflowInput('drainGroup', { cluster: 'demo', group: 'g3', transferMode: 'x' as never })).toThrow(
      /invalid input of drainGroup: transferMode: /,
    );
  });
});

describe('targets against the stored spec', () => {
  const spec = parseSpec({ name: 'demo' });
  test.each<[string, Parameters<typeof targetProblems>[1], RegExp | undefined]>([
    ['a known group', { group: 'g1' }, undefined],
    ['the coordinator group', { group: 'coordinator' }, undefined],
    ['an unknown group', { group: 'g9' }, /^group: unknown group g9 \(groups of demo: coordinator, g1, g2\)$/],
    ['an unknown member', { member: 'g9-a' }, /^member: unknown member g9-a/],
    ['a known member', { member: 'g2-b' }, undefined],
    ['`to` outside the group', { group: 'g1', to: 'g2-b' }, /^to: g2-b is not a member of g1 \(g1-a, g1-b\)$/],
    [
      'a candidate outside the group',
      { group: 'g1', candidates: ['g1-b', 'g2-b'] },
      /^candidates\[1\]: g2-b is not a member of g1/,
    ],
    [
      'drain of the coordinator',
      { group: 'coordinator', workerGroup: true },
      /^group: the coordinator group cannot be drained/,
    ],
    [
      'drain of an unknown worker group',
      { group: 'g9', workerGroup: true },
      /^group: unknown worker group "g9" \(worker groups of demo: g1, g2\)$/,
    ],
  ])('%s', (_what, targets, expected) => {
    const got = targetProblems(spec, targets);
    if (!expected) expect(got).toEqual([]);
    else {
      expect(got).toHaveLength(1);
      expect(got[0]).toMatch(expected);
    }
  });
});
