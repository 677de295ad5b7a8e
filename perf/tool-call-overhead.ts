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
 * Writes perf/reports/<YYYY-MM-DD>-tool-call-overhead.{json,md}.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  Client,
  credentials,
  type handleUnaryCall,
  Metadata,
  Server,
  ServerCredentials,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import pg from 'pg';
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
import { mintApiKey, type Role } from '../src/domain/api-key.js';
import { createLogger } from '../src/server/logger.js';
import { type RunningServer, startServer } from '../src/server/server.js';
import { startEmbeddedPostgres } from '../src/store/embedded-postgres.js';
import { migrateUp } from '../src/store/migrator.js';
import { createDatabasePool } from '../src/store/pool.js';
import { projectRoot } from '../src/store/project-root.js';
import { beginToolCall, completeToolCall } from '../src/store/worker-protocol.js';

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
// Statistics

/** Latency summary in milliseconds. */
interface Stats {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

const round3 = (value: number): number => Math.round(value * 1000) / 1000;

/** Nearest-rank percentile of sorted samples. */
function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

function summarize(samples: readonly number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((acc, value) => acc + value, 0);
  return {
    n: sorted.length,
    p50: round3(percentile(sorted, 0.5)),
    p90: round3(percentile(sorted, 0.9)),
    p99: round3(percentile(sorted, 0.99)),
    mean: round3(sorted.length ? sum / sorted.length : Number.NaN),
    min: round3(sorted[0] ?? Number.NaN),
    max: round3(sorted[sorted.length - 1] ?? Number.NaN),
  };
}

const median = (samples: readonly number[]): number => summarize(samples).p50;

/** CPU spent during a phase: by this Node process (client + server) and by the whole machine. */
interface CpuUse {
  /** µs of user+system CPU of this process per operation. */
  nodeUsPerOp: number;
  /** µs of busy CPU of the whole machine (all cores, incl. PostgreSQL) per operation. */
  machineUsPerOp: number;
  /** Busy share of all cores during the phase, 0..1. */
  machineBusyShare: number;
}

interface CpuMark {
  process: NodeJS.CpuUsage;
  busyMs: number;
  totalMs: number;
}

function cpuMark(): CpuMark {
  let busyMs = 0;
  let totalMs = 0;
  for (const cpu of os.cpus()) {
    const { user, nice, sys, idle, irq } = cpu.times;
    busyMs += user + nice + sys + irq;
    totalMs += user + nice + sys + idle + irq;
  }
  return { process: process.cpuUsage(), busyMs, totalMs };
}

function cpuSince(mark: CpuMark, ops: number): CpuUse {
  const now = cpuMark();
  const node = process.cpuUsage(mark.process);
  const busyMs = now.busyMs - mark.busyMs;
  const totalMs = now.totalMs - mark.totalMs;
  const perOp = (us: number): number => Math.round((ops ? us / ops : Number.NaN) * 10) / 10;
  return {
    nodeUsPerOp: perOp(node.user + node.system),
    machineUsPerOp: perOp(busyMs * 1000),
    machineBusyShare: Math.round((totalMs ? busyMs / totalMs : Number.NaN) * 1000) / 1000,
  };
}

// ---------------------------------------------------------------------------------------------
// Lifecycle: everything started registers its teardown; it runs once, in reverse, even on error.

const teardowns: { name: string; run: () => Promise<void> }[] = [];
let tearingDown: Promise<void> | undefined;

function onTeardown(name: string, run: () => Promise<void> | void): void {
  teardowns.push({ name, run: async () => run() });
}

function teardown(): Promise<void> {
  tearingDown ??= (async () => {
    for (const step of teardowns.reverse()) {
      try {
        await step.run();
      } catch (error) {
        process.stderr.write(`teardown of ${step.name} failed: ${(error as Error).message}\n`);
      }
    }
  })();
  return tearingDown;
}

const progress = (message: string): void => {
  process.stderr.write(`[perf] ${message}\n`);
};

// ---------------------------------------------------------------------------------------------
// Setup

async function createKey(databaseUrl: string, tenant: string, role: Role): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const key = mintApiKey();
    await client.query('insert into aetheris.tenants (tenant_id) values ($1) on conflict do nothing', [tenant]);
    await client.query(
      'insert into aetheris.api_keys (tenant_id, key_id, name, role, secret_hash) values ($1, $2, $3, $4, $5)',
      [tenant, key.keyId, `perf-${role}`, role, key.secretHash],
    );
    return key.token;
  } finally {
    await client.end();
  }
}

async function connectPg(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {}); // a dying cluster at teardown is not news
  await client.connect();
  onTeardown('pg client', () => client.end());
  return client;
}

// ---------------------------------------------------------------------------------------------
// Reference 1: a bare grpc-js echo server (identity Buffer serializers, no proto)

const identity = (value: Buffer): Buffer => value;
const ECHO_PATH = '/aetheris.perf.Echo/Echo';
const echoDefinition: ServiceDefinition = {
  echo: {
    path: ECHO_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};
const echoHandler: handleUnaryCall<Buffer, Buffer> = (call, callback) => callback(null, call.request);

async function startEchoServer(): Promise<string> {
  const server = new Server();
  server.addService(echoDefinition, { echo: echoHandler });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
  onTeardown('echo server', () => server.forceShutdown());
  return `127.0.0.1:${port}`;
}

function echoClient(address: string): Client {
  const client = new Client(address, credentials.createInsecure(), {
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
  });
  onTeardown('echo client', () => client.close());
  return client;
}

function echoOnce(client: Client, payload: Buffer, authorization: string): Promise<void> {
  // Same metadata shape as a real call (a bearer key), so the bytes on the wire are comparable.
  const metadata = new Metadata();
  metadata.set('authorization', authorization);
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(ECHO_PATH, identity, identity, payload, metadata, {}, (error, response) => {
      if (error) reject(error);
      else if (response?.length !== payload.length) reject(new Error('echo returned a different payload'));
      else resolve();
    });
  });
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

/** Runs `op(1..n)` one after another, stopping early past `budgetMs`. */
async function sequential<T>(n: number, budgetMs: number, op: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  const deadline = performance.now() + budgetMs;
  for (let i = 1; i <= n; i++) {
    if (performance.now() > deadline) {
      progress(`  phase budget of ${budgetMs / 1000} s spent after ${results.length} of ${n}`);
      break;
    }
    results.push(await op(i));
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// The run

interface Report {
  benchmark: 'tool-call-overhead';
  date: string;
  command: string;
  /** The commit measured, and the paths of the server's code that differed from it. */
  revision: { commit: string; uncommitted: string[] };
  machine: {
    cpuModel: string;
    cpuCount: number;
    totalMemoryGiB: number;
    node: string;
    platform: string;
    postgres: string;
    postgresSettings: Record<string, string>;
    /** Busy share of all cores over 1 s before the run started: load from other processes. */
    backgroundBusyShare: number;
  };
  parameters: Params;
  echo: {
    sequential: Stats & { callsPerSecond: number; cpu: CpuUse };
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
  const idleMark = cpuMark();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const backgroundBusyShare = cpuSince(idleMark, 1).machineBusyShare;
  if (backgroundBusyShare > 0.1) {
    progress(
      `warning: the machine is ${Math.round(backgroundBusyShare * 100)}% busy before the run; figures will be noisy`,
    );
  }

  // 1. PostgreSQL in a fresh temp dir, fsync on (the default), a migrated database, two keys.
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'aetheris-perf-'));
  onTeardown('temp dir', () => fs.rm(root, { recursive: true, force: true }));
  // mkdtemp makes 0700 dirs; as root, postgres runs as `postgres` and must traverse it.
  await fs.chmod(root, 0o755);
  progress(`starting PostgreSQL in ${root}`);
  const cluster = await startEmbeddedPostgres({ dataDir: path.join(root, 'pg') });
  onTeardown('PostgreSQL', async () => {
    await cluster.stop();
    // As root the cluster may live elsewhere (relocated); remove it too.
    if (!cluster.dataDir.startsWith(root)) await fs.rm(cluster.dataDir, { recursive: true, force: true });
  });
  const admin = await connectPg(cluster.connectionString);
  await admin.query('create database aetheris_perf');
  const databaseUrl = cluster.urlFor('aetheris_perf');
  await migrateUp(databaseUrl);
  const workerKey = await createKey(databaseUrl, 'perf', 'worker');
  const operatorKey = await createKey(databaseUrl, 'perf', 'operator');
  const workerActor = `key:${workerKey.split('_')[1] ?? ''}`;

  const db = await connectPg(databaseUrl);
  const version = (await db.query<{ version: string }>('select version()')).rows[0]?.version ?? 'unknown';
  const settingRows = await db.query<{ name: string; setting: string }>(
    `select name, setting from pg_settings
      where name in ('fsync', 'synchronous_commit', 'wal_sync_method', 'full_page_writes', 'shared_buffers',
                     'max_connections', 'wal_level')
      order by name`,
  );
  const postgresSettings = Object.fromEntries(settingRows.rows.map((row) => [row.name, row.setting]));
  if (postgresSettings.fsync !== 'on')
    throw new Error(`fsync is ${postgresSettings.fsync}; this benchmark needs it on`);

  // 2. The server, in-process.
  const server: RunningServer = await startServer({
    databaseUrl,
    host: '127.0.0.1',
    port: 0,
    logger: createLogger('warn'),
    shutdownGraceMs: 2000,
  });
  onTeardown('server', () => server.shutdown());
  const ops = connect({ address: server.address, apiKey: operatorKey });
  onTeardown('operator client', () => ops.close());
  const worker = connect({ address: server.address, apiKey: workerKey });
  onTeardown('worker client', () => worker.close());
  progress(`server on ${server.address}, PostgreSQL ${version.split(' ').slice(0, 2).join(' ')}`);

  const budgetMs = params.phaseBudgetSeconds * 1000;

  // 3. Reference 1: echo round trips, sequential then concurrent.
  const echoAddress = await startEchoServer();
  const echo = echoClient(echoAddress);
  const payload = randomBytes(params.echoPayloadBytes);
  const authorization = `Bearer ${workerKey}`;
  progress(`echo: ${params.warmup} warm-up + ${params.echoCalls} sequential calls`);
  await sequential(params.warmup, budgetMs, () => echoOnce(echo, payload, authorization));
  let mark = cpuMark();
  let phaseStart = performance.now();
  const echoSamples = await sequential(params.echoCalls, budgetMs, async () => {
    const t0 = performance.now();
    await echoOnce(echo, payload, authorization);
    return performance.now() - t0;
  });
  const echoWall = performance.now() - phaseStart;
  const echoCpu = cpuSince(mark, echoSamples.length);
  const echoSequential = {
    ...summarize(echoSamples),
    callsPerSecond: Math.round((echoSamples.length / echoWall) * 1000),
    cpu: echoCpu,
  };

  progress(`echo: ${params.concurrency} concurrent clients for ${params.concurrentEchoSeconds} s`);
  const echoClients = Array.from({ length: params.concurrency }, () => echoClient(echoAddress));
  await Promise.all(echoClients.map((client) => echoOnce(client, payload, authorization)));
  const echoConcurrentSamples: number[] = [];
  phaseStart = performance.now();
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
  mark = cpuMark();
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
  const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;
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

  const cpus = os.cpus();
  progress(`done in ${Math.round(performance.now() - started) / 1000} s`);
  return {
    benchmark: 'tool-call-overhead',
    date: new Date().toISOString(),
    command: `npm run perf:tool-call${params.mode === 'quick' ? ' -- --quick' : ''}`,
    revision: revision(),
    machine: {
      cpuModel: cpus[0]?.model.trim() ?? 'unknown',
      cpuCount: cpus.length,
      totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      node: process.version,
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      postgres: version,
      postgresSettings,
      backgroundBusyShare,
    },
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

/** Best effort: `unknown` outside a git checkout. */
function revision(): Report['revision'] {
  const git = (...args: string[]): string =>
    execFileSync('git', ['-C', projectRoot(), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const uncommitted = git('status', '--porcelain', '--', 'src', 'gen', 'migrations', 'proto')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => line.slice(3));
    return { commit: git('rev-parse', 'HEAD').trim(), uncommitted };
  } catch {
    return { commit: 'unknown', uncommitted: [] };
  }
}

// ---------------------------------------------------------------------------------------------
// Output

const f = (ms: number): string => (Number.isNaN(ms) ? 'n/a' : ms < 10 ? ms.toFixed(3) : ms.toFixed(1));

function table(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((header, c) => Math.max(header.length, ...rows.map((row) => (row[c] ?? '').length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join(' | ')} |`;
  return [
    line(headers),
    `|${widths.map((w, c) => (c === 0 ? `-${'-'.repeat(w)}-` : `-${'-'.repeat(w)}:`)).join('|')}|`,
    ...rows.map(line),
  ];
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
    `Code: commit \`${report.revision.commit.slice(0, 12)}\`` +
      (report.revision.uncommitted.length
        ? ` plus uncommitted changes to ${report.revision.uncommitted.map((file) => `\`${file}\``).join(', ')}.`
        : ' (server code unmodified).'),
    '',
    '## Machine',
    '',
    `- CPU: ${machine.cpuModel} × ${machine.cpuCount}`,
    `- Memory: ${machine.totalMemoryGiB} GiB`,
    `- Node ${machine.node}, ${machine.platform}`,
    `- ${machine.postgres}`,
    `- Background load before the run: ${Math.round(machine.backgroundBusyShare * 100)}% of all cores busy` +
      (machine.backgroundBusyShare > 0.1 ? ' (**noisy run**: other processes were using the cores)' : ''),
    `- PostgreSQL settings: ${Object.entries(machine.postgresSettings)
      .map(([name, value]) => `${name}=${value}`)
      .join(', ')}`,
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

async function writeReports(report: Report): Promise<string[]> {
  const dir = path.join(projectRoot(), 'perf', 'reports');
  await fs.mkdir(dir, { recursive: true });
  const base = path.join(dir, `${report.date.slice(0, 10)}-tool-call-overhead`);
  await fs.writeFile(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  await fs.writeFile(`${base}.md`, markdown(report));
  return [`${base}.json`, `${base}.md`];
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const unknown = args.filter((arg) => arg !== '--quick');
  if (unknown.length) {
    process.stderr.write(`usage: tool-call-overhead [--quick]  (unknown: ${unknown.join(' ')})\n`);
    return 2;
  }
  const params = paramsFor(args.includes('--quick'));
  const watchdog = setTimeout(() => {
    process.stderr.write(`[perf] watchdog: still running after ${params.watchdogSeconds} s, aborting\n`);
    void teardown().finally(() => process.exit(3));
  }, params.watchdogSeconds * 1000);
  watchdog.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`[perf] ${signal}: cleaning up\n`);
      void teardown().finally(() => process.exit(130));
    });
  }
  try {
    const report = await run(params);
    await teardown();
    process.stdout.write(`${consoleTable(report)}\n`);
    for (const file of await writeReports(report))
      process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
    return 0;
  } catch (error) {
    // Once teardown has begun (signal, watchdog), the run's own failure is only its echo.
    if (!tearingDown) process.stderr.write(`[perf] failed: ${(error as Error).stack ?? String(error)}\n`);
    await teardown();
    return 1;
  } finally {
    clearTimeout(watchdog);
  }
}

process.exitCode = await main();
