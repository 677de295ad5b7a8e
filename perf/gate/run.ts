/**
 * The P0 performance gate, runnable where k6 is not: the server under test as its own process on
 * an embedded PostgreSQL (fsync on), ghz for the unary scenarios, the Go load driver
 * (perf/driver) for worker, signal and stream scenarios, and — in the same run, on the same
 * cluster and at the same concurrency — the references: pgbench inserts and a bare grpc-js echo
 * server under ghz.
 *
 *   npm run perf:gate              # full: the committed report, perf/reports/<date>-p0.{md,json}
 *   npm run perf:gate -- --smoke   # CI: short runs, global limits only, perf/out/<date>-p0-smoke.*
 *
 * The full mode runs every scenario and reference in three rounds and reports each one's median
 * round (perf/gate/rounds.ts); `--rounds=N` overrides, `--only=a,b` picks scenarios.
 *
 * Exit code 1 when a check fails (any error or lost job; in full mode also a threshold breach).
 */
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { JobState } from '../../gen/ts/aetheris/runtime/v1/job.js';
import { CreateJobRequest } from '../../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { connect, unary } from '../../src/client/connect.js';
import { startEmbeddedPostgres, urlWithDatabase } from '../../src/store/embedded-postgres.js';
import { migrateUp } from '../../src/store/migrator.js';
import { projectRoot } from '../../src/store/project-root.js';
import { cpuMark, measureBackgroundBusyShare, parentPid, processTreeCpuMs } from '../lib/cpu.js';
import { onTeardown, progress, sleep, teardown } from '../lib/lifecycle.js';
import { machineInfo, revision } from '../lib/machine.js';
import { connectPg, createKey, TENANT } from '../lib/stack.js';
import { loadScenarios, loadThresholds, type Mode, type ScenarioDefinition } from './config.js';
import { runGhz } from './ghz.js';
import { prepareReference, runPgbench } from './pgbench.js';
import { freePort, runToEnd, startProcess } from './processes.js';
import { renderReport } from './report.js';
import { medianRounds } from './rounds.js';
import { buildDriver, ensureGhz, findPgbench } from './tools.js';
import { evaluate, type Measurement, type ScenarioResult, type StatementStats, type WritesPerOp } from './verdict.js';

const root = projectRoot();
const mode: Mode = process.argv.includes('--smoke') ? 'smoke' : 'full';
const only = process.argv
  .find((arg) => arg.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const scenarios = loadScenarios();
const thresholds = loadThresholds();
const timing = scenarios.modes[mode];
/** Rounds of every scenario (`--rounds=N` overrides the mode's); each one's median round is reported. */
const rounds = Math.max(
  1,
  Number(process.argv.find((arg) => arg.startsWith('--rounds='))?.slice('--rounds='.length) ?? timing.rounds ?? 1),
);
/** Extra node flags for the server process, e.g. `--server-node-options=--cpu-prof --cpu-prof-dir=perf/out`. */
const serverNodeOptions =
  process.argv
    .find((arg) => arg.startsWith('--server-node-options='))
    ?.slice('--server-node-options='.length)
    .split(' ')
    .filter(Boolean) ?? [];
/** The node flags `npm start` gives the server: the gate measures the server as users start it. */
const startFlags = nodeFlagsOfStartScript();
/**
 * Server and pgbench reach PostgreSQL over TCP loopback instead of the cluster's Unix socket,
 * which the embedded default uses (and so the gate by default).
 */
const overTcp = process.argv.includes('--tcp');
/**
 * pg_stat_statements tracks the statements run inside our functions too (`track=all`), for
 * profiling; by default only the statements the server sends (`top`).
 */
const nestedStatements = process.argv.includes('--nested-statements');
const wanted = (name: string): boolean => !only || only.includes(name);
const definition = (name: string): ScenarioDefinition => {
  const found = scenarios.scenarios[name];
  if (!found) throw new Error(`scenario ${name} missing from scenarios.json`);
  return found;
};

const json = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64');

async function main(): Promise<number> {
  const startedAt = new Date();
  const backgroundBusyShare = await measureBackgroundBusyShare();
  const ghz = ensureGhz();
  let driver: string | undefined;
  const pgbench = findPgbench();

  // The stack: PostgreSQL (fsync on) in a fresh temp dir, the server as its own process.
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'aetheris-gate-'));
  await fs.chmod(tmp, 0o755); // as root, postgres runs unprivileged and must traverse it
  onTeardown('temp dir', () => fs.rm(tmp, { recursive: true, force: true }));
  progress(`starting PostgreSQL in ${tmp}`);
  const cluster = await startEmbeddedPostgres({
    dataDir: path.join(tmp, 'pg'),
    settings: {
      max_connections: '300',
      // Where PostgreSQL's time goes, per scenario, in the report (the profiling step).
      shared_preload_libraries: 'pg_stat_statements',
      'pg_stat_statements.track': nestedStatements ? 'all' : 'top',
      'pg_stat_statements.track_planning': nestedStatements ? 'on' : 'off',
    },
  });
  onTeardown('PostgreSQL', async () => {
    await cluster.stop();
    if (!cluster.dataDir.startsWith(tmp)) await fs.rm(cluster.dataDir, { recursive: true, force: true });
  });
  const adminDb = await connectPg(cluster.connectionString);
  await adminDb.query('create database aetheris_gate');
  await adminDb.query('create database gate_reference');
  // The server and pgbench connect alike: over the socket as `aetheris serve` does, or over TCP.
  if (!overTcp && !cluster.socketDir)
    throw new Error(`no Unix socket for ${cluster.dataDir} (path too long); use --tcp`);
  const clusterUrl = (database: string): string =>
    urlWithDatabase(overTcp ? cluster.tcpConnectionString : cluster.connectionString, database);
  const databaseUrl = clusterUrl('aetheris_gate');
  const referenceUrl = clusterUrl('gate_reference');
  await migrateUp(databaseUrl);
  await (await connectPg(databaseUrl)).query('create extension if not exists pg_stat_statements');
  const referenceDb = await connectPg(referenceUrl);
  await prepareReference(referenceDb);
  const db = await connectPg(databaseUrl);
  /**
   * Vacuums both databases and checkpoints before each measured window, so that no scenario pays
   * for the garbage of the one before (autovacuum of the ~2 million events append_100 leaves ran
   * inside read_list: 37 KiB of WAL per read). pgbench vacuums before its runs for the same reason.
   */
  const settle = async (): Promise<void> => {
    const started = performance.now();
    await db.query('vacuum (analyze)');
    await referenceDb.query('vacuum (analyze)');
    await db.query('checkpoint');
    settleSeconds += (performance.now() - started) / 1000;
  };
  let settleSeconds = 0;
  const postgres = (await db.query<{ version: string }>('select version()')).rows[0]?.version ?? 'unknown';
  const settings = Object.fromEntries(
    (
      await db.query<{ name: string; setting: string }>(
        `select name, setting from pg_settings where name in
           ('fsync', 'synchronous_commit', 'wal_sync_method', 'shared_buffers', 'max_connections') order by name`,
      )
    ).rows.map((row) => [row.name, row.setting]),
  );
  if (settings.fsync !== 'on') throw new Error('fsync is off; the gate measures durable commits');
  const backendPid = (await db.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
  const postmasterPid = backendPid === undefined ? undefined : await parentPid(backendPid);
  const adminKey = await createKey(databaseUrl, TENANT, 'admin');
  const workerKey = await createKey(databaseUrl, TENANT, 'worker');

  // The server runs as `npm start` runs it, its Prometheus endpoint included (recording metrics
  // costs the server a few percent per call; the gate measures what users run).
  const metricsPort = await freePort();
  const serverEnv = { AETHERIS_LOG_LEVEL: 'warn', AETHERIS_METRICS_PORT: String(metricsPort) };
  const env = { ...process.env, ...serverEnv };
  const server = await startProcess(
    'server',
    process.execPath,
    [
      ...startFlags,
      ...serverNodeOptions,
      path.join(root, 'bin', 'aetheris.js'),
      'serve',
      '--database-url',
      databaseUrl,
      '--port',
      '0',
      '--data-dir',
      tmp,
    ],
    env,
    /aetheris listening on (\S+)/,
  );
  const address = (server.ready[1] ?? '').replace(/^0\.0\.0\.0|^\[::\]/, '127.0.0.1');
  const echo = await startProcess(
    'echo server',
    process.execPath,
    [path.join(root, 'dist-perf', 'perf', 'gate', 'echo-server.js')],
    env,
    /echo listening on (\S+)/,
  );
  const echoAddress = echo.ready[1] ?? '';
  /**
   * Runs `measure` and adds the CPU the server process (the echo server for the echo reference)
   * and PostgreSQL spent per operation, and the statements that took PostgreSQL's time
   * (pg_stat_statements, reset before the run).
   */
  const withCpu = async (
    measure: () => Promise<Measurement>,
    serverPid: number | undefined = server.child.pid,
  ): Promise<Measurement> => {
    await settle();
    await db.query('select pg_stat_statements_reset()');
    const writesBefore = await writeCounters(db);
    const before = [await processTreeCpuMs(serverPid), await processTreeCpuMs(postmasterPid)];
    const machineBefore = cpuMark().busyMs;
    const result = await measure();
    const machineMs = cpuMark().busyMs - machineBefore;
    const after = [await processTreeCpuMs(serverPid), await processTreeCpuMs(postmasterPid)];
    const spent = (i: number): number => (after[i] ?? 0) - (before[i] ?? 0);
    const perOp = (ms: number): number => Math.round((ms / Math.max(1, result.ops)) * 1000) / 1000;
    const per = (i: number): number => perOp(spent(i));
    const writes = writesPerOp(writesBefore, await writeCounters(db), result.ops);
    return {
      ...result,
      // The rest is what the server and PostgreSQL did not get of the cores: mostly the load generator.
      cpuMsPerOp: { server: per(0), postgres: per(1), rest: perOp(Math.max(0, machineMs - spent(0) - spent(1))) },
      topStatements: await topStatements(db),
      writesPerOp: writes,
    };
  };
  progress(`server ${address}, echo ${echoAddress}, ${postgres.split(' ').slice(0, 2).join(' ')}, mode ${mode}`);

  // Jobs the unary scenarios append to and read (on a queue no worker serves).
  const client = connect({ address, apiKey: adminKey });
  onTeardown('client', () => client.close());
  const jobIds: string[] = [];
  for (let i = 0; i < 64; i++) {
    const { job } = await unary(
      client.runtime,
      client.runtime.createJob,
      CreateJobRequest.fromPartial({ jobType: 'gate', queue: 'gate-idle', input: Buffer.from('{}') }),
      client.metadata(),
    );
    if (!job || job.state !== JobState.JOB_STATE_PENDING) throw new Error('could not create the gate jobs');
    jobIds.push(job.id);
  }

  const bearer = `Bearer ${adminKey}`;
  const runtimeProto = { protoset: path.join(root, 'gen', 'descriptor.binpb') };

  const ghzRun = async (name: string, call: string, data: unknown[], concurrency: number, eventsPerCall = 1) => {
    const base = { ghz, name, address, ...runtimeProto, call, data, authorization: bearer, concurrency };
    const options = { ...base, connections: Math.min(4, concurrency), eventsPerCall };
    await runGhz({ ...options, seconds: timing.warmupSeconds });
    return withCpu(() => runGhz({ ...options, seconds: timing.durationSeconds }));
  };
  const pgbenchRun = async (name: string) => {
    const reference = scenarios.references[name];
    if (!reference) throw new Error(`reference ${name} missing`);
    const options = { pgbench, url: referenceUrl, name, rows: reference.rowsPerTransaction ?? 1 };
    await runPgbench({ ...options, concurrency: reference.concurrency, seconds: timing.warmupSeconds });
    return withCpu(() =>
      runPgbench({ ...options, concurrency: reference.concurrency, seconds: timing.durationSeconds }),
    );
  };
  const driverRun = async (name: string): Promise<Measurement> => {
    driver ??= buildDriver();
    const out = await runToEnd(driver ?? '', [
      '-scenario',
      name,
      '-address',
      address,
      '-api-key',
      adminKey,
      '-worker-key',
      workerKey,
      '-config',
      path.join(root, 'perf', 'gate', 'scenarios.json'),
      '-mode',
      mode,
      '-run-id',
      `${Date.now().toString(36)}`,
    ]);
    const parsed = JSON.parse(out) as Measurement & { scenario: string };
    return { ...parsed, name };
  };
  const withReference = (result: Measurement, reference: Measurement, unit: 'events/s' | 'calls/s'): ScenarioResult => {
    const mine = unit === 'events/s' ? result.eventsPerSecond : result.opsPerSecond;
    const theirs = unit === 'events/s' ? reference.eventsPerSecond : reference.opsPerSecond;
    return {
      ...result,
      reference: { name: reference.name, rate: theirs, unit },
      ratioToReference: Math.round((mine / theirs) * 1000) / 1000,
    };
  };

  /** One round: every wanted scenario after its reference, in a fixed order. */
  const measureRound = async (round: number): Promise<{ results: ScenarioResult[]; references: Measurement[] }> => {
    const results: ScenarioResult[] = [];
    const references: Measurement[] = [];
    const step = (what: string): void => progress(rounds > 1 ? `round ${round} of ${rounds}: ${what}` : what);
    // Appends, each right after its pgbench reference. The subscription is measured under a second
    // append_1 load, so append_1's own rate is measured as pgbench's is: with nothing else running.
    for (const name of ['append_1', 'append_100']) {
      if (!wanted(name)) continue;
      const scenario = definition(name);
      step(`${scenario.reference}, then ${name}`);
      const reference = await pgbenchRun(scenario.reference ?? '');
      references.push(reference);
      const perCall = scenario.eventsPerCall ?? 1;
      const data = jobIds.map((jobId) => ({
        jobId,
        events: Array.from({ length: perCall }, (_, i) => ({ type: 'gate.step', payload: json({ step: i }) })),
      }));
      const concurrency = scenario.concurrency ?? 64;
      const base = { ghz, name, address, ...runtimeProto, data, authorization: bearer, concurrency };
      const options = {
        ...base,
        call: 'aetheris.runtime.v1.RuntimeService.AppendEvents',
        connections: 4,
        eventsPerCall: perCall,
      };
      /** Warm-up and measured window; every acknowledged append must be in the log. */
      const appendLoad = async (measure: (run: () => Promise<Measurement>) => Promise<Measurement>) => {
        const eventsBefore = await countEvents(db);
        const warm = await runGhz({ ...options, seconds: timing.warmupSeconds });
        const measured = await measure(() => runGhz({ ...options, seconds: timing.durationSeconds }));
        const stored = (await countEvents(db)) - eventsBefore;
        const acknowledged = (warm.ops + measured.ops) * perCall;
        return { measured, lost: Math.max(0, acknowledged - stored), acknowledged, stored };
      };
      const own = await appendLoad(withCpu);
      results.push({
        ...withReference(own.measured, reference, 'events/s'),
        lost: own.lost,
        notes: [own.measured.notes, `${own.acknowledged} events acknowledged, ${own.stored} stored`]
          .filter(Boolean)
          .join('; '),
      });
      if (name !== 'append_1' || !wanted('subscribe')) continue;
      step('subscribe, under a second append_1 load');
      const subscription = driverRun('subscribe');
      await sleep(500);
      const load = await appendLoad((run) => run());
      const subscribed = await subscription;
      results.push({
        ...subscribed,
        lost: subscribed.lost + load.lost,
        notes: [
          subscribed.notes,
          `under append_1 at ${Math.round(load.measured.opsPerSecond)} appends/s ` +
            `(${load.acknowledged} events acknowledged, ${load.stored} stored)`,
        ]
          .filter(Boolean)
          .join('; '),
      });
    }

    // Reads against the transport reference.
    if (wanted('read_get') || wanted('read_list')) {
      step('echo reference, then read_get and read_list');
      const echoRun = async (concurrency: number) => {
        const options = {
          ghz,
          name: 'echo',
          address: echoAddress,
          protoFile: 'echo.proto',
          importPath: path.join(root, 'perf', 'gate'),
          call: 'aetheris.perf.Echo.Echo',
          data: [{ payload: json({ jobId: jobIds[0] }) }],
          authorization: bearer,
          concurrency,
          connections: Math.min(4, concurrency),
          eventsPerCall: 1,
        };
        await runGhz({ ...options, seconds: timing.warmupSeconds });
        // The echo server's own CPU per call is the floor of any unary call's cost in the server.
        return withCpu(() => runGhz({ ...options, seconds: timing.durationSeconds }), echo.child.pid);
      };
      const echoReference = await echoRun(scenarios.references.echo?.concurrency ?? 32);
      references.push(echoReference);
      if (wanted('read_get')) {
        const scenario = definition('read_get');
        const measured = await ghzRun(
          'read_get',
          'aetheris.runtime.v1.RuntimeService.GetJob',
          jobIds.slice(0, scenario.jobs ?? 64).map((jobId) => ({ jobId })),
          scenario.concurrency ?? 32,
        );
        results.push(withReference(measured, echoReference, 'calls/s'));
      }
      if (wanted('read_list')) {
        const scenario = definition('read_list');
        const measured = await ghzRun(
          'read_list',
          'aetheris.runtime.v1.RuntimeService.ListJobs',
          [{ pageSize: scenario.pageSize ?? 20 }],
          scenario.concurrency ?? 32,
        );
        results.push(withReference(measured, echoReference, 'calls/s'));
      }
    }

    // Worker, signal and stream scenarios on the Go driver.
    for (const name of ['job_e2e', 'signal_resume', 'replay']) {
      if (!wanted(name)) continue;
      step(name);
      results.push(await withCpu(() => driverRun(name)));
    }
    return { results, references };
  };
  const measured = [];
  for (let round = 1; round <= rounds; round++) measured.push(await measureRound(round));
  // The median round of each scenario and reference; errors and lost work of every round.
  const results = medianRounds(
    measured.map((round) => round.results),
    thresholds,
  );
  const references = medianRounds(
    measured.map((round) => round.references),
    thresholds,
  );

  // The endpoint was on throughout: it answers with what the run recorded.
  const scrape = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  if (!scrape.ok || !(await scrape.text()).includes('aetheris_rpc_server_duration_seconds'))
    throw new Error(`the server's Prometheus endpoint did not answer (${scrape.status})`);
  const checks = evaluate(results, thresholds, mode);
  const report = {
    gate: 'P0',
    mode,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    timing: { ...timing, rounds },
    machine: machineInfo(postgres, settings, backgroundBusyShare),
    revision: revision(),
    postgresTransport: overTcp ? 'TCP loopback' : 'its Unix socket',
    settleSeconds: Math.round(settleSeconds * 10) / 10,
    serverCommand: [
      'AETHERIS_LOG_LEVEL=warn',
      'AETHERIS_METRICS_PORT=<free port>',
      'node',
      ...startFlags,
      ...serverNodeOptions,
      'bin/aetheris.js',
      'serve',
    ].join(' '),
    results,
    references,
    checks,
    pass: checks.every((check) => check.pass),
  };
  await teardown();
  // Only a complete full run is a report of record; partial (--only) and smoke runs go to perf/out.
  const ofRecord = mode === 'full' && !only;
  const dir = ofRecord ? path.join(root, 'perf', 'reports') : path.join(root, 'perf', 'out');
  await fs.mkdir(dir, { recursive: true });
  const suffix = mode === 'smoke' ? '-smoke' : ofRecord ? '' : '-partial';
  const base = path.join(dir, `${report.startedAt.slice(0, 10)}-p0${suffix}`);
  const markdown = renderReport(report);
  await fs.writeFile(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  await fs.writeFile(`${base}.md`, markdown);
  process.stdout.write(`${markdown}\nwrote ${path.relative(process.cwd(), base)}.{md,json}\n`);
  return report.pass ? 0 : 1;
}

/**
 * The statements with the most time since the last reset (top 6, text shortened). With
 * `--nested-statements`: the top 30, statements inside functions too, planning time included.
 */
async function topStatements(db: pg.Client): Promise<StatementStats[]> {
  const rows = await db.query<{ query: string; calls: string; total_ms: number; mean_ms: number }>(
    `select regexp_replace(query, '\\s+', ' ', 'g') as query, calls::text,
            total_exec_time + total_plan_time as total_ms,
            (total_exec_time + total_plan_time) / greatest(calls, 1) as mean_ms
       from pg_stat_statements
      where query not ilike '%pg_stat_statements%'
      order by total_exec_time + total_plan_time desc limit $1`,
    [nestedStatements ? 30 : 6],
  );
  return rows.rows.map((row) => ({
    query: row.query.length > 140 ? `${row.query.slice(0, 137)}...` : row.query,
    calls: Number(row.calls),
    totalMs: Math.round(row.total_ms),
    meanMs: Math.round(row.mean_ms * 1000) / 1000,
  }));
}

/** `node --flag … bin/aetheris.js serve` in package.json's start script → its node flags. */
function nodeFlagsOfStartScript(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  const words = (pkg.scripts?.start ?? '').split(/\s+/);
  const bin = words.indexOf('bin/aetheris.js');
  if (words[0] !== 'node' || bin < 0)
    throw new Error('package.json start script is not `node [flags] bin/aetheris.js …`');
  return words.slice(1, bin);
}

interface WriteCounters {
  walBytes: number;
  tables: Map<string, [number, number, number, number]>;
}

/**
 * WAL written so far and the row changes of Aetheris' tables (cumulative statistics; backends
 * flush theirs within a second, so a run of several seconds is counted closely enough).
 */
async function writeCounters(db: pg.Client): Promise<WriteCounters> {
  const wal = await db.query<{ bytes: string }>('select wal_bytes::text as bytes from pg_stat_wal');
  const rows = await db.query<{ relname: string; ins: string; upd: string; hot: string; del: string }>(
    `select relname, n_tup_ins::text as ins, n_tup_upd::text as upd, n_tup_hot_upd::text as hot,
            n_tup_del::text as del
       from pg_stat_user_tables where schemaname = 'aetheris'`,
  );
  return {
    walBytes: Number(wal.rows[0]?.bytes ?? 0),
    tables: new Map(
      rows.rows.map((row) => [row.relname, [Number(row.ins), Number(row.upd), Number(row.hot), Number(row.del)]]),
    ),
  };
}

function writesPerOp(before: WriteCounters, after: WriteCounters, ops: number): WritesPerOp {
  const per = (value: number): number => Math.round((value / Math.max(1, ops)) * 100) / 100;
  const tables = [...after.tables].flatMap(([table, counts]) => {
    const [ins, upd, hot, del] = counts.map((value, i) => value - (before.tables.get(table)?.[i] ?? 0));
    if (!ins && !upd && !del) return [];
    return [
      { table, inserted: per(ins ?? 0), updated: per(upd ?? 0), hotUpdated: per(hot ?? 0), deleted: per(del ?? 0) },
    ];
  });
  return { walBytes: Math.round((after.walBytes - before.walBytes) / Math.max(1, ops)), tables };
}

async function countEvents(db: pg.Client): Promise<number> {
  const rows = await db.query<{ n: string }>('select count(*)::text as n from aetheris.events');
  return Number(rows.rows[0]?.n ?? 0);
}

/** A full round takes ~5 minutes on the 2-core machine. */
const watchdogMinutes = 5 + 12 * rounds;
const watchdog = setTimeout(
  () => {
    progress(`watchdog: the gate is still running after ${watchdogMinutes} minutes, aborting`);
    void teardown().finally(() => process.exit(3));
  },
  watchdogMinutes * 60 * 1000,
);
watchdog.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void teardown().finally(() => process.exit(130)));
}
main()
  .then(async (code) => {
    await teardown();
    process.exit(code);
  })
  .catch(async (error: unknown) => {
    progress(`failed: ${(error as Error).stack ?? String(error)}`);
    await teardown();
    process.exit(1);
  });
