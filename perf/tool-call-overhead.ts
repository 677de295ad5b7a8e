/**
 * Benchmark (not a test): the overhead of one durable tool call — BeginToolCall + CompleteToolCall
 * round trips — against the raw limits measured in the same run: a bare grpc-js unary echo (the
 * transport) and a single-row INSERT committed with fsync on (the database).
 *
 *   npm run perf:tool-call               # default: N = K = 2000 sequential, about a minute
 *   npm run perf:tool-call -- --quick    # smoke run, about 15 s
 *
 * Everything runs on loopback: client and server in this process, one embedded PostgreSQL
 * cluster in a fresh temp dir. All of it is torn down on exit, on error and on Ctrl-C.
 * Writes perf/reports/<YYYY-MM-DD>-tool-call-overhead.{json,md} (`-quick.{json,md}` in quick mode).
 */
import { createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import type { DatabasePool } from 'slonik';
import {
  AcquireJobRequest,
  BeginToolCallRequest,
  CompleteJobRequest,
  CompleteToolCallRequest,
  CreateJobRequest,
} from '../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { ToolCallDecision } from '../gen/ts/aetheris/runtime/v1/worker.js';
import { type AetherisClients, connect, unary } from '../src/client/connect.js';
import { createDatabasePool } from '../src/store/pool.js';
import { beginToolCall, completeToolCall } from '../src/store/worker-protocol.js';
import { type CpuUse, cpuMark, cpuSince, measureBackgroundBusyShare } from './lib/cpu.js';
import {
  type EchoSequential,
  echoClient,
  echoOnce,
  echoSequential as measureEchoSequential,
  startEchoServer,
} from './lib/echo.js';
import { onTeardown, progress, runBenchmark, sequential } from './lib/lifecycle.js';
import { type MachineInfo, machineInfo, type Revision, revision } from './lib/machine.js';
import { f, machineSection, revisionLine, table, writeReportFiles } from './lib/report.js';
import { startStack } from './lib/stack.js';
import { median, ratio, round3, type Stats, summarize } from './lib/stats.js';

// ---------------------------------------------------------------------------------------------
// Parameters

interface Params {
  mode: 'quick' | 'default';
  /** Sequential echo calls measured (after `warmup`). */
  echoCalls: number;
  /** Sequential INSERT commits measured (after `warmup`). */
  inserts: number;
  /** Sequential tool calls (Begin + Complete pairs) measured on one job (after `warmup`). */
  toolCalls: number;
  /** Unmeasured operations before each reference phase (JIT, connections, caches). */
  warmup: number;
  /**
   * Unmeasured tool calls (on another job) before the sequential tool-call phase. Measured: with
   * 200, the first decile of calls ran ~25% slower than the last (JIT still warming up), which
   * would pass for a history-length effect; with 1500 the deciles are flat.
   */
  toolCallWarmup: number;
  /** Pairs of the breakdown phases (plpgsql over raw pg; the store functions over slonik). */
  breakdownCalls: number;
  /** Workers of the concurrent phases. */
  concurrency: number;
  /** Duration of the concurrent tool-call phase, s. */
  concurrentSeconds: number;
  /** Duration of the concurrent echo phase, s. */
  concurrentEchoSeconds: number;
  /** Bytes of the echo payload (about the size of an encoded BeginToolCallRequest). */
  echoPayloadBytes: number;
  /** Upper bound of every sequential phase, s: a phase stops early (and says so) past it. */
  phaseBudgetSeconds: number;
  /** The whole run is aborted (and cleaned up) past this, s. */
  watchdogSeconds: number;
}

function paramsFor(quick: boolean): Params {
  return quick
    ? {
        mode: 'quick',
        echoCalls: 300,
        inserts: 300,
        toolCalls: 300,
        warmup: 50,
        toolCallWarmup: 100,
        breakdownCalls: 100,
        concurrency: 8,
        concurrentSeconds: 2,
        concurrentEchoSeconds: 1,
        echoPayloadBytes: 112,
        phaseBudgetSeconds: 10,
        watchdogSeconds: 120,
      }
    : {
        mode: 'default',
        echoCalls: 2000,
        inserts: 2000,
        toolCalls: 2000,
        warmup: 200,
        toolCallWarmup: 1000,
        breakdownCalls: 500,
        concurrency: 8,
        concurrentSeconds: 5,
        concurrentEchoSeconds: 3,
        echoPayloadBytes: 112,
        phaseBudgetSeconds: 60,
        watchdogSeconds: 300,
      };
}

// ---------------------------------------------------------------------------------------------
// The measured thing: tool calls under a worker lease

interface Lease {
  jobId: string;
  token: bigint;
}

const LEASE = { seconds: 600n, nanos: 0 }; // the longest allowed: no heartbeats needed

async function openLease(ops: AetherisClients, worker: AetherisClients, queue: string): Promise<Lease> {
  const created = await unary(
    ops.runtime,
    ops.runtime.createJob,
    CreateJobRequest.fromPartial({ jobType: 'perf.tool-call', queue, input: Buffer.from('{}') }),
    ops.metadata(),
  );
  const acquired = await unary(
    worker.runtime,
    worker.runtime.acquireJob,
    AcquireJobRequest.fromPartial({ workerId: `perf-${queue}`, queues: [queue], leaseDuration: LEASE }),
    worker.metadata(),
  );
  const lease = acquired.lease;
  if (!lease || lease.jobId !== created.job?.id) throw new Error(`AcquireJob on ${queue} did not lease the new job`);
  return { jobId: lease.jobId, token: lease.fencingToken };
}

async function closeLease(worker: AetherisClients, lease: Lease): Promise<void> {
  await unary(
    worker.runtime,
    worker.runtime.completeJob,
    CompleteJobRequest.fromPartial({ jobId: lease.jobId, fencingToken: lease.token, output: Buffer.from('{}') }),
    worker.metadata(),
  );
}

const argsDigest = (i: number): Buffer => createHash('sha256').update(`{"i":${i}}`).digest();

interface PairTiming {
  begin: number;
  complete: number;
  pair: number;
}

async function grpcToolCall(worker: AetherisClients, lease: Lease, i: number): Promise<PairTiming> {
  const beginRequest = BeginToolCallRequest.fromPartial({
    jobId: lease.jobId,
    fencingToken: lease.token,
    callKey: String(i),
    toolName: 'bench',
    argsDigest: argsDigest(i),
    idempotent: false,
  });
  const completeRequest = CompleteToolCallRequest.fromPartial({
    jobId: lease.jobId,
    fencingToken: lease.token,
    callKey: String(i),
    outcome: { $case: 'result', value: Buffer.from(`{"i":${i}}`) },
  });
  const t0 = performance.now();
  const begun = await unary(worker.runtime, worker.runtime.beginToolCall, beginRequest, worker.metadata());
  const t1 = performance.now();
  if (begun.decision !== ToolCallDecision.TOOL_CALL_DECISION_EXECUTE) {
    throw new Error(`BeginToolCall ${i}: expected EXECUTE, got ${ToolCallDecision[begun.decision]} ${begun.detail}`);
  }
  await unary(worker.runtime, worker.runtime.completeToolCall, completeRequest, worker.metadata());
  const t2 = performance.now();
  return { begin: t1 - t0, complete: t2 - t1, pair: t2 - t0 };
}

/**
 * The same two plpgsql calls (same SQL text as src/store) over a raw `pg` connection. With
 * `discard`, each call is followed by `DISCARD ALL` inside the timing, as slonik's default
 * `resetConnection` does when a pooled connection is released (which `pool.one()` awaits); it
 * also drops the session's cached plans, so plpgsql re-plans its statements on every call.
 */
async function rawPgToolCall(
  client: pg.Client,
  lease: Lease,
  i: number,
  actor: string,
  discard = false,
): Promise<PairTiming> {
  const tenant = 'perf';
  const t0 = performance.now();
  const begun = await client.query<{ outcome: string }>(
    `select b.outcome, b.detail, (b.ledger).* from aetheris.begin_tool_call($1, $2::uuid, $3, $4, $5, $6, $7, $8) b`,
    [tenant, lease.jobId, lease.token.toString(), String(i), 'bench', argsDigest(i), false, actor],
  );
  if (discard) await client.query('discard all');
  const t1 = performance.now();
  if (begun.rows[0]?.outcome !== 'execute') throw new Error(`begin_tool_call ${i}: ${begun.rows[0]?.outcome}`);
  const completed = await client.query<{ outcome: string }>(
    `select c.outcome, (c.ledger).* from aetheris.complete_tool_call($1, $2::uuid, $3, $4, $5, $6, $7) c`,
    [tenant, lease.jobId, lease.token.toString(), String(i), `{"i":${i}}`, null, actor],
  );
  if (discard) await client.query('discard all');
  const t2 = performance.now();
  if (completed.rows[0]?.outcome !== 'completed')
    throw new Error(`complete_tool_call ${i}: ${completed.rows[0]?.outcome}`);
  return { begin: t1 - t0, complete: t2 - t1, pair: t2 - t0 };
}

/** The server's own store functions (slonik + zod + the plpgsql) without gRPC or the handler. */
async function storeToolCall(pool: DatabasePool, lease: Lease, i: number, actor: string): Promise<PairTiming> {
  const common = { tenant: 'perf', jobId: lease.jobId, fencingToken: lease.token, callKey: String(i), actor };
  const t0 = performance.now();
  const begun = await beginToolCall(pool, {
    ...common,
    toolName: 'bench',
    argsDigest: argsDigest(i),
    idempotent: false,
  });
  const t1 = performance.now();
  if (begun.kind !== 'execute') throw new Error(`store beginToolCall ${i}: ${begun.kind}`);
  const completed = await completeToolCall(pool, { ...common, result: `{"i":${i}}`, error: null });
  const t2 = performance.now();
  if (completed.kind !== 'completed') throw new Error(`store completeToolCall ${i}: ${completed.kind}`);
  return { begin: t1 - t0, complete: t2 - t1, pair: t2 - t0 };
}

interface PairStats {
  begin: Stats;
  complete: Stats;
  pair: Stats;
}

function summarizePairs(timings: readonly PairTiming[]): PairStats {
  return {
    begin: summarize(timings.map((t) => t.begin)),
    complete: summarize(timings.map((t) => t.complete)),
    pair: summarize(timings.map((t) => t.pair)),
  };
}

// ---------------------------------------------------------------------------------------------
// The run

interface Report {
  benchmark: 'tool-call-overhead';
  date: string;
  command: string;
  /** The commit measured, and the paths of the server's code that differed from it. */
  revision: Revision;
  machine: MachineInfo;
  parameters: Params;
  echo: {
    sequential: EchoSequential;
    concurrent: { workers: number; seconds: number; calls: number; callsPerSecond: number; latency: Stats };
  };
  insert: Stats & { commitsPerSecond: number; cpu: CpuUse };
  toolCall: PairStats & {
    pairsPerSecond: number;
    cpu: CpuUse;
    history: { eventsAtEnd: number; firstTenthPairP50: number; lastTenthPairP50: number; pairP50ByDecile: number[] };
  };
  breakdown: { rawPgPlpgsql: PairStats; rawPgPlpgsqlDiscardAll: PairStats; slonikStore: PairStats };
  concurrent: {
    workers: number;
    seconds: number;
    toolCalls: number;
    toolCallsPerSecond: number;
    perWorker: number[];
    begin: Stats;
    complete: Stats;
    pair: Stats;
    cpu: CpuUse;
  };
  ratios: {
    pairP50OverEchoP50: number;
    pairP50OverInsertP50: number;
    pairP50OverEchoPlusInsertP50: number;
    pairP50OverTwoEchoPlusTwoInsertP50: number;
    concurrentOverHalfSequentialEcho: number;
    concurrentOverHalfConcurrentEcho: number;
  };
  /** Where a sequential pair's median goes, ms (differences of medians: approximate). */
  attribution: {
    twoInsertCommits: number;
    plpgsqlBeyondTwoInserts: number;
    /** Slonik, zod and the pool's reset routine: store functions minus raw pg. */
    slonikStoreOverRawPg: number;
    grpcHandlerAndClient: number;
    pair: number;
    /** Not part of the sum: what `DISCARD ALL` after each call (slonik's default reset) adds to raw pg. */
    discardAllWouldAdd: number;
  };
}

async function run(params: Params): Promise<Report> {
  const started = performance.now();
  // Other processes on a shared machine are the main source of noise: measure before we start.
  const backgroundBusyShare = await measureBackgroundBusyShare();

  // 1-2. PostgreSQL (fsync on), a migrated database, two keys; the server, in-process.
  const { db, databaseUrl, postgresVersion, postgresSettings, server, workerKey, workerActor, ops, worker } =
    await startStack();

  const budgetMs = params.phaseBudgetSeconds * 1000;

  // 3. Reference 1: echo round trips, sequential then concurrent.
  const echoAddress = await startEchoServer();
  const echo = echoClient(echoAddress);
  const payload = randomBytes(params.echoPayloadBytes);
  const authorization = `Bearer ${workerKey}`;
  progress(`echo: ${params.warmup} warm-up + ${params.echoCalls} sequential calls`);
  const echoSequential = await measureEchoSequential(echo, payload, authorization, {
    warmup: params.warmup,
    calls: params.echoCalls,
    budgetMs,
  });

  progress(`echo: ${params.concurrency} concurrent clients for ${params.concurrentEchoSeconds} s`);
  const echoClients = Array.from({ length: params.concurrency }, () => echoClient(echoAddress));
  await Promise.all(echoClients.map((client) => echoOnce(client, payload, authorization)));
  const echoConcurrentSamples: number[] = [];
  let phaseStart = performance.now();
  const echoDeadline = phaseStart + params.concurrentEchoSeconds * 1000;
  await Promise.all(
    echoClients.map(async (client) => {
      while (performance.now() < echoDeadline) {
        const t0 = performance.now();
        await echoOnce(client, payload, authorization);
        echoConcurrentSamples.push(performance.now() - t0);
      }
    }),
  );
  const echoConcurrentWall = performance.now() - phaseStart;
  const echoConcurrent = {
    workers: params.concurrency,
    seconds: Math.round(echoConcurrentWall) / 1000,
    calls: echoConcurrentSamples.length,
    callsPerSecond: Math.round((echoConcurrentSamples.length / echoConcurrentWall) * 1000),
    latency: summarize(echoConcurrentSamples),
  };

  // 4. Reference 2: single-row INSERT commits (autocommit: each its own transaction, fsync on).
  progress(`insert: ${params.warmup} warm-up + ${params.inserts} sequential commits`);
  await db.query(
    `create table perf_scratch (id bigserial primary key, job_id uuid not null, payload jsonb not null,
                                recorded_at timestamptz not null default clock_timestamp())`,
  );
  const insertOnce = (i: number): Promise<pg.QueryResult> =>
    db.query('insert into perf_scratch (job_id, payload) values ($1, $2)', [
      '00000000-0000-4000-8000-000000000000',
      `{"i":${i}}`,
    ]);
  await sequential(params.warmup, budgetMs, insertOnce);
  let mark = cpuMark();
  phaseStart = performance.now();
  const insertSamples = await sequential(params.inserts, budgetMs, async (i) => {
    const t0 = performance.now();
    await insertOnce(i);
    return performance.now() - t0;
  });
  const insertWall = performance.now() - phaseStart;
  const insert = {
    ...summarize(insertSamples),
    commitsPerSecond: Math.round((insertSamples.length / insertWall) * 1000),
    cpu: cpuSince(mark, insertSamples.length),
  };

  // 5. The measured thing: K sequential tool calls under one lease, on one job (history grows).
  progress(`tool calls: ${params.toolCallWarmup} warm-up + ${params.toolCalls} sequential pairs on one job`);
  const warmLease = await openLease(ops, worker, 'perf-warmup');
  await sequential(params.toolCallWarmup, budgetMs, (i) => grpcToolCall(worker, warmLease, i));
  await closeLease(worker, warmLease);
  const seqLease = await openLease(ops, worker, 'perf-sequential');
  mark = cpuMark();
  phaseStart = performance.now();
  const seqTimings = await sequential(params.toolCalls, budgetMs, (i) => grpcToolCall(worker, seqLease, i));
  const seqWall = performance.now() - phaseStart;
  const seqCpu = cpuSince(mark, seqTimings.length);
  const eventsAtEnd = Number(
    (
      await db.query<{ n: string }>('select count(*)::text as n from aetheris.events where job_id = $1', [
        seqLease.jobId,
      ])
    ).rows[0]?.n ?? 0,
  );
  await closeLease(worker, seqLease);
  const pairSamples = seqTimings.map((t) => t.pair);
  const tenth = Math.max(1, Math.floor(pairSamples.length / 10));
  const deciles = Array.from({ length: 10 }, (_, d) =>
    median(
      pairSamples.slice(Math.floor((d * pairSamples.length) / 10), Math.floor(((d + 1) * pairSamples.length) / 10)),
    ),
  );

  // 5b. Breakdown: the same pairs without gRPC (slonik store functions) and without slonik (raw pg).
  progress(`breakdown: ${params.breakdownCalls} pairs each over raw pg, raw pg + DISCARD ALL, the slonik store`);
  const pgLease = await openLease(ops, worker, 'perf-raw-pg');
  await sequential(Math.min(params.warmup, 50), budgetMs, (i) => rawPgToolCall(db, pgLease, -i, workerActor));
  const rawPg = await sequential(params.breakdownCalls, budgetMs, (i) => rawPgToolCall(db, pgLease, i, workerActor));
  await closeLease(worker, pgLease);
  const discardLease = await openLease(ops, worker, 'perf-raw-pg-discard');
  await sequential(Math.min(params.warmup, 50), budgetMs, (i) =>
    rawPgToolCall(db, discardLease, -i, workerActor, true),
  );
  const rawPgDiscard = await sequential(params.breakdownCalls, budgetMs, (i) =>
    rawPgToolCall(db, discardLease, i, workerActor, true),
  );
  await closeLease(worker, discardLease);
  const pool = await createDatabasePool({ connectionString: databaseUrl, maximumPoolSize: 2 });
  let poolOpen = true;
  const endPool = async (): Promise<void> => {
    if (poolOpen) await pool.end();
    poolOpen = false;
  };
  onTeardown('slonik pool', endPool);
  const storeLease = await openLease(ops, worker, 'perf-store');
  await sequential(Math.min(params.warmup, 50), budgetMs, (i) => storeToolCall(pool, storeLease, -i, workerActor));
  const store = await sequential(params.breakdownCalls, budgetMs, (i) =>
    storeToolCall(pool, storeLease, i, workerActor),
  );
  await closeLease(worker, storeLease);
  await endPool();

  // 6. Concurrent: C workers, each with its own channel and job, sequential pairs for a fixed time.
  progress(`concurrent: ${params.concurrency} workers for ${params.concurrentSeconds} s`);
  const workers = Array.from({ length: params.concurrency }, () => {
    const clients = connect({ address: server.address, apiKey: workerKey });
    onTeardown('concurrent worker client', () => clients.close());
    return clients;
  });
  const leases: Lease[] = [];
  for (const [w, clients] of workers.entries()) leases.push(await openLease(ops, clients, `perf-concurrent-${w}`));
  const concurrentTimings: PairTiming[] = [];
  const perWorker: number[] = [];
  const hardCap = 1_000_000; // a bound on the loop besides the clock
  mark = cpuMark();
  phaseStart = performance.now();
  const concurrentDeadline = phaseStart + params.concurrentSeconds * 1000;
  await Promise.all(
    workers.map(async (clients, w) => {
      const lease = leases[w];
      if (!lease) throw new Error(`no lease for worker ${w}`);
      let i = 0;
      while (performance.now() < concurrentDeadline && i < hardCap) {
        i++;
        concurrentTimings.push(await grpcToolCall(clients, lease, i));
      }
      perWorker[w] = i;
    }),
  );
  const concurrentWall = performance.now() - phaseStart;
  const concurrentCpu = cpuSince(mark, concurrentTimings.length);
  for (const [w, clients] of workers.entries()) {
    const lease = leases[w];
    if (lease) await closeLease(clients, lease);
  }
  const concurrentPairs = summarizePairs(concurrentTimings);
  const concurrent = {
    workers: params.concurrency,
    seconds: Math.round(concurrentWall) / 1000,
    toolCalls: concurrentTimings.length,
    toolCallsPerSecond: Math.round((concurrentTimings.length / concurrentWall) * 1000),
    perWorker,
    ...concurrentPairs,
    cpu: concurrentCpu,
  };

  // 7. Figures and ratios.
  const toolCall = {
    ...summarizePairs(seqTimings),
    pairsPerSecond: Math.round((seqTimings.length / seqWall) * 1000),
    cpu: seqCpu,
    history: {
      eventsAtEnd,
      firstTenthPairP50: median(pairSamples.slice(0, tenth)),
      lastTenthPairP50: median(pairSamples.slice(-tenth)),
      pairP50ByDecile: deciles,
    },
  };
  const breakdown = {
    rawPgPlpgsql: summarizePairs(rawPg),
    rawPgPlpgsqlDiscardAll: summarizePairs(rawPgDiscard),
    slonikStore: summarizePairs(store),
  };
  const pairP50 = toolCall.pair.p50;
  const ratios = {
    pairP50OverEchoP50: ratio(pairP50, echoSequential.p50),
    pairP50OverInsertP50: ratio(pairP50, insert.p50),
    pairP50OverEchoPlusInsertP50: ratio(pairP50, echoSequential.p50 + insert.p50),
    pairP50OverTwoEchoPlusTwoInsertP50: ratio(pairP50, 2 * (echoSequential.p50 + insert.p50)),
    concurrentOverHalfSequentialEcho: ratio(concurrent.toolCallsPerSecond, echoSequential.callsPerSecond / 2),
    concurrentOverHalfConcurrentEcho: ratio(concurrent.toolCallsPerSecond, echoConcurrent.callsPerSecond / 2),
  };
  const attribution = {
    twoInsertCommits: round3(2 * insert.p50),
    plpgsqlBeyondTwoInserts: round3(breakdown.rawPgPlpgsql.pair.p50 - 2 * insert.p50),
    slonikStoreOverRawPg: round3(breakdown.slonikStore.pair.p50 - breakdown.rawPgPlpgsql.pair.p50),
    grpcHandlerAndClient: round3(pairP50 - breakdown.slonikStore.pair.p50),
    pair: pairP50,
    discardAllWouldAdd: round3(breakdown.rawPgPlpgsqlDiscardAll.pair.p50 - breakdown.rawPgPlpgsql.pair.p50),
  };

  progress(`done in ${Math.round(performance.now() - started) / 1000} s`);
  return {
    benchmark: 'tool-call-overhead',
    date: new Date().toISOString(),
    command: `npm run perf:tool-call${params.mode === 'quick' ? ' -- --quick' : ''}`,
    revision: revision(),
    machine: machineInfo(postgresVersion, postgresSettings, backgroundBusyShare),
    parameters: params,
    echo: { sequential: echoSequential, concurrent: echoConcurrent },
    insert,
    toolCall,
    breakdown,
    concurrent,
    ratios,
    attribution,
  };
}

function latencyRows(report: Report): string[][] {
  const row = (name: string, s: Stats, rate: string): string[] => [
    name,
    String(s.n),
    f(s.p50),
    f(s.p90),
    f(s.p99),
    f(s.mean),
    rate,
  ];
  const { echo, insert, toolCall, breakdown, concurrent } = report;
  return [
    row('echo (grpc-js unary, sequential)', echo.sequential, `${echo.sequential.callsPerSecond}/s`),
    row(
      `echo (${echo.concurrent.workers} concurrent clients)`,
      echo.concurrent.latency,
      `${echo.concurrent.callsPerSecond}/s`,
    ),
    row('INSERT commit (pg, sequential)', insert, `${insert.commitsPerSecond}/s`),
    row('BeginToolCall (gRPC)', toolCall.begin, ''),
    row('CompleteToolCall (gRPC)', toolCall.complete, ''),
    row('tool call pair (gRPC, sequential)', toolCall.pair, `${toolCall.pairsPerSecond}/s`),
    row('pair: plpgsql over raw pg', breakdown.rawPgPlpgsql.pair, ''),
    row('pair: raw pg + DISCARD ALL after each', breakdown.rawPgPlpgsqlDiscardAll.pair, ''),
    row('pair: slonik store functions', breakdown.slonikStore.pair, ''),
    row(`pair (${concurrent.workers} concurrent workers)`, concurrent.pair, `${concurrent.toolCallsPerSecond}/s`),
  ];
}

function consoleTable(report: Report): string {
  const { ratios, toolCall, attribution } = report;
  return [
    ...table(['ms', 'n', 'p50', 'p90', 'p99', 'mean', 'rate'], latencyRows(report)),
    '',
    `pair p50 / echo p50 = ${ratios.pairP50OverEchoP50}   pair p50 / insert p50 = ${ratios.pairP50OverInsertP50}   ` +
      `pair p50 / 2(echo+insert) p50 = ${ratios.pairP50OverTwoEchoPlusTwoInsertP50}`,
    `concurrent tool calls/s / (echo calls/s / 2): sequential echo ${ratios.concurrentOverHalfSequentialEcho}, ` +
      `concurrent echo ${ratios.concurrentOverHalfConcurrentEcho}`,
    `history: pair p50 first 10% ${f(toolCall.history.firstTenthPairP50)} ms, last 10% ` +
      `${f(toolCall.history.lastTenthPairP50)} ms (${toolCall.history.eventsAtEnd} events on the job at the end)`,
    `pair p50 ${f(attribution.pair)} ms ≈ 2 commits ${f(attribution.twoInsertCommits)} + plpgsql beyond ` +
      `${f(attribution.plpgsqlBeyondTwoInserts)} + slonik store ${f(attribution.slonikStoreOverRawPg)} + ` +
      `gRPC/handler/client ${f(attribution.grpcHandlerAndClient)}  (DISCARD ALL per call would add ` +
      `${f(attribution.discardAllWouldAdd)})`,
  ].join('\n');
}

function markdown(report: Report): string {
  const { machine, parameters: p, echo, insert, toolCall, breakdown, concurrent, ratios, attribution } = report;
  const cpuRow = (name: string, cpu: CpuUse): string[] => [
    name,
    cpu.nodeUsPerOp.toFixed(0),
    cpu.machineUsPerOp.toFixed(0),
    `${Math.round(cpu.machineBusyShare * 100)}%`,
  ];
  return [
    `# Tool-call overhead — ${report.date.slice(0, 10)}`,
    '',
    `Generated by \`perf/tool-call-overhead.ts\` (\`${report.command}\`, mode \`${p.mode}\`). Every figure is in`,
    'milliseconds unless marked. Medians are the figures to quote; p99 on 2 shared cores is noisy (the',
    'client, the server and PostgreSQL all compete for the same cores, and a GC pause or a checkpoint lands in',
    'the tail). Re-run before drawing conclusions from differences under ~10%.',
    '',
    revisionLine(report.revision),
    '',
    ...machineSection(machine),
    '',
    '## Parameters',
    '',
    `- Sequential: ${p.echoCalls} echo calls, ${p.inserts} INSERT commits, ${p.toolCalls} tool calls on one job, ` +
      `${p.breakdownCalls} pairs per breakdown path; ${p.warmup} unmeasured warm-up operations before each ` +
      `reference phase and ${p.toolCallWarmup} warm-up tool calls (on another job) before the tool-call phase.`,
    `- Concurrent: ${p.concurrency} workers (own channel, own job) for ${p.concurrentSeconds} s; echo with ` +
      `${p.concurrency} clients for ${p.concurrentEchoSeconds} s.`,
    `- Echo payload ${p.echoPayloadBytes} bytes plus the same \`authorization\` metadata as a real call; identity`,
    '  Buffer serializers, no protobuf.',
    '- A tool call: BeginToolCall(call_key=i, tool `bench`, 32-byte args_digest, idempotent=false) → EXECUTE, then',
    '  CompleteToolCall(result `{"i":i}`). Client, server and echo server share this Node process; everything is on',
    '  loopback; PostgreSQL runs with fsync on, synchronous_commit on.',
    '',
    '## Latency',
    '',
    ...table(['ms', 'n', 'p50', 'p90', 'p99', 'mean', 'rate'], latencyRows(report)),
    '',
    'Begin and Complete separately (sequential and concurrent):',
    '',
    ...table(
      ['ms', 'p50', 'p99', 'mean'],
      [
        ['BeginToolCall, sequential', f(toolCall.begin.p50), f(toolCall.begin.p99), f(toolCall.begin.mean)],
        ['CompleteToolCall, sequential', f(toolCall.complete.p50), f(toolCall.complete.p99), f(toolCall.complete.mean)],
        [
          'begin_tool_call, raw pg',
          f(breakdown.rawPgPlpgsql.begin.p50),
          f(breakdown.rawPgPlpgsql.begin.p99),
          f(breakdown.rawPgPlpgsql.begin.mean),
        ],
        [
          'complete_tool_call, raw pg',
          f(breakdown.rawPgPlpgsql.complete.p50),
          f(breakdown.rawPgPlpgsql.complete.p99),
          f(breakdown.rawPgPlpgsql.complete.mean),
        ],
        ['BeginToolCall, concurrent', f(concurrent.begin.p50), f(concurrent.begin.p99), f(concurrent.begin.mean)],
        [
          'CompleteToolCall, concurrent',
          f(concurrent.complete.p50),
          f(concurrent.complete.p99),
          f(concurrent.complete.mean),
        ],
      ],
    ),
    '',
    '## Ratios',
    '',
    `- pair p50 ÷ echo p50 = **${ratios.pairP50OverEchoP50}**`,
    `- pair p50 ÷ INSERT p50 = **${ratios.pairP50OverInsertP50}**`,
    `- pair p50 ÷ (echo p50 + INSERT p50) = ${ratios.pairP50OverEchoPlusInsertP50}; a pair is two round trips and two`,
    `  commits, so the floor is 2 × (echo + INSERT): pair ÷ that = **${ratios.pairP50OverTwoEchoPlusTwoInsertP50}**`,
    `- concurrent tool calls/s ÷ (echo calls/s ÷ 2): against sequential echo (${echo.sequential.callsPerSecond}/s) ` +
      `**${ratios.concurrentOverHalfSequentialEcho}**, against ${echo.concurrent.workers}-client echo ` +
      `(${echo.concurrent.callsPerSecond}/s) **${ratios.concurrentOverHalfConcurrentEcho}**`,
    '',
    '## History length',
    '',
    `All ${toolCall.pair.n} sequential calls ran on one job, which ended with ${toolCall.history.eventsAtEnd} events.`,
    `Pair p50 over the first 10% of calls: ${f(toolCall.history.firstTenthPairP50)} ms; over the last 10%: ` +
      `${f(toolCall.history.lastTenthPairP50)} ms. Pair p50 by decile: ` +
      `${toolCall.history.pairP50ByDecile.map(f).join(', ')}.`,
    '',
    '## Where the time goes (sequential pair, differences of medians)',
    '',
    ...table(
      ['part', 'ms'],
      [
        ['two single-row INSERT commits (fsync)', f(attribution.twoInsertCommits)],
        ['plpgsql work beyond two plain commits', f(attribution.plpgsqlBeyondTwoInserts)],
        ['slonik + zod + pool reset (store functions vs raw pg)', f(attribution.slonikStoreOverRawPg)],
        ['gRPC both ways + handler + auth + client', f(attribution.grpcHandlerAndClient)],
        ['pair p50', f(attribution.pair)],
      ],
    ),
    '',
    `Not in the sum: \`DISCARD ALL\` after each call (slonik's default \`resetConnection\`) adds ` +
      `${f(attribution.discardAllWouldAdd)} ms to the raw pg pair.`,
    '',
    'CPU per operation (µs; "machine" includes PostgreSQL and the OS, busy share is of all cores):',
    '',
    ...table(
      ['phase', 'Node µs/op', 'machine µs/op', 'busy'],
      [
        cpuRow('echo, sequential', echo.sequential.cpu),
        cpuRow('INSERT, sequential', insert.cpu),
        cpuRow('tool call pair, sequential', toolCall.cpu),
        cpuRow(`tool call pair, ${concurrent.workers} concurrent`, concurrent.cpu),
      ],
    ),
    '',
    `Concurrent calls per worker: ${concurrent.perWorker.join(', ')}.`,
    '',
    '## Reading the figures',
    '',
    '- The breakdown rows run the same two plpgsql functions with the same SQL text as `src/store/worker-protocol.ts`:',
    '  over one raw `pg` connection; the same followed by `DISCARD ALL` (inside the timing), which is what',
    "  slonik's default `resetConnection` runs on every release of a pooled connection, and `pool.one()` awaits it;",
    "  and the server's store functions on a slonik pool built by `createDatabasePool`. `DISCARD ALL` costs a round",
    "  trip and drops the session's cached plans, so every plpgsql statement of the next call is planned again;",
    '  `createDatabasePool` replaces the default reset with a no-op, and the slonik store row shows whether that',
    '  still holds (it should sit near the raw pg row, not near the DISCARD ALL row).',
    `- The concurrent phase kept ${Math.round(concurrent.cpu.machineBusyShare * 100)}% of all cores busy at ` +
      `${concurrent.cpu.machineUsPerOp.toFixed(0)} µs of machine CPU per tool call`,
    `  (${concurrent.cpu.nodeUsPerOp.toFixed(0)} µs in this Node process, the rest mostly PostgreSQL): ` +
      (concurrent.cpu.machineBusyShare >= 0.9
        ? 'the cores are saturated, so throughput is bounded by CPU per call.'
        : 'the cores are not saturated, so waits (commit flushes, the single event loop) bound throughput too.'),
    '- Client, server and echo server share one Node process and its event loop, so every echo or tool-call figure',
    '  includes both ends; a remote worker would move the client half of the CPU elsewhere.',
    '',
  ].join('\n');
}

function writeReports(report: Report): Promise<string[]> {
  return writeReportFiles('tool-call-overhead', report.date, report.parameters.mode, report, markdown(report));
}

// ---------------------------------------------------------------------------------------------
// Main

process.exitCode = await runBenchmark({
  name: 'tool-call-overhead',
  params: paramsFor,
  run,
  summary: consoleTable,
  write: writeReports,
});
