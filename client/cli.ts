#!/usr/bin/env node
/** citusctl: up, status, down, worker, images build. Every command takes --config FILE and --json. */
import { clientHosts } from '../common/addressing';
import { Command } from 'commander';
import { InputError, workflowInput, type WorkflowWithInput } from '../common/inputs';
import { SpecError, type ClusterSpec } from '../common/spec';
import {
  backupWorkflowId,
  certsWorkflowId,
  drainWorkflowId,
  failoverWorkflowId,
  rebalanceWorkflowId,
  rejoinWorkflowId,
  switchoverWorkflowId,
  unfenceWorkflowId,
  verifyBackupWorkflowId,
} from '../common/workflow-ids';
import { TRANSFER_MODES } from '../common/rebalance';
import { storedClusterSpecs } from '../lib/cluster-spec-file';
import { stateDir } from '../lib/state-dir';
import { loadSpecFile } from './load-spec';
import { PreflightError } from './preflight-error';

// Commands load their modules on demand: the Temporal worker and Docker client cost ~0.4 s to
// load, which a failover started from the CLI should not pay before it can act.
/* eslint-disable @typescript-eslint/no-require-imports */
const lazy = {
  up: async () => require('./up') as typeof import('./up'),
  status: async () => require('./status') as typeof import('./status'),
  down: async () => require('./down') as typeof import('./down'),
  run: async () => require('./run-workflow') as typeof import('./run-workflow'),
  preflight: async () => require('./preflight') as typeof import('./preflight'),
  worker: async () => require('../worker/main') as typeof import('../worker/main'),
  hostWorker: async () => require('../worker/host-worker') as typeof import('../worker/host-worker'),
  images: async () => require('../common/images') as typeof import('../common/images'),
  monitor: async () => require('./monitor') as typeof import('./monitor'),
  health: async () => require('./health') as typeof import('./health'),
  certs: async () => require('./certs') as typeof import('./certs'),
  restorePoint: async () => require('./restore-point') as typeof import('./restore-point'),
  restore: async () => require('./restore') as typeof import('./restore'),
  backups: async () => require('./backups') as typeof import('./backups'),
  // what `status` prints (it reads the backup catalog's modules): not loaded by a backup or a failover
  lines: async () => require('./status-lines') as typeof import('./status-lines'),
};
/* eslint-enable @typescript-eslint/no-require-imports */

interface CommonOpts {
  config?: string;
  json?: boolean;
  /** A cluster set up from this state directory, by name, instead of the spec file (`--cluster`). */
  cluster?: string;
}

/** Exit codes: 2 bad spec or workflow input, 3 preflight (missing image), 1 anything else. */
function fail(err: unknown, json: boolean | undefined): never {
  const code = err instanceof SpecError || err instanceof InputError ? 2 : err instanceof PreflightError ? 3 : 1;
  // Temporal wraps the reason (workflow failed <- activity failed <- the activity's own error): name every level once.
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error && parts.length < 6; e = e.cause) {
    if (e.message && !parts.some((p) => p.includes(e.message))) parts.push(e.message);
  }
  const message = parts.length ? parts.join(': ') : String(err);
  if (json)
    process.stdout.write(
      JSON.stringify(
        {
          ok: false,
          error: message,
          ...(err instanceof SpecError || err instanceof InputError ? { problems: err.problems } : {}),
        },
        null,
        2,
      ) + '\n',
    );
  else process.stderr.write(`citusctl: ${message}\n`);
  process.exit(code);
}

function spec(opts: CommonOpts): ClusterSpec {
  if (opts.cluster === undefined) return loadSpecFile(opts.config);
  const stored = storedClusterSpecs(stateDir()).find((c) => c.name === opts.cluster);
  if (!stored) throw new SpecError([`--cluster ${opts.cluster}: no cluster of that name is set up here`]);
  return stored;
}

/** A long command's progress lines: stdout for humans, stderr with --json (stdout carries one document). */
const progress = (opts: CommonOpts) => (line: string) =>
  opts.json ? process.stderr.write(line + '\n') : process.stdout.write(line + '\n');

/** What a command hands back: its JSON document (--json), what a human reads otherwise, and its exit code. */
interface Outcome {
  doc: unknown;
  human: () => void;
  /** Default 0. */
  code?: number;
}

/**
 * The one path every command takes: run it, print its outcome (one JSON document on stdout with
 * --json) and exit with its code; any error goes to fail. A command with no outcome (the long-lived
 * worker) ends on its own.
 */
async function run(opts: CommonOpts, command: () => Promise<Outcome | void>): Promise<void> {
  try {
    const outcome = await command();
    if (!outcome) return;
    if (opts.json) process.stdout.write(JSON.stringify(outcome.doc, null, 2) + '\n');
    else outcome.human();
    process.exit(outcome.code ?? 0);
  } catch (err) {
    fail(err, opts.json);
  }
}

const program = new Command('citusctl').description(
  'A highly available Citus cluster, run by durable Temporal workflows',
);
const withCommon = (c: Command) =>
  c
    .option('-c, --config <file>', 'cluster spec (YAML); default: the project cluster.yaml')
    .option('--json', 'one machine-readable JSON document on stdout');

withCommon(
  program.command('up').description('provision the cluster and run the setup runbook (resumes a setup in flight)'),
)
  .option('--clean', 'drop the demo table first (refused if other tables exist)')
  .option('--force', 'with --clean: proceed even if other tables exist (they are left alone)')
  .option('--no-worker', 'do not run an in-process worker (one is running elsewhere)')
  .option(
    '--no-monitor',
    'no self-healing: start neither the monitor nor the supervised worker (failovers by command only)',
  )
  .option('--no-rebalance', 'a worker group added to the spec gets no shards now (citusctl rebalance later)')
  .action(
    (opts: CommonOpts & { clean?: boolean; force?: boolean; worker: boolean; monitor: boolean; rebalance: boolean }) =>
      run(opts, async () => {
        const s = spec(opts);
        const started = Date.now();
        const { psqlLine } = await lazy.lines();
        const report = await (
          await lazy.up()
        ).up(
          s,
          {
            clean: opts.clean,
            force: opts.force,
            json: opts.json,
            worker: opts.worker ? 'auto' : false,
            monitor: opts.monitor,
            rebalance: opts.rebalance,
          },
          progress(opts),
        );
        return {
          doc: { ok: true, ...report },
          human: () => {
            console.log(
              `\ncluster ${report.result.cluster} ready in ${((Date.now() - started) / 1000).toFixed(1)}s ` +
                `(workflow ${report.workflowId})`,
            );
            console.log(
              `  clients: PGPASSFILE=${report.pgpass} ` +
                psqlLine(s.pgbouncer.port, 'app', report.caPath, clientHosts(s)),
            );
            if (report.temporal.ui) console.log(`  temporal UI: ${report.temporal.ui}`);
          },
        };
      }),
  );

withCommon(program.command('status').description('members, roles, replication, Citus workers and shards, endpoints'))
  .option('--cluster <name>', 'a cluster set up here (e.g. a restored one) instead of the spec file')
  .action((opts: CommonOpts & { cluster?: string }) =>
    run(opts, async () => {
      const report = await (await lazy.status()).status(spec(opts));
      const { statusLines } = await lazy.lines();
      return { doc: report, human: () => console.log(statusLines(report).join('\n')) };
    }),
  );

withCommon(program.command('down').description('remove the cluster containers and network'))
  .option('--volumes', 'also delete data volumes and the cluster secrets (the backup repository is kept)')
  .option('--backups', 'with --volumes: also delete the backup repository volume (every backup and archived WAL)')
  .option('--cluster <name>', "the cluster to remove, by name (a restored or scratch cluster); default: the spec's")
  .action((opts: CommonOpts & { volumes?: boolean; backups?: boolean; cluster?: string }) =>
    run(opts, async () => {
      const target = opts.cluster ? (await lazy.down()).namedCluster(opts.cluster) : spec(opts);
      const r = await (await lazy.down()).down(target, { volumes: opts.volumes, backups: opts.backups });
      return {
        doc: { ok: true, ...r },
        human: () =>
          console.log(
            `removed ${r.removedContainers.length} ` +
              `containers${r.removedVolumes.length ? `, ${r.removedVolumes.length} volumes` : ''}` +
              `${r.keptBackupRepo ? `; kept the backup repository ${r.keptBackupRepo}` : ''}`,
          ),
      };
    }),
  );

/**
 * failover / switchover / rejoin / ...: one workflow each, followed like `up`. The input names the
 * cluster only: the workflow runs on the spec stored at setup (an edited spec file is applied by
 * `up`, never by a failover), checked against the workflow's own schema before it is started.
 */
function runGroupWorkflow<W extends WorkflowWithInput>(
  opts: CommonOpts & { worker?: boolean },
  workflowType: W,
  workflowId: (cluster: string) => string,
  input: (s: ClusterSpec) => object,
  summary: (r: Record<string, unknown>) => string,
  followUps?: (r: Record<string, unknown>) => string[],
) {
  return run(opts, async () => {
    const s = spec(opts);
    const args = [
      workflowInput(workflowType, { cluster: s.name, ...input(s) } as Parameters<typeof workflowInput<W>>[1]),
    ];
    const report = await (
      await lazy.run()
    ).runWorkflow<Record<string, unknown>>({
      workflowType,
      workflowId: workflowId(s.name),
      args,
      json: opts.json,
      worker: opts.worker === false ? false : 'auto',
      log: progress(opts),
      ...(followUps ? { followUps: (r: unknown) => followUps(r as Record<string, unknown>) } : {}),
    });
    // A failover that changed nothing because no standby could take over, or that stopped for an
    // operator, is a failure for scripts.
    const ok = report.result.outcome !== 'no-candidate' && report.result.outcome !== 'needs-operator';
    return {
      doc: { ok, ...report },
      human: () =>
        ok ? console.log(`\n${summary(report.result)}`) : process.stderr.write(`citusctl: ${summary(report.result)}\n`),
      code: ok ? 0 : 1,
    };
  });
}

withCommon(
  program
    .command('failover <group>')
    .description('unplanned failover of a worker group or the coordinator ("coordinator")'),
)
  .option('--no-rejoin', 'leave the old primary fenced')
  .option(
    '--require-approval',
    "wait for `citusctl approve` before fencing (default: the spec's requireFailoverApproval)",
  )
  .option('--no-worker', 'do not run an in-process worker')
  .action((group: string, opts: CommonOpts & { rejoin: boolean; requireApproval?: boolean; worker: boolean }) =>
    runGroupWorkflow(
      opts,
      'failoverGroup',
      (c) => failoverWorkflowId(c, group),
      () => ({ group, rejoin: opts.rejoin, ...(opts.requireApproval ? { requireApproval: true } : {}) }),
      (r) =>
        r.outcome === 'failed-over'
          ? `${group}: ${String(r.detail)}; outage window ${String(r.outageWindowMs)} ms; rejoined: ` +
            `${(r.rejoined as string[]).join(', ') || 'none'}`
          : `${group}: ${String(r.outcome)}: ${String(r.detail)}`,
    ),
  );

withCommon(program.command('switchover <group>').description('planned switchover of a worker group or the coordinator'))
  .option('--to <member>', 'the standby to promote (default: the most advanced)')
  .option('--no-worker', 'do not run an in-process worker')
  .action((group: string, opts: CommonOpts & { to?: string; worker: boolean }) =>
    runGroupWorkflow(
      opts,
      'switchoverGroup',
      (c) => switchoverWorkflowId(c, group),
      () => ({ group, to: opts.to }),
      (r) => `${group}: ${String(r.detail)}; writes held ${String(r.pauseMs)} ms`,
    ),
  );

withCommon(
  program.command('rejoin <member>').description("rebuild a member as a streaming standby of its group's primary"),
)
  .option('--no-worker', 'do not run an in-process worker')
  .action((member: string, opts: CommonOpts & { worker: boolean }) =>
    runGroupWorkflow(
      opts,
      'rejoinMemberWorkflow',
      (c) => rejoinWorkflowId(c, member),
      () => ({ member }),
      (r) => `${member} streams from ${String(r.primary)}`,
    ),
  );

withCommon(
  program
    .command('unfence <member>')
    .description(
      "lift a fence: the group's recorded primary serves again (refused while another member is writable); " +
        'any other member rejoins as a standby',
    ),
)
  .option('--no-worker', 'do not run an in-process worker')
  .action((member: string, opts: CommonOpts & { worker: boolean }) =>
    runGroupWorkflow(
      opts,
      'unfenceMemberWorkflow',
      (c) => unfenceWorkflowId(c, member),
      () => ({ member }),
      (r) => String(r.detail),
    ),
  );

const mb = (bytes: unknown) => `${(Number(bytes) / 1024 / 1024).toFixed(1)} MB`;
const transferMode = (mode: string) => {
  if (!(TRANSFER_MODES as readonly string[]).includes(mode))
    throw new Error(`--transfer-mode ${mode}: use one of ${TRANSFER_MODES.join(', ')}`);
  return mode;
};

withCommon(
  program
    .command('rebalance')
    .description(
      'move shards so every worker group holds its share (Citus background rebalancer, followed move by move)',
    ),
)
  .option('--transfer-mode <mode>', `${TRANSFER_MODES.join(' | ')}: auto moves logically while writes go on`, 'auto')
  .option('--no-worker', 'do not run an in-process worker')
  .action((opts: CommonOpts & { transferMode: string; worker: boolean }) =>
    runGroupWorkflow(
      opts,
      'rebalanceCluster',
      (c) => rebalanceWorkflowId(c),
      () => ({ transferMode: transferMode(opts.transferMode) }),
      (r) =>
        (r.jobs as number[]).length
          ? `rebalanced: ${String(r.movesDone)} moves, ${mb(r.bytesMoved)} (jobs ${(r.jobs as number[]).join(', ')})`
          : 'nothing to move: the cluster is balanced',
    ),
  );

withCommon(
  program
    .command('drain <group>')
    .description('move every shard off a worker group, then remove it (Citus node, slots, containers, etcd keys)'),
)
  .option('--volumes', "also delete the group's data volumes (kept by default)")
  .option('--transfer-mode <mode>', `${TRANSFER_MODES.join(' | ')}`, 'auto')
  .option('--no-worker', 'do not run an in-process worker')
  .action((group: string, opts: CommonOpts & { volumes?: boolean; transferMode: string; worker: boolean }) =>
    runGroupWorkflow(
      opts,
      'drainGroup',
      (c) => drainWorkflowId(c, group),
      () => ({ group, volumes: opts.volumes ?? false, transferMode: transferMode(opts.transferMode) }),
      (r) => {
        const volumes = (r.removedVolumes as string[]).length;
        const kept = volumes ? ` and ${volumes} volumes` : ' (volumes kept)';
        return (
          `${group} drained (${String(r.movesDone)} moves, ${mb(r.bytesMoved)}) and removed: ` +
          `${(r.removedContainers as string[]).length} containers${kept}; ` +
          `remove ${group} from the spec file`
        );
      },
    ),
  );

withCommon(program.command('approve <group>').description('approve (or --reject) a failover waiting for approval'))
  .option('--reject', 'reject instead')
  .option('--approver <name>', 'who decides', process.env.USER || 'operator')
  .action((group: string, opts: CommonOpts & { reject?: boolean; approver: string }) =>
    run(opts, async () => {
      const s = spec(opts);
      const r = await (
        await lazy.run()
      ).updateWorkflow<string>(failoverWorkflowId(s.name, group), 'approve', {
        approver: opts.approver,
        approve: !opts.reject,
      });
      return { doc: { ok: true, result: r }, human: () => console.log(r) };
    }),
  );

for (const [verb, what] of [
  ['pause', 'put the cluster (or one group) in maintenance: the monitor takes no automatic action'],
  ['resume', 'end maintenance of the cluster (or one group): the monitor heals again'],
] as const) {
  withCommon(program.command(verb).description(what))
    .option('--group <group>', 'only this group (coordinator or a worker group)')
    .option('--reason <text>', "why (shown in the monitor's status)")
    .action((opts: CommonOpts & { group?: string; reason?: string }) =>
      run(opts, async () => {
        const s = spec(opts);
        const m = await (
          await lazy.monitor()
        ).setMaintenance(s, verb, { group: opts.group, reason: opts.reason, by: process.env.USER || 'operator' });
        return {
          doc: { ok: true, maintenance: m },
          human: () => console.log(`maintenance of ${s.name}: ${JSON.stringify(m)}`),
        };
      }),
    );
}

withCommon(
  program
    .command('health')
    .description('run a full health check now: exit 0 when healthy, 1 when degraded (naming what is wrong)'),
)
  .option('--no-worker', 'do not run an in-process worker')
  .action((opts: CommonOpts & { worker: boolean }) =>
    run(opts, async () => {
      const s = spec(opts);
      const h = await lazy.health();
      const r = await h.health(s, {
        json: opts.json,
        worker: opts.worker === false ? false : undefined,
        log: (line: string) => process.stderr.write(line + '\n'),
      });
      const ok = r.result.status === 'healthy';
      return {
        doc: { ok, workflowId: r.workflowId, runId: r.runId, ...r.result },
        human: () => console.log(h.formatHealthReport(r.result).join('\n')),
        code: ok ? 0 : 1,
      };
    }),
  );

const certsCommand = withCommon(
  program
    .command('certs')
    .description('list the cluster CA and every certificate it issued: identity, not-after, days left, issuer'),
).action((opts: CommonOpts) =>
  run(opts, async () => {
    const c = await lazy.certs();
    const r = await c.certs(spec(opts));
    return { doc: { ok: true, ...r }, human: () => console.log(c.certsLines(r).join('\n')) };
  }),
);

withCommon(
  certsCommand
    .command('rotate')
    .description(
      'renew the certificates due now (--force: all) and put them in service without a restart; ' +
        '--ca: a new CA first (workflow certs-<cluster>)',
    ),
)
  .option(
    '--ca',
    'rotate the CA too: the new one is trusted beside the old until every server presents its certificate',
  )
  .option('--force', 'renew every certificate, due or not')
  .option('--no-worker', 'do not run an in-process worker')
  // `certs` takes -c/--json too: given after `rotate`, they land on it (optsWithGlobals merges both).
  .action((_: unknown, cmd: Command) => {
    const opts = cmd.optsWithGlobals<CommonOpts & { ca?: boolean; force?: boolean; worker: boolean }>();
    return runGroupWorkflow(
      opts,
      'rotateCertificates',
      (c) => certsWorkflowId(c),
      () => ({ force: opts.force ?? false, rotateCa: opts.ca ?? false }),
      (r) => {
        const renewed = (r.certificates as { renewed: boolean }[]).filter((x) => x.renewed).length;
        const installed = (r.installed as { written: string[] }[]).filter((x) => x.written.length).length;
        return (
          `${renewed} certificate(s) renewed, ${installed} container(s) updated` +
          `${r.newCa ? `; new CA ${String(r.newCa)}, ${String(r.retiredCas)} old CA(s) retired` : ''}`
        );
      },
    );
  });

withCommon(
  program
    .command('verify-backup')
    .description(
      'prove the newest backup restores: restore it into a scratch cluster on free ports, check every table ' +
        'and the row counts of its restore point, record the result, remove the scratch cluster ' +
        '(workflow verify-backup-<cluster>; exit 1 when the proof fails)',
    ),
)
  .option('--cluster <name>', 'a cluster set up here, by name (instead of --config)')
  .option('--no-worker', 'do not run an in-process worker')
  .action((opts: CommonOpts & { worker: boolean }) =>
    runGroupWorkflow(
      opts,
      'verifyBackup',
      (c) => verifyBackupWorkflowId(c),
      () => ({}),
      (r) => {
        if (!r.verified) return `nothing verified: ${String(r.reason)}`;
        const rec = r.record as { backupId: string; restorePoint: string; tables: Record<string, unknown> };
        return (
          `backup ${rec.backupId} restored to ${rec.restorePoint} in ${String(r.scratchCluster)} and checked: ` +
          `${Object.keys(rec.tables).length} table(s) match; the scratch cluster is removed`
        );
      },
    ),
  );

withCommon(
  program
    .command('restore-point [name]')
    .description(
      'make a named restore point consistent across every group now (workflow restore-point-<cluster>-<name>; ' +
        'default name rp-<UTC time>), archived when this returns',
    ),
)
  .option('--no-counts', 'do not hold writers to count rows (the point is as consistent; verify cannot compare counts)')
  .option('--cluster <name>', "the cluster (its stored spec); default: the spec file's")
  .option('--no-worker', 'do not run an in-process worker')
  .action((name: string | undefined, opts: CommonOpts & { counts: boolean; cluster?: string; worker: boolean }) =>
    run(opts, async () => {
      const rp = await lazy.restorePoint();
      const r = await rp.createRestorePoint(opts.cluster ?? spec(opts).name, {
        name,
        rowCounts: opts.counts,
        json: opts.json,
        worker: opts.worker,
        log: progress(opts),
      });
      return { doc: { ok: true, ...r }, human: () => console.log(`\n${rp.restorePointLines(r.result).join('\n')}`) };
    }),
  );

withCommon(
  program
    .command('backup')
    .description(
      'a full base backup of every group, in parallel, then a consistent restore point named after it ' +
        '(workflow backup-<cluster>)',
    ),
)
  .option('--cluster <name>', 'a cluster set up here, by name (instead of --config)')
  .option('--no-worker', 'do not run an in-process worker')
  .action((opts: CommonOpts & { worker: boolean }) =>
    runGroupWorkflow(
      opts,
      'backupCluster',
      (c) => backupWorkflowId(c),
      () => ({}),
      (r) => {
        const b = r.backup as { id: string; groups: Record<string, { sizeBytes: number; repoSizeBytes: number }> };
        const groups = Object.values(b.groups);
        const size = groups.reduce((n, g) => n + g.sizeBytes, 0);
        const stored = groups.reduce((n, g) => n + g.repoSizeBytes, 0);
        const expiry = r.expiry as { outcome: string; workflowId: string } | undefined;
        return (
          `backup ${b.id}: ${groups.length} groups, ${mb(size)} (${mb(stored)} stored); ` +
          `restore point ${String((r.restorePoint as { name: string }).name)}; ` +
          `expiry ${expiry ? `${expiry.outcome} (${expiry.workflowId})` : 'none'}`
        );
      },
      // The expiry it started, when this process's worker may be the only one to run it.
      (r) => {
        const expiry = r.expiry as { outcome: string; workflowId: string } | undefined;
        return expiry?.outcome === 'started' ? [expiry.workflowId] : [];
      },
    ),
  );

withCommon(
  program
    .command('restore')
    .description('a new cluster (or this one, after down --volumes) restored to a restore point of a backup'),
)
  .requiredOption('--as <cluster>', "the restored cluster's name")
  .requiredOption('--to <target>', "a restore point's name, an ISO time (the newest point at or before it), or latest")
  .option('--from <cluster>', 'the cluster whose backups are restored (default: --as, in place)')
  .option('--no-monitor', 'start neither the monitor nor the schedules for the restored cluster')
  .option('--no-worker', 'do not run an in-process worker')
  .action((opts: CommonOpts & { as: string; to: string; from?: string; monitor: boolean; worker: boolean }) =>
    run(opts, async () => {
      const r = await lazy.restore();
      // Only a spec file given explicitly: without one the backup's spec is restored (free ports).
      const report = await r.restore(
        {
          as: opts.as,
          to: opts.to,
          ...(opts.from ? { from: opts.from } : {}),
          ...(opts.config ? { spec: spec(opts) } : {}),
          json: opts.json,
          worker: opts.worker ? 'auto' : false,
          monitor: opts.monitor,
        },
        progress(opts),
      );
      const { psqlLine } = await lazy.lines();
      return {
        doc: { ok: true, ...report },
        human: () => console.log(['', ...r.restoreLines(report, psqlLine)].join('\n')),
      };
    }),
  );

withCommon(
  program
    .command('backups')
    .description("the backups, restore points and verified restores in the cluster's repository, oldest first"),
)
  .option('--cluster <name>', 'any cluster by name, also one removed by `down` (its repository stays)')
  .action((opts: CommonOpts) =>
    run(opts, async () => {
      const b = await lazy.backups();
      const r = await b.backups(opts.cluster === undefined ? spec(opts) : b.specForListing(opts.cluster));
      return { doc: { ok: true, ...r }, human: () => console.log(b.backupsLines(r).join('\n')) };
    }),
  );

withCommon(
  program.command('worker').description('run a long-lived worker (for workflows started from the Temporal UI)'),
)
  .option('--host <name>', 'run on that host of the spec: its Docker work only, on its own task queue')
  .option('--cluster <name>', 'a cluster set up here, by name (instead of --config), for --host')
  .option(
    '--no-self-fence',
    'with --host, several hosts: never stop a primary of this host cut off from etcd and the other hosts',
  )
  .option(
    '--engine <endpoint>',
    "with --host: this host's engine as its worker reaches it (e.g. unix:///var/run/docker.sock: no network " +
      "needed, so a host cut off from the others still stops its primaries); default: the spec's endpoint",
  )
  .action((opts: CommonOpts & { host?: string; selfFence: boolean; engine?: string }) =>
    run(opts, async () => {
      if (opts.engine !== undefined && opts.host === undefined) throw new Error('--engine needs --host');
      if (opts.host !== undefined)
        await (
          await lazy.hostWorker()
        ).runHostWorker(spec(opts), opts.host, process.env, {
          selfFence: opts.selfFence,
          engine: opts.engine,
        });
      else await (await lazy.worker()).runWorkerForever();
    }),
  );

const images = program.command('images').description('container images');
withCommon(
  images.command('build').description('build the offline images from Debian packages (PostgreSQL 17, PgBouncer, etcd)'),
).action((opts: CommonOpts) =>
  run(opts, async () => {
    (await lazy.preflight()).buildOfflineImages(opts.json ? 'stderr' : 'inherit');
    return { doc: { ok: true, images: (await lazy.images()).OFFLINE_IMAGES }, human: () => undefined };
  }),
);

program.parseAsync(process.argv).catch((err) => fail(err, false));
