#!/usr/bin/env node
// bench/failover/bench.mjs -- write outage and lost acknowledged writes across an unplanned
// failover (primary container killed) and a planned switchover, measured by a client that writes
// numbered rows in a loop. Benchmark only: no test asserts on these numbers. Run it through
// bench/failover/run.sh (sets the env, builds, brings the cluster up and down).
//
//   node bench/failover/bench.mjs [ROUNDS]      # ROUNDS failover rounds + ROUNDS switchover rounds
//
// env: ROUNDS (10), SWITCHOVER_ROUNDS (= ROUNDS), GROUP (g1), SPEC (bench/failover/cluster.benchfo.yaml),
//      WRITE_INTERVAL_MS (10: pause between two inserts), SETTLE_MS (3000: writes before the fault),
//      BENCH_OUT (results dir), CITUSCTL_STATE_DIR (secrets), SKIP_UP=1 / KEEP_UP=1.
//
// Which Citus: with the test double (citus_version() starts with 'Citus test double', no query
// routing) the writer writes DIRECTLY to the group's current primary (table bench_writes, created
// on that primary, streamed to its standby) and re-routes itself on error by asking every member
// of the group which one is out of recovery. With a real Citus image it writes through PgBouncer
// (user app) into the distributed demo table, using ids whose shard lives on the faulted group.
// The real-Citus path could not be run on the machine this was written on (no Citus image).
import { spawn, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import YAML from 'yaml';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const env = process.env;
const ROUNDS = Number(process.argv[2] ?? env.ROUNDS ?? 10);
const SW_ROUNDS = Number(env.SWITCHOVER_ROUNDS ?? ROUNDS);
const GROUP = env.GROUP ?? 'g1';
const SPEC = path.resolve(env.SPEC ?? path.join(HERE, 'cluster.benchfo.yaml'));
const INTERVAL = Number(env.WRITE_INTERVAL_MS ?? 10);
const SETTLE = Number(env.SETTLE_MS ?? 3000);
const STATE = path.resolve(env.CITUSCTL_STATE_DIR ?? path.join(env.HOME ?? '/root', '.local/state/citusctl'));
const OUT = env.BENCH_OUT ?? path.join(STATE, `failover-results-${new Date().toISOString().replace(/[:.]/g, '-')}`);
const CLI = path.join(ROOT, 'dist/client/cli.js');
if (!Number.isInteger(ROUNDS) || ROUNDS < 0 || !Number.isInteger(SW_ROUNDS) || SW_ROUNDS < 0) {
  console.error('usage: bench.mjs [ROUNDS]  (ROUNDS, SWITCHOVER_ROUNDS: integers >= 0)');
  process.exit(2);
}
fs.mkdirSync(OUT, { recursive: true });

const now = () => performance.timeOrigin + performance.now(); // epoch ms, sub-ms resolution, same clock as Date.now()
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const summary = fs.createWriteStream(path.join(OUT, 'summary.txt'));
const log = (line = '') => {
  process.stdout.write(line + '\n');
  summary.write(line + '\n');
};
const loadavg = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join('/');

const spec = YAML.parse(fs.readFileSync(SPEC, 'utf8'));
const groupMembers = spec.members.filter((m) => m.group === GROUP);
const coordinator = spec.members.find((m) => m.group === 'coordinator');
if (groupMembers.length < 2) throw new Error(`group ${GROUP} needs a standby in ${SPEC}`);
const containerOf = (member) => `citusctl-${spec.name}-${member}`;

// ------------------------------------------------------------------ the CLI
const stdoutJunk = [];
/** Runs `node dist/client/cli.js ARGS -c SPEC --json`; returns the parsed JSON, spawn/exit times. */
function cli(args, tag) {
  return new Promise((resolve) => {
    const tSpawn = now();
    const child = spawn(process.execPath, [CLI, ...args, '-c', SPEC, '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      const tExit = now();
      if (tag) {
        fs.writeFileSync(path.join(OUT, `${tag}.json`), out);
        fs.writeFileSync(path.join(OUT, `${tag}.err`), err);
      }
      let doc;
      let junk = 0; // stdout lines before the JSON document (the Temporal SDK core logs to stdout at times)
      try {
        doc = JSON.parse(out);
      } catch {
        const at = out.search(/^\{/m);
        try {
          doc = JSON.parse(out.slice(at));
          junk = out.slice(0, at).split('\n').filter(Boolean).length;
          stdoutJunk.push(`${args[0]}: ${out.slice(0, at).trim().split('\n')[0].replace(/\x1b\[[0-9;]*m/g, '').slice(0, 160)}`);
        } catch {
          doc = { ok: false, error: `no JSON (exit ${code}): ${err.trim().split('\n').slice(-3).join(' | ')}` };
        }
      }
      resolve({ code, doc, tSpawn, tExit, stderr: err, junk });
    });
  });
}

// ------------------------------------------------------------------ PostgreSQL access
const secretsFile = () => path.join(STATE, 'clusters', spec.name, 'secrets.json');
let secrets;
const superuser = (port, extra = {}) => ({ host: '127.0.0.1', port, user: 'postgres', password: secrets.superuserPassword, database: 'postgres', connectionTimeoutMillis: 1000, application_name: 'bench-failover', ...extra });

async function withClient(cfg, fn) {
  const c = new pg.Client(cfg);
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * The client's re-routing: ask every member of the group at once; keep the connection to the one
 * out of recovery (exactly one, or none during a failover). Returns { client, member } or undefined.
 */
async function connectGroupPrimary(extra = {}) {
  const tries = await Promise.all(
    groupMembers.map(async (m) => {
      const c = new pg.Client(superuser(m.port, extra));
      c.on('error', () => undefined);
      try {
        await c.connect();
        const rec = (await c.query('SELECT pg_is_in_recovery() AS r')).rows[0].r;
        return { c, m, primary: rec === false };
      } catch {
        await c.end().catch(() => undefined);
        return undefined;
      }
    }),
  );
  const primaries = tries.filter((t) => t?.primary);
  for (const t of tries) if (t && t !== primaries[0]) await t.c.end().catch(() => undefined);
  if (primaries.length > 1) {
    await primaries[0].c.end().catch(() => undefined);
    throw new Error(`split brain: ${primaries.map((p) => p.m.name).join(', ')} are all out of recovery`);
  }
  return primaries[0] ? { client: primaries[0].c, member: primaries[0].m.name } : undefined;
}

async function groupPrimaryName() {
  const p = await connectGroupPrimary();
  if (!p) return undefined;
  await p.client.end().catch(() => undefined);
  return p.member;
}

// ------------------------------------------------------------------ the two write paths
/** Test double: write directly to the group's primary. */
function directPath() {
  return {
    name: `direct to ${GROUP}'s primary (table bench_writes), re-routing by pg_is_in_recovery() over ${groupMembers.map((m) => `127.0.0.1:${m.port}`).join(', ')}`,
    async prepare() {
      const p = await connectGroupPrimary();
      if (!p) throw new Error(`${GROUP} has no primary`);
      try {
        await p.client.query('CREATE TABLE IF NOT EXISTS bench_writes (id bigint PRIMARY KEY, acked_at timestamptz NOT NULL DEFAULT now())');
        const max = (await p.client.query('SELECT coalesce(max(id), 0)::bigint AS m FROM bench_writes')).rows[0].m;
        return Number(max) + 1;
      } finally {
        await p.client.end().catch(() => undefined);
      }
    },
    async connect() {
      return connectGroupPrimary({ query_timeout: 2000 });
    },
    insert: (c, id) => c.query('INSERT INTO bench_writes (id) VALUES ($1)', [id]),
    nextId: (() => {
      let next = 1;
      const f = () => next++;
      f.reset = (n) => (next = n);
      return f;
    })(),
    async readBack(ids) {
      const p = await connectGroupPrimary();
      if (!p) throw new Error(`${GROUP} has no primary to read back from`);
      try {
        const r = await p.client.query('SELECT id FROM bench_writes WHERE id = ANY($1::bigint[])', [ids]);
        return { from: p.member, present: new Set(r.rows.map((x) => Number(x.id))) };
      } finally {
        await p.client.end().catch(() => undefined);
      }
    },
  };
}

/**
 * Real Citus: write through PgBouncer (user app) into the distributed demo table, ids chosen so
 * their shard lives on the faulted group. UNTESTED on the machine this was written on.
 */
function pgbouncerPath() {
  const table = spec.demo?.table ?? 'events';
  const pgb = () => ({ host: '127.0.0.1', port: spec.pgbouncer?.port ?? 6432, user: 'app', password: secrets.appPassword, database: 'postgres', connectionTimeoutMillis: 1000, application_name: 'bench-failover' });
  let groupId;
  let queue = [];
  let cursor = 1_000_000_000_000; // far above the demo rows
  const BATCH = 20_000;
  async function refill() {
    // Candidate ids whose shard's placement is in the faulted group (groupid survives a failover).
    await withClient(superuser(coordinator.port), async (c) => {
      const r = await c.query(
        `SELECT g.id FROM generate_series($1::bigint, $2::bigint) AS g(id)
          WHERE (SELECT p.groupid FROM pg_dist_placement p WHERE p.shardid = get_shard_id_for_distribution_column($3::regclass, g.id) LIMIT 1) = $4`,
        [cursor, cursor + BATCH - 1, table, groupId],
      );
      queue.push(...r.rows.map((x) => Number(x.id)));
      cursor += BATCH;
    });
  }
  const f = {
    name: `through PgBouncer 127.0.0.1:${spec.pgbouncer?.port ?? 6432} (user app) into ${table}, ids whose shard lives on ${GROUP}`,
    async prepare() {
      groupId = await withClient(superuser(coordinator.port), async (c) => {
        const r = await c.query("SELECT DISTINCT groupid FROM pg_dist_node WHERE nodename = ANY($1) AND noderole = 'primary' AND groupid <> 0", [groupMembers.map((m) => m.name)]);
        if (r.rows.length !== 1) throw new Error(`pg_dist_node: expected one group for ${GROUP}, got ${r.rows.length}`);
        return r.rows[0].groupid;
      });
      const max = await withClient(pgb(), async (c) => Number((await c.query(`SELECT coalesce(max(id), 0)::bigint AS m FROM ${table} WHERE id >= 1000000000000`)).rows[0].m));
      if (max) cursor = max + 1;
      await refill();
      return cursor;
    },
    async connect() {
      const c = new pg.Client({ ...pgb(), query_timeout: 2000 });
      c.on('error', () => undefined);
      try {
        await c.connect();
        return { client: c, member: 'pgbouncer' };
      } catch {
        await c.end().catch(() => undefined);
        return undefined;
      }
    },
    insert: (c, id) => c.query(`INSERT INTO ${table} (id, payload) VALUES ($1, 'bench-failover')`, [id]),
    nextId: Object.assign(() => {
      const id = queue.shift();
      if (queue.length < 2000) void refill().catch(() => undefined); // refill in the background (coordinator up)
      if (id === undefined) throw new Error('ran out of ids on the faulted group');
      return id;
    }, { reset: () => undefined }),
    async readBack(ids) {
      const r = await withClient(pgb(), (c) => c.query(`SELECT id FROM ${table} WHERE id = ANY($1::bigint[])`, [ids]));
      return { from: 'pgbouncer', present: new Set(r.rows.map((x) => Number(x.id))) };
    },
  };
  return f;
}

// ------------------------------------------------------------------ the writer
class Writer {
  constructor(wp) {
    this.wp = wp;
    this.acks = []; // [id, t]
    this.errors = []; // [t, message]
    this.routes = []; // [t, member]
    this.stopped = false;
  }
  start() {
    this.done = this.loop();
  }
  async stop() {
    this.stopped = true;
    await this.done;
  }
  async loop() {
    let conn;
    while (!this.stopped) {
      if (!conn) {
        conn = await this.wp.connect().catch(() => undefined);
        if (!conn) {
          await sleep(20);
          continue;
        }
        this.routes.push([now(), conn.member]);
      }
      const t0 = now();
      let id;
      try {
        id = this.wp.nextId();
        await this.wp.insert(conn.client, id);
        this.acks.push([id, now()]);
      } catch (err) {
        this.errors.push([now(), String(err.message ?? err).slice(0, 200)]);
        void conn.client.end().catch(() => undefined);
        conn = undefined;
        continue;
      }
      const wait = INTERVAL - (now() - t0);
      if (wait > 0) await sleep(wait);
    }
    if (conn) await conn.client.end().catch(() => undefined);
  }
}

// ------------------------------------------------------------------ rounds
async function waitStreaming(timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const p = await connectGroupPrimary();
      if (p) {
        try {
          const r = await p.client.query("SELECT application_name, sync_state FROM pg_stat_replication WHERE state = 'streaming'");
          const sync = (await p.client.query("SELECT current_setting('synchronous_standby_names') AS s")).rows[0].s;
          const want = spec.durability === 'async' ? true : r.rows.some((x) => x.sync_state === 'sync' || x.sync_state === 'quorum');
          if (r.rows.length && want) return { primary: p.member, standbys: r.rows.map((x) => `${x.application_name}/${x.sync_state}`).join(','), sync };
        } finally {
          await p.client.end().catch(() => undefined);
        }
      }
    } catch {
      // retry
    }
    if (Date.now() > deadline) throw new Error(`${GROUP} has no streaming (synchronous) standby after ${timeoutMs} ms`);
    await sleep(250);
  }
}

/** Largest gap between consecutive acks in (from, to]; and the acks around `at`. */
function gaps(acks, at) {
  let lastBefore;
  let firstAfter;
  for (const [, t] of acks) {
    if (t <= at) lastBefore = t;
    else if (firstAfter === undefined) firstAfter = t;
  }
  let maxGap = 0;
  let maxGapStart;
  for (let i = 1; i < acks.length; i++) {
    const g = acks[i][1] - acks[i - 1][1];
    if (g > maxGap) {
      maxGap = g;
      maxGapStart = acks[i - 1][1];
    }
  }
  return { lastBefore, firstAfter, maxGap, maxGapStart };
}

const stepTimes = (doc) => Object.fromEntries((doc.steps ?? []).filter((s) => s.startedAt).map((s) => [s.name, s]));
const r0 = (x) => (x === undefined || x === null || Number.isNaN(x) ? 'n/a' : String(Math.round(x)));

async function lostWrites(wp, acks) {
  if (!acks.length) return { lost: 0, from: '-', missing: [] };
  const ids = acks.map(([id]) => id);
  const { from, present } = await wp.readBack(ids);
  const missing = ids.filter((id) => !present.has(id));
  return { lost: missing.length, from, missing: missing.slice(0, 20) };
}

async function failoverRound(i, wp) {
  const before = await waitStreaming();
  const victim = before.primary;
  const w = new Writer(wp);
  w.start();
  await sleep(SETTLE);
  const tKill0 = now();
  execFileSync('docker', ['kill', containerOf(victim)], { stdio: 'ignore' });
  const tKilled = now();
  const run = await cli(['failover', GROUP], `failover${i}`);
  await sleep(500); // a few acks after the CLI finished (rejoin included)
  await w.stop();
  const res = run.doc.result ?? {};
  const tl = res.timeline ?? {};
  const st = stepTimes(run.doc);
  // The fault, as the client sees it: its first failed write after `docker kill` was issued (the
  // kill command returns before the process is gone, and the writer may stall while it runs).
  const firstErr = w.errors.find(([t]) => t >= tKill0);
  const g = gaps(w.acks, firstErr ? firstErr[0] : tKilled);
  fs.writeFileSync(path.join(OUT, `failover${i}.acks.json`), JSON.stringify({ tKill0, tKilled, errors: w.errors, routes: w.routes, acks: w.acks }));
  const lost = await lostWrites(wp, w.acks);
  const firstRoute = w.routes.find(([t]) => t > tKilled);
  const r = {
    kind: 'failover', round: i, ok: run.doc.ok === true && res.outcome === 'failed-over', error: run.doc.error ?? (res.outcome !== 'failed-over' ? `${res.outcome}: ${res.detail}` : undefined),
    from: victim, to: res.newPrimary, acked: w.acks.length, errors: w.errors.length, lost: lost.lost, missing: lost.missing, readFrom: lost.from,
    outageMs: g.firstAfter !== undefined && g.lastBefore !== undefined ? g.firstAfter - g.lastBefore : undefined,
    maxGapMs: g.maxGap,
    killCmdMs: tKilled - tKill0,
    killToFirstErrorMs: firstErr ? firstErr[0] - tKill0 : undefined,
    validateMs: st.validate ? st.validate.endedAt - st.validate.startedAt : undefined,
    validateToLockMs: st.validate && st.lock ? st.lock.startedAt - st.validate.endedAt : undefined,
    lockMs: st.lock ? st.lock.endedAt - st.lock.startedAt : undefined,
    cliToWorkflowMs: tl.started !== undefined ? tl.started - run.tSpawn : undefined,
    confirmDownMs: st['confirm-down'] ? st['confirm-down'].endedAt - st['confirm-down'].startedAt : undefined,
    fenceMs: tl.fenced - tl.confirmedDown,
    promoteMs: tl.promoted - tl.fenced,
    metadataMs: tl.metadataUpdated - tl.promoted,
    outageWindowMs: res.outageWindowMs,
    promotedToFirstAckMs: g.firstAfter !== undefined && tl.promoted !== undefined ? g.firstAfter - tl.promoted : undefined,
    rerouteAt: firstRoute ? firstRoute[0] - tKilled : undefined,
    rejoinMs: st.rejoin?.endedAt !== undefined ? st.rejoin.endedAt - st.rejoin.startedAt : undefined,
    cliTotalMs: run.tExit - run.tSpawn,
    load: loadavg(),
    firstErrors: w.errors.slice(0, 3).map(([t, m]) => `${r0(t - tKilled)}ms ${m}`),
  };
  return r;
}

async function switchoverRound(i, wp) {
  const before = await waitStreaming();
  const w = new Writer(wp);
  w.start();
  await sleep(SETTLE);
  const run = await cli(['switchover', GROUP], `switchover${i}`);
  await sleep(500);
  await w.stop();
  const res = run.doc.result ?? {};
  const st = stepTimes(run.doc);
  const inRun = w.acks.filter(([, t]) => t >= run.tSpawn - 1000);
  const g = gaps(inRun, run.tSpawn);
  fs.writeFileSync(path.join(OUT, `switchover${i}.acks.json`), JSON.stringify({ tSpawn: run.tSpawn, errors: w.errors, routes: w.routes, acks: w.acks }));
  const lost = await lostWrites(wp, w.acks);
  const sw = st.switch;
  return {
    kind: 'switchover', round: i, ok: run.doc.ok === true, error: run.doc.error,
    from: before.primary, to: res.newPrimary, acked: w.acks.length, errors: w.errors.length, lost: lost.lost, missing: lost.missing, readFrom: lost.from,
    pauseMs: res.pauseMs,
    maxGapMs: g.maxGap,
    gapInSwitchStep: sw && g.maxGapStart !== undefined ? g.maxGapStart >= sw.startedAt - 50 && g.maxGapStart <= sw.endedAt + 50 : undefined,
    cliToWorkflowMs: st.validate ? st.validate.startedAt - run.tSpawn : undefined,
    chooseMs: st.choose ? st.choose.endedAt - st.choose.startedAt : undefined,
    switchMs: sw ? sw.endedAt - sw.startedAt : undefined,
    switchEndToFirstAckMs: sw && g.maxGapStart !== undefined ? g.maxGapStart + g.maxGap - sw.endedAt : undefined,
    rejoinMs: st.rejoin?.endedAt !== undefined ? st.rejoin.endedAt - st.rejoin.startedAt : undefined,
    cliTotalMs: run.tExit - run.tSpawn,
    load: loadavg(),
    firstErrors: w.errors.slice(0, 3).map(([t, m]) => `${r0(t - run.tSpawn)}ms(after spawn) ${m}`),
  };
}

// ------------------------------------------------------------------ statistics and report
const median = (xs) => {
  const a = xs.filter((x) => typeof x === 'number' && !Number.isNaN(x)).sort((p, q) => p - q);
  if (!a.length) return undefined;
  return a.length % 2 ? a[(a.length - 1) / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
};
const max = (xs) => {
  const a = xs.filter((x) => typeof x === 'number' && !Number.isNaN(x));
  return a.length ? Math.max(...a) : undefined;
};
const sum = (xs) => xs.reduce((p, q) => p + (q ?? 0), 0);
const statLine = (label, xs, target) => `  ${label.padEnd(44)} median ${r0(median(xs)).padStart(6)}  max ${r0(max(xs)).padStart(6)} ms${target ? `   ${target}` : ''}`;

async function main() {
  const tStart = Date.now();
  log(`bench/failover: ${ROUNDS} failover + ${SW_ROUNDS} switchover rounds of group ${GROUP}, spec ${path.relative(ROOT, SPEC)}, results in ${OUT}`);
  log(`machine: ${fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length ?? '?'} CPUs, loadavg ${loadavg()} at start (shared machine: other test runs may be loading it)`);
  log(`images: postgres=${env.CITUSCTL_IMAGE_POSTGRES ?? '(spec/default)'} pgbouncer=${env.CITUSCTL_IMAGE_PGBOUNCER ?? '(spec/default)'} etcd=${env.CITUSCTL_IMAGE_ETCD ?? '(spec/default)'}`);

  if (env.SKIP_UP !== '1') {
    log('citusctl up (not timed) ...');
    const up = await cli(['up'], 'up');
    if (!up.doc.ok) throw new Error(`citusctl up failed: ${up.doc.error}`);
    log(`  up in ${r0(up.tExit - up.tSpawn)} ms`);
  }
  secrets = JSON.parse(fs.readFileSync(secretsFile(), 'utf8'));
  const citus = await withClient(superuser(coordinator.port), async (c) => (await c.query('SELECT citus_version() AS v')).rows[0].v);
  const isDouble = citus.startsWith('Citus test double');
  const wp = isDouble ? directPath() : pgbouncerPath();
  log(`citus_version(): ${citus}`);
  if (isDouble) log(`NOTE: Citus TEST DOUBLE (no query routing): the writer writes ${wp.name}. Citus/PgBouncer routing is not part of these numbers.`);
  else log(`writer: ${wp.name} (this path was untested on the machine the bench was written on)`);
  wp.nextId.reset(await wp.prepare());
  log(`writer: one connection, one INSERT per ${INTERVAL} ms (+ its latency), ${SETTLE} ms of writes before each fault/switchover; a failed write counts as not acknowledged and the next try uses a new id`);

  // CLI floor: node start + loading every module the CLI imports (no Temporal, no Docker).
  const floor = [];
  const bare = [];
  for (let k = 0; k < 3; k++) {
    const r = await cli(['--help']);
    floor.push(r.tExit - r.tSpawn);
    const t0 = now();
    execFileSync(process.execPath, ['-e', '0']);
    bare.push(now() - t0);
  }

  const results = [];
  const save = () => fs.writeFileSync(path.join(OUT, 'rounds.json'), JSON.stringify(results, null, 2));
  const show = (r) => {
    const head = `${r.kind.padEnd(10)} ${String(r.round).padStart(2)} ${String(r.from).padEnd(5)}->${String(r.to ?? '?').padEnd(5)}`;
    if (r.kind === 'failover')
      log(`${head} outage ${r0(r.outageMs).padStart(6)}  lost ${String(r.lost).padStart(3)}/${String(r.acked).padEnd(5)}  cli->wf ${r0(r.cliToWorkflowMs).padStart(5)}  confirm ${r0(r.confirmDownMs).padStart(5)}  fence ${r0(r.fenceMs).padStart(5)}  promote ${r0(r.promoteMs).padStart(5)}  meta ${r0(r.metadataMs).padStart(5)}  wf-window ${r0(r.outageWindowMs).padStart(5)}  promoted->ack ${r0(r.promotedToFirstAckMs).padStart(5)}  rejoin ${r0(r.rejoinMs).padStart(6)}  cli-total ${r0(r.cliTotalMs).padStart(6)}  load ${r.load}${r.ok ? '' : `  FAILED: ${r.error}`}`);
    else
      log(`${head} gap    ${r0(r.maxGapMs).padStart(6)}  lost ${String(r.lost).padStart(3)}/${String(r.acked).padEnd(5)}  cli->wf ${r0(r.cliToWorkflowMs).padStart(5)}  choose ${r0(r.chooseMs).padStart(5)}  switch ${r0(r.switchMs).padStart(5)}  pauseMs ${r0(r.pauseMs).padStart(5)}  switch-end->ack ${r0(r.switchEndToFirstAckMs).padStart(5)}  rejoin ${r0(r.rejoinMs).padStart(6)}  cli-total ${r0(r.cliTotalMs).padStart(6)}  load ${r.load}${r.ok ? '' : `  FAILED: ${r.error}`}`);
    if (r.lost) log(`    missing acknowledged ids (first 20): ${r.missing.join(', ')} (read back from ${r.readFrom})`);
  };

  log('');
  log('per round (ms): outage = first ack after the writer\'s first error following `docker kill` - last ack before it; confirm = confirm-down step; gap = longest time between two acks during the switchover');
  let failed = false;
  for (let i = 1; i <= ROUNDS && !failed; i++) {
    const r = await failoverRound(i, wp);
    results.push(r);
    save();
    show(r);
    if (!r.ok) failed = true;
  }
  for (let i = 1; i <= SW_ROUNDS && !failed; i++) {
    const r = await switchoverRound(i, wp);
    results.push(r);
    save();
    show(r);
    if (!r.ok) failed = true;
  }
  if (failed) log('a round failed: the remaining rounds were not run (see the round\'s .json/.err in the results dir)');

  const fo = results.filter((r) => r.kind === 'failover' && r.ok);
  const so = results.filter((r) => r.kind === 'switchover' && r.ok);
  const pick = (rs, k) => rs.map((r) => r[k]);
  log('');
  log(`summary (${fo.length} failover, ${so.length} switchover rounds completed; durability ${spec.durability ?? 'synchronous'}; ${isDouble ? 'Citus TEST DOUBLE, direct writes' : 'real Citus, through PgBouncer'}; measured under load: loadavg ${loadavg()} at the end)`);
  if (fo.length) {
    const med = median(pick(fo, 'outageMs'));
    log('unplanned failover (docker kill of the primary, then `citusctl failover` at once):');
    log(statLine('(a) write outage, client-observed', pick(fo, 'outageMs'), `target <= 5000: ${med !== undefined && max(pick(fo, 'outageMs')) <= 5000 ? 'met (max)' : med <= 5000 ? 'met by the median only' : 'NOT met'}`));
    log(`  (b) acknowledged writes lost                 total ${sum(pick(fo, 'lost'))} of ${sum(pick(fo, 'acked'))} acked   target 0: ${sum(pick(fo, 'lost')) === 0 ? 'met' : 'NOT met'}`);
    log('  where the outage goes:');
    log(statLine('    docker kill command (runs in parallel)', pick(fo, 'killCmdMs')));
    log(statLine('    kill issued -> writer\'s first error', pick(fo, 'killToFirstErrorMs')));
    log(statLine('    CLI spawn -> workflow started', pick(fo, 'cliToWorkflowMs')));
    log(`      for comparison, measured apart: bare \`node -e 0\` ${r0(median(bare))} ms; \`cli.js --help\` (node + loading every CLI module) ${r0(median(floor))} ms`);
    log(statLine('    workflow: validate step (activity)', pick(fo, 'validateMs')));
    log(statLine('    workflow: readLivePrimaries (etcd)', pick(fo, 'validateToLockMs')));
    log(statLine('    workflow: lock step (etcd)', pick(fo, 'lockMs')));
    log(statLine('    workflow: confirm-down step (3 probes)', pick(fo, 'confirmDownMs')));
    log(statLine('    workflow: -> fenced', pick(fo, 'fenceMs')));
    log(statLine('    workflow: -> promoted', pick(fo, 'promoteMs')));
    log(statLine('    workflow: -> Citus metadata updated', pick(fo, 'metadataMs')));
    log(statLine('    workflow outageWindowMs (started->metadata)', pick(fo, 'outageWindowMs')));
    log(statLine('    promoted -> first ack (client re-route)', pick(fo, 'promotedToFirstAckMs')));
    log(statLine('    after: rejoin of the old primary', pick(fo, 'rejoinMs')));
    log(statLine('    CLI total (spawn -> exit)', pick(fo, 'cliTotalMs')));
  }
  if (so.length) {
    log('planned switchover (`citusctl switchover`):');
    log(statLine('(c) pauseMs (workflow result)', pick(so, 'pauseMs'), `target <= 1000: ${max(pick(so, 'pauseMs')) <= 1000 ? 'met (max)' : median(pick(so, 'pauseMs')) <= 1000 ? 'met by the median only' : 'NOT met'}`));
    log(statLine('    client-observed longest write gap', pick(so, 'maxGapMs'), isDouble ? '(direct writes: not held by the Citus pause)' : ''));
    log(`    acknowledged writes lost                   total ${sum(pick(so, 'lost'))} of ${sum(pick(so, 'acked'))} acked   target 0: ${sum(pick(so, 'lost')) === 0 ? 'met' : 'NOT met'}`);
    log(statLine('    CLI spawn -> workflow started', pick(so, 'cliToWorkflowMs')));
    log(statLine('    workflow: choose step', pick(so, 'chooseMs')));
    log(statLine('    workflow: switch step (critical section)', pick(so, 'switchMs')));
    log(statLine('    switch step end -> first ack after the gap', pick(so, 'switchEndToFirstAckMs')));
    log(statLine('    after: rejoin of the old primary', pick(so, 'rejoinMs')));
    log(statLine('    CLI total (spawn -> exit)', pick(so, 'cliTotalMs')));
  }
  if (stdoutJunk.length) {
    log('');
    log(`NOTE: ${stdoutJunk.length} CLI run(s) printed non-JSON lines on stdout before the --json document (parsed past them), e.g.:`);
    for (const j of stdoutJunk.slice(0, 3)) log(`  ${j}`);
  }
  log('');
  log(`reproduce: (cd ${ROOT} && bench/failover/run.sh ${ROUNDS})${SW_ROUNDS !== ROUNDS ? `  with SWITCHOVER_ROUNDS=${SW_ROUNDS}` : ''}`);
  log(`  env: CITUSCTL_STATE_DIR=${STATE} CITUSCTL_TEMPORAL_PORT=${env.CITUSCTL_TEMPORAL_PORT ?? ''} TEMPORAL_CLI_PATH=${env.TEMPORAL_CLI_PATH ?? ''}`);
  log(`       CITUSCTL_IMAGE_POSTGRES=${env.CITUSCTL_IMAGE_POSTGRES ?? ''} CITUSCTL_IMAGE_PGBOUNCER=${env.CITUSCTL_IMAGE_PGBOUNCER ?? ''} CITUSCTL_IMAGE_ETCD=${env.CITUSCTL_IMAGE_ETCD ?? ''} WRITE_INTERVAL_MS=${INTERVAL} SETTLE_MS=${SETTLE}`);
  log(`  fault: docker kill ${containerOf('<primary of ' + GROUP + '>')}; then node dist/client/cli.js failover ${GROUP} -c ${path.relative(ROOT, SPEC)} --json`);
  log(`  planned: node dist/client/cli.js switchover ${GROUP} -c ${path.relative(ROOT, SPEC)} --json`);
  log(`  total bench time ${((Date.now() - tStart) / 1000).toFixed(0)} s; per-round data: ${path.join(OUT, 'rounds.json')}`);
  return failed || fo.some((r) => r.lost) || so.some((r) => r.lost) ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  log(`bench/failover: ${err.stack ?? err}`);
} finally {
  if (env.KEEP_UP !== '1') {
    const d = await cli(['down', '--volumes'], 'down');
    log(d.doc.ok ? `cluster ${spec.name} removed (down --volumes)` : `down failed: ${d.doc.error}`);
  }
  summary.end();
}
process.exitCode = code;
