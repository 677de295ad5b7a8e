/**
 * Benchmark (not a test): signal-to-resume latency of a parked job while a worker is idle in its
 * AcquireJob long poll — from just before SendSignal to the moment the handler continues after
 * `ctx.waitForSignal` — against references measured in the same run: a bare grpc-js echo round
 * trip (the transport) and create-to-start (CreateJob while a worker waits → the handler runs:
 * the same long-poll wake-up without any signal).
 *
 *   npm run perf:signal               # default: 300 sequential + 2 × 8 × 300 concurrent resumes, ~65 s
 *   npm run perf:signal -- --quick    # smoke run: 50 + 2 × 8 × 50, ~15 s
 *
 * The concurrent resumes run twice: on one Worker of concurrency 8 (the case under test), then on
 * 8 Workers of concurrency 1 (a control with 8 AcquireJob long polls instead of one).
 *
 * Everything runs on loopback: SDK workers, senders and the server in this process (one clock
 * for both ends of every sample), one embedded PostgreSQL cluster in a fresh temp dir. All of it
 * is torn down on exit, on error and on Ctrl-C.
 * Writes perf/reports/<YYYY-MM-DD>-signal-resume.{json,md} (`-quick.{json,md}` in quick mode).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { type Job, JobState } from '../gen/ts/aetheris/runtime/v1/job.js';
import { CreateJobRequest, GetJobRequest } from '../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { SendSignalRequest } from '../gen/ts/aetheris/signal/v1/signal_service.js';
import { type AetherisClients, unary } from '../src/client/connect.js';
import { Worker } from '../src/worker/index.js';
import { type CpuUse, cpuMark, cpuSince, measureBackgroundBusyShare, processTreeCpuMs } from './lib/cpu.js';
import { type EchoSequential, echoClient, echoSequential, startEchoServer } from './lib/echo.js';
import { onTeardown, progress, runBenchmark, sleep } from './lib/lifecycle.js';
import { type MachineInfo, machineInfo, type Revision, revision } from './lib/machine.js';
import { type Pauses, type PauseWatch, watchPauses } from './lib/pauses.js';
import { f, machineSection, revisionLine, table, writeReportFiles } from './lib/report.js';
import { type Stack, startStack, TENANT } from './lib/stack.js';
import { percentile, ratio, round3, type Stats, summarize } from './lib/stats.js';

// ---------------------------------------------------------------------------------------------
// Parameters

interface Params {
  mode: 'quick' | 'default';
  /** Jobs parked then resumed one at a time (worker concurrency 1). */
  jobs: number;
  /** Unmeasured full cycles (create, park, signal, complete) before the measured phases. */
  warmupJobs: number;
  /** Pause before each measured operation, ms, so the worker is back in its long poll. */
  gapMs: number;
  /** Senders of the concurrent phases; each resumes `jobs` parked jobs, one at a time. */
  senders: number;
  /** Worker concurrency of the concurrent phase. */
  concurrentWorkerConcurrency: number;
  /** Sequential echo round trips measured (after `echoWarmup`). */
  echoCalls: number;
  echoWarmup: number;
  /** Bytes of the echo payload (about the size of an encoded SendSignalRequest). */
  echoPayloadBytes: number;
  /** The target for signal-to-resume p99, ms. */
  targetP99Ms: number;
  /** Bound of one wait for a mark (handler start, resume, a state), ms: a hang fails the run. */
  stepTimeoutMs: number;
  /** Upper bound of each phase, s: past it the run fails (a phase never stops early here). */
  phaseBudgetSeconds: number;
  /** The whole run is aborted (and cleaned up) past this, s. */
  watchdogSeconds: number;
}

function paramsFor(quick: boolean): Params {
  const common = {
    gapMs: 20,
    senders: 8,
    concurrentWorkerConcurrency: 8,
    echoPayloadBytes: 96,
    targetP99Ms: 50,
    stepTimeoutMs: 10_000,
  };
  return quick
    ? {
        mode: 'quick',
        jobs: 50,
        warmupJobs: 10,
        echoCalls: 300,
        echoWarmup: 50,
        phaseBudgetSeconds: 60,
        watchdogSeconds: 180,
        ...common,
      }
    : {
        mode: 'default',
        jobs: 300,
        warmupJobs: 50,
        echoCalls: 2000,
        echoWarmup: 200,
        phaseBudgetSeconds: 180,
        watchdogSeconds: 600,
        ...common,
      };
}

// ---------------------------------------------------------------------------------------------
// Marks: instants (performance.now()) recorded by the handlers, awaited by the senders

class Marks {
  private readonly times = new Map<string, number[]>();
  private readonly waiters = new Map<string, { index: number; resolve: (at: number) => void }[]>();

  /** Records now as the next instant of `id` and wakes whoever waits for it. */
  mark(id: string): void {
    const at = performance.now();
    let list = this.times.get(id);
    if (!list) {
      list = [];
      this.times.set(id, list);
    }
    list.push(at);
    const waiting = this.waiters.get(id);
    if (!waiting) return;
    const index = list.length - 1;
    for (const waiter of waiting.filter((w) => w.index === index)) waiter.resolve(at);
    const rest = waiting.filter((w) => w.index !== index);
    if (rest.length) this.waiters.set(id, rest);
    else this.waiters.delete(id);
  }

  /** The `index`-th instant of `id`, if recorded. */
  at(id: string, index: number): number | undefined {
    return this.times.get(id)?.[index];
  }

  /** Resolves with the `index`-th instant of `id` (at once if recorded); rejects after `timeoutMs`. */
  when(id: string, index: number, timeoutMs: number, what: string): Promise<number> {
    const known = this.at(id, index);
    if (known !== undefined) return Promise.resolve(known);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${what} of job ${id} not seen within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const list = this.waiters.get(id) ?? [];
      list.push({
        index,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      });
      this.waiters.set(id, list);
    });
  }
}

/** Each run of the handler, on entry (0: first run, 1: the replay after the signal). */
const entries = new Marks();
/** The handler going on after `waitForSignal` returned (only the replay gets there). */
const resumes = new Marks();

const JOB_TYPE = 'approval-flow';
const SIGNAL = 'approval';

async function startWorker(stack: Stack, taskQueue: string, concurrency: number): Promise<() => Promise<void>> {
  const worker = new Worker({ address: stack.server.address, apiKey: stack.workerKey, taskQueue, concurrency });
  worker.register(JOB_TYPE, async (ctx) => {
    entries.mark(ctx.job.id);
    const s = await ctx.waitForSignal(SIGNAL);
    resumes.mark(ctx.job.id);
    return s.timedOut ? null : s.payload;
  });
  const running = worker.run();
  running.catch((error: unknown) => progress(`worker on ${taskQueue} failed: ${(error as Error).message}`));
  const stop = async (): Promise<void> => {
    await worker.shutdown({ graceMs: 2000 });
    await running.catch(() => {});
    await sleep(100); // lets the server see the cancelled long poll before it shuts down
  };
  onTeardown(`worker on ${taskQueue}`, stop);
  return stop;
}

// ---------------------------------------------------------------------------------------------
// RPCs

async function createJob(ops: AetherisClients, queue: string, i: number): Promise<string> {
  const { job } = await unary(
    ops.runtime,
    ops.runtime.createJob,
    CreateJobRequest.fromPartial({ jobType: JOB_TYPE, queue, input: Buffer.from(JSON.stringify({ i })) }),
    ops.metadata(),
  );
  if (!job) throw new Error('CreateJob returned no job');
  return job.id;
}

async function getJob(ops: AetherisClients, jobId: string): Promise<Job> {
  const { job } = await unary(ops.runtime, ops.runtime.getJob, GetJobRequest.fromPartial({ jobId }), ops.metadata());
  if (!job) throw new Error(`GetJob ${jobId} returned no job`);
  return job;
}

/** Polls GetJob every `everyMs` until the job is in `state`; returns when it was seen so. */
async function waitForState(
  ops: AetherisClients,
  jobId: string,
  state: JobState,
  timeoutMs: number,
  everyMs: number,
): Promise<{ job: Job; seenAt: number }> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const job = await getJob(ops, jobId);
    const seenAt = performance.now();
    if (job.state === state) return { job, seenAt };
    if (seenAt > until)
      throw new Error(`job ${jobId} not ${JobState[state]} within ${timeoutMs} ms: ${JobState[job.state]}`);
    await sleep(everyMs);
  }
}

const payloadOf = (i: number): { approved: true; i: number } => ({ approved: true, i });

function sendSignal(ops: AetherisClients, jobId: string, i: number): Promise<unknown> {
  return unary(
    ops.signal,
    ops.signal.sendSignal,
    SendSignalRequest.fromPartial({
      jobId,
      name: SIGNAL,
      signalId: randomUUID(),
      payload: Buffer.from(JSON.stringify(payloadOf(i))),
    }),
    ops.metadata(),
  );
}

/** Polls a count query every 50 ms until it reaches `target`. */
async function waitForCount(db: pg.Client, query: string, args: unknown[], target: number, timeoutMs: number) {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const n = Number((await db.query<{ n: string }>(query, args)).rows[0]?.n ?? 0);
    if (n >= target) return;
    if (performance.now() > until) throw new Error(`only ${n} of ${target} after ${timeoutMs} ms: ${query}`);
    await sleep(50);
  }
}

const countInState = `select count(*)::text as n from aetheris.jobs where tenant_id = $1 and queue = $2 and state = $3`;

// ---------------------------------------------------------------------------------------------
// Server-side instants: the `recorded_at` of the jobs' events (clock_timestamp() at append time)

/**
 * `performance.now() + offset` = wall-clock ms since the epoch. Date.now() moves in 1 ms steps:
 * read right at a step, the offset is exact to a few µs. PostgreSQL's clock_timestamp() reads
 * the same wall clock (same machine).
 */
function wallClockOffsetMs(): number {
  const samples: number[] = [];
  for (let k = 0; k < 7; k++) {
    const start = Date.now();
    let now = start;
    let before = performance.now();
    while (now === start) {
      before = performance.now();
      now = Date.now();
    }
    samples.push(now - (before + performance.now()) / 2);
  }
  return percentile(
    [...samples].sort((a, b) => a - b),
    0.5,
  );
}

/** The instants (performance.now() domain, ms) of each job's events, by type, in order. */
type EventTimes = Map<string, Map<string, number[]>>;

async function eventTimes(db: pg.Client, jobIds: readonly string[], offsetMs: number): Promise<EventTimes> {
  const rows = await db.query<{ job_id: string; type: string; us: string }>(
    `select job_id::text as job_id, type, (extract(epoch from recorded_at) * 1000000)::bigint::text as us
       from aetheris.events where tenant_id = $1 and job_id = any($2::uuid[]) order by job_id, seq`,
    [TENANT, jobIds],
  );
  const times: EventTimes = new Map();
  for (const row of rows.rows) {
    let byType = times.get(row.job_id);
    if (!byType) {
      byType = new Map();
      times.set(row.job_id, byType);
    }
    const list = byType.get(row.type) ?? [];
    list.push(Number(row.us) / 1000 - offsetMs);
    byType.set(row.type, list);
  }
  return times;
}

const eventAt = (times: EventTimes, jobId: string, type: string, index = 0): number =>
  times.get(jobId)?.get(type)?.[index] ?? Number.NaN;

// ---------------------------------------------------------------------------------------------
// Samples and segments

/** One resume: client instants and the server's event instants, all in the performance.now() domain. */
interface ResumeSample {
  jobId: string;
  /** Right before SendSignal. */
  sentAt: number;
  /** SendSignal's response received. */
  rpcDoneAt: number;
  /** The handler going on after waitForSignal. */
  resumedAt: number;
  /** The replay's handler entry (second run). */
  replayAt: number;
  /** GetJob first saw COMPLETED (sequential phase only). */
  completedSeenAt?: number;
}

/** One start: CreateJob while the worker waits, to the handler's first entry. */
interface StartSample {
  jobId: string;
  createdAt: number;
  rpcDoneAt: number;
  startedAt: number;
}

/** Where a latency goes, consecutive parts (ms) that add up to the whole for each sample. */
type Segments = Record<string, Stats>;

const RESUME_SEGMENTS: { key: string; label: string }[] = [
  { key: 'requestToReceived', label: 'SendSignal request → `signal.received` appended (gRPC in, auth, SQL start)' },
  { key: 'receivedToResumed', label: '`signal.received` → `job.resumed` appended (consume + resume, same tx)' },
  { key: 'resumedToLeased', label: '`job.resumed` → `job.leased` (commit, wake-up of the long poll, acquire)' },
  { key: 'leasedToReplay', label: '`job.leased` → handler replay starts (commit, history read, gRPC out, SDK)' },
  { key: 'replayToResumed', label: 'replay start → past `waitForSignal` (answered from the ledger)' },
];

const START_SEGMENTS: { key: string; label: string }[] = [
  { key: 'requestToCreated', label: 'CreateJob request → `job.created` appended' },
  { key: 'createdToLeased', label: '`job.created` → `job.leased` (commit, wake-up of the long poll, acquire)' },
  { key: 'leasedToStart', label: '`job.leased` → handler starts (commit, history read, gRPC out, SDK)' },
];

function resumeParts(sample: ResumeSample, times: EventTimes): Record<string, number> {
  const received = eventAt(times, sample.jobId, 'aetheris.signal.received');
  const resumed = eventAt(times, sample.jobId, 'aetheris.job.resumed');
  const leased = eventAt(times, sample.jobId, 'aetheris.job.leased', 1);
  return {
    requestToReceived: received - sample.sentAt,
    receivedToResumed: resumed - received,
    resumedToLeased: leased - resumed,
    leasedToReplay: sample.replayAt - leased,
    replayToResumed: sample.resumedAt - sample.replayAt,
  };
}

function startParts(sample: StartSample, times: EventTimes): Record<string, number> {
  const created = eventAt(times, sample.jobId, 'aetheris.job.created');
  const leased = eventAt(times, sample.jobId, 'aetheris.job.leased', 0);
  return {
    requestToCreated: created - sample.createdAt,
    createdToLeased: leased - created,
    leasedToStart: sample.startedAt - leased,
  };
}

function segmentStats(parts: Record<string, number>[], keys: { key: string }[]): Segments {
  return Object.fromEntries(keys.map(({ key }) => [key, summarize(parts.map((p) => p[key] ?? Number.NaN))]));
}

/** Samples whose server instants fall outside the client's [start, end] (clock trouble), with 0.3 ms slack. */
function outOfOrder(parts: Record<string, number>[]): number {
  return parts.filter((p) => Object.values(p).some((ms) => !Number.isFinite(ms) || ms < -0.3)).length;
}

interface TailSample {
  jobId: string;
  totalMs: number;
  parts: Record<string, number>;
  /** GC pauses of this process within the sample's interval, ms. */
  gcMs: number;
}

function slowest(samples: ResumeSample[], times: EventTimes, count: number, pauses: PauseWatch): TailSample[] {
  return [...samples]
    .sort((a, b) => b.resumedAt - b.sentAt - (a.resumedAt - a.sentAt))
    .slice(0, count)
    .map((sample) => ({
      jobId: sample.jobId,
      totalMs: round3(sample.resumedAt - sample.sentAt),
      parts: Object.fromEntries(Object.entries(resumeParts(sample, times)).map(([k, v]) => [k, round3(v)])),
      gcMs: pauses.gcWithin(sample.sentAt, sample.resumedAt),
    }));
}

// ---------------------------------------------------------------------------------------------
// CPU of a phase, split between this process, PostgreSQL and everything else

type PhaseCpu = CpuUse & {
  /** µs of CPU of all PostgreSQL processes per operation (Linux /proc, 10 ms resolution). */
  postgresUsPerOp: number;
  /** µs per operation of the machine's busy CPU that was neither this process nor PostgreSQL. */
  otherUsPerOp: number;
  /** Share of all cores busy with neither this process nor PostgreSQL during the phase, 0..1: noise. */
  otherBusyShare: number;
};

/** Foreign load above which a phase is flagged as noisy. */
const NOISY_SHARE = 0.1;

async function phaseCpuMark(stack: Stack): Promise<{ machine: ReturnType<typeof cpuMark>; postgresMs: number }> {
  return { postgresMs: await processTreeCpuMs(stack.postmasterPid), machine: cpuMark() };
}

async function phaseCpuSince(
  stack: Stack,
  mark: { machine: ReturnType<typeof cpuMark>; postgresMs: number },
  ops: number,
): Promise<PhaseCpu> {
  const use = cpuSince(mark.machine, ops);
  const postgresUsPerOp =
    Math.round((((await processTreeCpuMs(stack.postmasterPid)) - mark.postgresMs) * 1000 * 10) / ops) / 10;
  const otherUsPerOp = Math.round((use.machineUsPerOp - use.nodeUsPerOp - postgresUsPerOp) * 10) / 10;
  const otherShare = use.machineUsPerOp > 0 ? Math.max(0, otherUsPerOp) / use.machineUsPerOp : 0;
  return {
    ...use,
    postgresUsPerOp,
    otherUsPerOp,
    otherBusyShare: Math.round(use.machineBusyShare * otherShare * 1000) / 1000,
  };
}

// ---------------------------------------------------------------------------------------------
// The run

interface ConcurrentPhase {
  senders: number;
  /** Worker instances, each holding one AcquireJob long poll at a time. */
  workers: number;
  /** Concurrency of each worker. */
  workerConcurrency: number;
  jobs: number;
  /** Time to create and park all the jobs, s. */
  parkSeconds: number;
  /** First SendSignal → last resume, s. */
  seconds: number;
  resumesPerSecond: number;
  /** First SendSignal → last `job.completed` appended, s; and completions per second over it. */
  completedSeconds: number;
  completionsPerSecond: number;
  signalToResume: Stats;
  sendSignalRpc: Stats;
  segments: Segments;
  tail: TailSample[];
  /**
   * Time between consecutive `job.leased` events of the phase (its mean is 1 / throughput by
   * construction; its median is the cost of one acquire cycle while jobs are waiting).
   */
  leaseSpacing: Stats;
  queue: QueueShares;
  cpu: PhaseCpu;
  pauses: Pauses;
  /** Server instants outside the client's interval (clock trouble; should be 0). */
  outOfOrderSamples: number;
}

/**
 * S senders, each resuming its N parked jobs one after the other (closed loop), served by
 * `workers` Workers of concurrency `concurrencyEach` on their own queue (stopped afterwards).
 */
async function concurrentPhase(
  stack: Stack,
  params: Params,
  queue: string,
  workers: number,
  concurrencyEach: number,
): Promise<ConcurrentPhase> {
  const { db, ops } = stack;
  const budgetMs = params.phaseBudgetSeconds * 1000;
  const step = params.stepTimeoutMs;
  const total = params.senders * params.jobs;
  const label = `${workers} worker${workers > 1 ? 's' : ''} × concurrency ${concurrencyEach}`;
  progress(`concurrent (${label}): parking ${total} jobs`);
  const stops = await Promise.all(Array.from({ length: workers }, () => startWorker(stack, queue, concurrencyEach)));
  let phaseStart = performance.now();
  const ids: string[][] = await Promise.all(
    Array.from({ length: params.senders }, async (_, s) => {
      const mine: string[] = [];
      for (let k = 0; k < params.jobs; k++) mine.push(await createJob(ops, queue, s * params.jobs + k));
      return mine;
    }),
  );
  await waitForCount(db, countInState, [TENANT, queue, 'parked'], total, budgetMs);
  const parkSeconds = (performance.now() - phaseStart) / 1000;
  await sleep(200); // the workers settle back into their long polls

  progress(`concurrent (${label}): ${params.senders} senders resume ${total} jobs`);
  const mark = await phaseCpuMark(stack);
  const watch = watchPauses();
  phaseStart = performance.now();
  const perSender: ResumeSample[][] = await Promise.all(
    ids.map(async (mine, s) => {
      const samples: ResumeSample[] = [];
      for (const [k, jobId] of mine.entries()) {
        const sentAt = performance.now();
        await sendSignal(ops, jobId, s * params.jobs + k);
        const rpcDoneAt = performance.now();
        const resumedAt = await resumes.when(jobId, 0, step, 'resume');
        samples.push({ jobId, sentAt, rpcDoneAt, resumedAt, replayAt: entries.at(jobId, 1) ?? Number.NaN });
      }
      return samples;
    }),
  );
  const all = perSender.flat();
  const wall = Math.max(...all.map((s) => s.resumedAt)) - phaseStart;
  const cpu = await phaseCpuSince(stack, mark, total);
  const pauses = watch.stop();
  await waitForCount(db, countInState, [TENANT, queue, 'completed'], total, budgetMs);
  for (const stop of stops) await stop();
  const times = await eventTimes(
    db,
    all.map((s) => s.jobId),
    wallClockOffsetMs(),
  );
  const completedWall = Math.max(...all.map((s) => eventAt(times, s.jobId, 'aetheris.job.completed'))) - phaseStart;
  const parts = all.map((s) => resumeParts(s, times));
  const leases = all.map((s) => eventAt(times, s.jobId, 'aetheris.job.leased', 1)).sort((a, b) => a - b);
  return {
    senders: params.senders,
    workers,
    workerConcurrency: concurrencyEach,
    jobs: total,
    parkSeconds: round3(parkSeconds),
    seconds: round3(wall / 1000),
    resumesPerSecond: Math.round((total / wall) * 1000),
    completedSeconds: round3(completedWall / 1000),
    completionsPerSecond: Math.round((total / completedWall) * 1000),
    signalToResume: summarize(all.map((s) => s.resumedAt - s.sentAt)),
    sendSignalRpc: summarize(all.map((s) => s.rpcDoneAt - s.sentAt)),
    segments: segmentStats(parts, RESUME_SEGMENTS),
    tail: slowest(all, times, tailCount(all.length), watch),
    leaseSpacing: summarize(leases.slice(1).map((at, k) => at - (leases[k] ?? Number.NaN))),
    queue: queueShares(all, times, workers * concurrencyEach, phaseStart, phaseStart + wall),
    cpu,
    pauses,
    outOfOrderSamples: outOfOrder(parts),
  };
}

/**
 * What a runnable job waited for, as shares of the phase's time, from the server's instants:
 * a job is runnable from `job.resumed` to its `job.leased`, and holds a worker slot from then to
 * `job.completed` (the SDK frees the slot a little later, when CompleteJob returns).
 */
interface QueueShares {
  /** Worker slots in the phase (workers × concurrency). */
  slots: number;
  /** Time-averaged number of runnable jobs not yet leased. */
  meanRunnable: number;
  /** Time-averaged number of jobs holding a slot. */
  meanRunning: number;
  /** Share of the time a runnable job waited while a slot was free: waiting for an AcquireJob poll. */
  waitingWithFreeSlot: number;
  /** Share of the time a runnable job waited while every slot was taken. */
  waitingAllSlotsBusy: number;
  /** Share of the time no job was waiting. */
  nothingWaiting: number;
}

function queueShares(samples: ResumeSample[], times: EventTimes, slots: number, from: number, to: number): QueueShares {
  const steps: { at: number; runnable: number; running: number }[] = [];
  for (const { jobId } of samples) {
    const resumed = eventAt(times, jobId, 'aetheris.job.resumed');
    const leased = eventAt(times, jobId, 'aetheris.job.leased', 1);
    const completed = eventAt(times, jobId, 'aetheris.job.completed');
    steps.push({ at: resumed, runnable: 1, running: 0 });
    steps.push({ at: leased, runnable: -1, running: 1 });
    steps.push({ at: completed, runnable: 0, running: -1 });
  }
  steps.sort((a, b) => a.at - b.at);
  let runnable = 0;
  let running = 0;
  let last = from;
  const acc = { runnable: 0, running: 0, freeSlot: 0, allBusy: 0, nothing: 0 };
  for (const step of [...steps, { at: to, runnable: 0, running: 0 }]) {
    const at = Math.min(Math.max(step.at, from), to);
    const span = at - last;
    if (span > 0) {
      acc.runnable += runnable * span;
      acc.running += running * span;
      if (runnable === 0) acc.nothing += span;
      else if (running >= slots) acc.allBusy += span;
      else acc.freeSlot += span;
      last = at;
    }
    runnable += step.runnable;
    running += step.running;
  }
  const wall = to - from;
  const share = (ms: number): number => Math.round((ms / wall) * 1000) / 1000;
  return {
    slots,
    meanRunnable: round3(acc.runnable / wall),
    meanRunning: round3(acc.running / wall),
    waitingWithFreeSlot: share(acc.freeSlot),
    waitingAllSlotsBusy: share(acc.allBusy),
    nothingWaiting: share(acc.nothing),
  };
}

/** The slowest 1% of samples, at least 3 and at most 10. */
const tailCount = (n: number): number => Math.min(10, Math.max(3, Math.ceil(n / 100)));

interface Report {
  benchmark: 'signal-resume';
  date: string;
  command: string;
  revision: Revision;
  machine: MachineInfo;
  parameters: Params;
  echo: EchoSequential;
  createToStart: {
    /** CreateJob sent → the handler's first entry, a worker (concurrency 1) idle in its long poll. */
    latency: Stats;
    createJobRpc: Stats;
    segments: Segments;
  };
  sequential: {
    workerConcurrency: 1;
    /** SendSignal sent → the handler past waitForSignal. */
    signalToResume: Stats;
    sendSignalRpc: Stats;
    /** SendSignal sent → GetJob (polled every ms from the resume on) first sees COMPLETED. */
    signalToCompletedSeen: Stats;
    /** SendSignal sent → `aetheris.job.completed` appended (server clock). */
    signalToCompletedRecorded: Stats;
    segments: Segments;
    /** The slowest 1% (3..10) of samples, with their segments. */
    tail: TailSample[];
    cpu: PhaseCpu;
    pauses: Pauses;
  };
  /** S senders, S × N parked jobs, one Worker of concurrency C: the concurrent case. */
  concurrent: ConcurrentPhase;
  /**
   * Control: the same senders and jobs, but S Workers of concurrency 1 — S AcquireJob long polls
   * at a time instead of one — to tell the worker's single poll from the server's capacity.
   */
  control: ConcurrentPhase;
  clock: {
    /** performance.now() → wall clock offsets before and after the sequential phase differ by this, ms. */
    driftMs: number;
    /** Samples whose server instants fell outside the client's interval (should be 0). */
    outOfOrderSamples: number;
  };
  ratios: {
    resumeP50OverEchoP50: number;
    resumeP50OverCreateToStartP50: number;
    resumeP99OverCreateToStartP99: number;
    concurrentResumeP50OverSequentialP50: number;
    controlOverConcurrentThroughput: number;
  };
  target: { p99Ms: number; sequentialMet: boolean; concurrentMet: boolean };
}

async function run(params: Params): Promise<Report> {
  const started = performance.now();
  // Other processes on a shared machine are the main source of noise: measure before we start.
  const backgroundBusyShare = await measureBackgroundBusyShare();
  const stack = await startStack();
  const { db, ops } = stack;
  const budgetMs = params.phaseBudgetSeconds * 1000;
  const step = params.stepTimeoutMs;

  // 1. Reference: sequential echo round trips.
  const echoAddress = await startEchoServer();
  progress(`echo: ${params.echoWarmup} warm-up + ${params.echoCalls} sequential calls`);
  const echo = await echoSequential(
    echoClient(echoAddress),
    randomBytes(params.echoPayloadBytes),
    `Bearer ${stack.operatorKey}`,
    {
      warmup: params.echoWarmup,
      calls: params.echoCalls,
      budgetMs,
    },
  );

  // 2. One worker, concurrency 1, idle in its long poll between jobs.
  const seqQueue = 'perf-signal-seq';
  const stopSeqWorker = await startWorker(stack, seqQueue, 1);

  /** Creates a job while the worker waits; returns when the handler started; then waits for PARKED. */
  const parkOne = async (i: number): Promise<StartSample> => {
    await sleep(params.gapMs);
    const createdAt = performance.now();
    const jobId = await createJob(ops, seqQueue, i);
    const rpcDoneAt = performance.now();
    const startedAt = await entries.when(jobId, 0, step, 'first handler run');
    await waitForState(ops, jobId, JobState.JOB_STATE_PARKED, step, 2);
    return { jobId, createdAt, rpcDoneAt, startedAt };
  };
  /** Signals a parked job while the worker waits; returns when the handler went on past the wait. */
  const resumeOne = async (jobId: string, i: number, observeCompletion: boolean): Promise<ResumeSample> => {
    await sleep(params.gapMs);
    const sentAt = performance.now();
    await sendSignal(ops, jobId, i);
    const rpcDoneAt = performance.now();
    const resumedAt = await resumes.when(jobId, 0, step, 'resume');
    const replayAt = entries.at(jobId, 1) ?? Number.NaN;
    const sample: ResumeSample = { jobId, sentAt, rpcDoneAt, resumedAt, replayAt };
    if (observeCompletion) {
      const { job, seenAt } = await waitForState(ops, jobId, JobState.JOB_STATE_COMPLETED, step, 1);
      const output = JSON.parse(job.output.toString('utf8')) as unknown;
      if (JSON.stringify(output) !== JSON.stringify(payloadOf(i))) {
        throw new Error(`job ${jobId} completed with ${job.output.toString('utf8')}, not its signal's payload`);
      }
      sample.completedSeenAt = seenAt;
    }
    return sample;
  };

  progress(`warm-up: ${params.warmupJobs} full cycles (create, park, signal, complete)`);
  const warmup: StartSample[] = [];
  for (let i = 1; i <= params.warmupJobs; i++) warmup.push(await parkOne(-i));
  for (const [k, sample] of warmup.entries()) await resumeOne(sample.jobId, -k - 1, true);

  // 3. Park N jobs one at a time: create-to-start, the reference wake-up path.
  progress(`park: ${params.jobs} jobs created one at a time while the worker waits (create-to-start)`);
  let deadline = performance.now() + budgetMs;
  const starts: StartSample[] = [];
  for (let i = 1; i <= params.jobs; i++) {
    starts.push(await parkOne(i));
    if (performance.now() > deadline) throw new Error(`park phase over its budget of ${params.phaseBudgetSeconds} s`);
  }

  // 4. Resume them one at a time: signal-to-resume.
  progress(`resume: ${params.jobs} signals one at a time, ${params.gapMs} ms apart (signal-to-resume)`);
  const offsetBefore = wallClockOffsetMs();
  deadline = performance.now() + budgetMs;
  const mark = await phaseCpuMark(stack);
  const watch = watchPauses();
  const resumed: ResumeSample[] = [];
  for (const [k, start] of starts.entries()) {
    resumed.push(await resumeOne(start.jobId, k + 1, true));
    if (performance.now() > deadline) throw new Error(`resume phase over its budget of ${params.phaseBudgetSeconds} s`);
  }
  const seqCpu = await phaseCpuSince(stack, mark, resumed.length);
  const seqPauses = watch.stop();
  const offsetAfter = wallClockOffsetMs();
  const offset = (offsetBefore + offsetAfter) / 2;
  await stopSeqWorker();

  const seqTimes = await eventTimes(
    db,
    resumed.map((s) => s.jobId),
    offset,
  );
  const startSplits = starts.map((s) => startParts(s, seqTimes));
  const resumeSplits = resumed.map((s) => resumeParts(s, seqTimes));

  // 5. Concurrent: S senders over S × N parked jobs, one worker of concurrency C; then the control.
  const concurrent = await concurrentPhase(
    stack,
    params,
    'perf-signal-concurrent',
    1,
    params.concurrentWorkerConcurrency,
  );
  const control = await concurrentPhase(stack, params, 'perf-signal-control', params.senders, 1);

  // 6. Figures.
  const createToStart = {
    latency: summarize(starts.map((s) => s.startedAt - s.createdAt)),
    createJobRpc: summarize(starts.map((s) => s.rpcDoneAt - s.createdAt)),
    segments: segmentStats(startSplits, START_SEGMENTS),
  };
  const sequential = {
    workerConcurrency: 1 as const,
    signalToResume: summarize(resumed.map((s) => s.resumedAt - s.sentAt)),
    sendSignalRpc: summarize(resumed.map((s) => s.rpcDoneAt - s.sentAt)),
    signalToCompletedSeen: summarize(resumed.map((s) => (s.completedSeenAt ?? Number.NaN) - s.sentAt)),
    signalToCompletedRecorded: summarize(
      resumed.map((s) => eventAt(seqTimes, s.jobId, 'aetheris.job.completed') - s.sentAt),
    ),
    segments: segmentStats(resumeSplits, RESUME_SEGMENTS),
    tail: slowest(resumed, seqTimes, tailCount(resumed.length), watch),
    cpu: seqCpu,
    pauses: seqPauses,
  };
  const ratios = {
    resumeP50OverEchoP50: ratio(sequential.signalToResume.p50, echo.p50),
    resumeP50OverCreateToStartP50: ratio(sequential.signalToResume.p50, createToStart.latency.p50),
    resumeP99OverCreateToStartP99: ratio(sequential.signalToResume.p99, createToStart.latency.p99),
    concurrentResumeP50OverSequentialP50: ratio(concurrent.signalToResume.p50, sequential.signalToResume.p50),
    controlOverConcurrentThroughput: ratio(control.resumesPerSecond, concurrent.resumesPerSecond),
  };

  progress(`done in ${Math.round(performance.now() - started) / 1000} s`);
  return {
    benchmark: 'signal-resume',
    date: new Date().toISOString(),
    command: `npm run perf:signal${params.mode === 'quick' ? ' -- --quick' : ''}`,
    revision: revision(),
    machine: machineInfo(stack.postgresVersion, stack.postgresSettings, backgroundBusyShare),
    parameters: params,
    echo,
    createToStart,
    sequential,
    concurrent,
    control,
    clock: {
      driftMs: round3(offsetAfter - offsetBefore),
      outOfOrderSamples:
        outOfOrder([...startSplits, ...resumeSplits]) + concurrent.outOfOrderSamples + control.outOfOrderSamples,
    },
    ratios,
    target: {
      p99Ms: params.targetP99Ms,
      sequentialMet: sequential.signalToResume.p99 <= params.targetP99Ms,
      concurrentMet: concurrent.signalToResume.p99 <= params.targetP99Ms,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Output

const statsRow = (name: string, s: Stats): string[] => [
  name,
  String(s.n),
  f(s.p50),
  f(s.p90),
  f(s.p99),
  f(s.max),
  f(s.mean),
];

const phaseName = (phase: ConcurrentPhase): string =>
  `${phase.senders} senders, ${phase.workers} worker${phase.workers > 1 ? 's' : ''} × concurrency ${phase.workerConcurrency}`;

function latencyRows(report: Report): string[][] {
  const { echo, createToStart, sequential: seq, concurrent: conc, control } = report;
  return [
    statsRow('echo (grpc-js unary, sequential)', echo),
    statsRow('create → handler start (idle worker)', createToStart.latency),
    statsRow('  CreateJob RPC', createToStart.createJobRpc),
    statsRow('signal → resume (idle worker, sequential)', seq.signalToResume),
    statsRow('  SendSignal RPC', seq.sendSignalRpc),
    statsRow('  signal → COMPLETED seen by GetJob', seq.signalToCompletedSeen),
    statsRow('  signal → job.completed recorded', seq.signalToCompletedRecorded),
    statsRow(`signal → resume (${phaseName(conc)})`, conc.signalToResume),
    statsRow('  SendSignal RPC', conc.sendSignalRpc),
    statsRow(`control: signal → resume (${phaseName(control)})`, control.signalToResume),
    statsRow('  SendSignal RPC', control.sendSignalRpc),
  ];
}

const HEADERS = ['ms', 'n', 'p50', 'p90', 'p99', 'max', 'mean'];

function verdict(report: Report): string {
  const { target, sequential: seq, concurrent: conc } = report;
  const met = (ok: boolean): string => (ok ? 'met' : '**missed**');
  return (
    `target p99 ≤ ${target.p99Ms} ms: sequential ${f(seq.signalToResume.p99)} ms ${met(target.sequentialMet)}, ` +
    `${conc.senders} senders on one worker of concurrency ${conc.workerConcurrency} ` +
    `${f(conc.signalToResume.p99)} ms ${met(target.concurrentMet)}`
  );
}

const throughputLine = (name: string, phase: ConcurrentPhase): string =>
  `${name}: ${phase.jobs} resumes in ${phase.seconds} s = ${phase.resumesPerSecond}/s, completions ` +
  `${phase.completionsPerSecond}/s, job.leased every ${f(phase.leaseSpacing.p50)} ms (p50); a runnable job ` +
  `waited with a slot free ${Math.round(phase.queue.waitingWithFreeSlot * 100)}% of the time, with all ` +
  `${phase.queue.slots} slots busy ${Math.round(phase.queue.waitingAllSlotsBusy * 100)}%`;

function consoleSummary(report: Report): string {
  const { ratios, concurrent: conc, control } = report;
  return [
    ...table(HEADERS, latencyRows(report)),
    '',
    `resume p50 / echo p50 = ${ratios.resumeP50OverEchoP50}   resume p50 / create-to-start p50 = ` +
      `${ratios.resumeP50OverCreateToStartP50}   (p99 / p99 = ${ratios.resumeP99OverCreateToStartP99})`,
    throughputLine(phaseName(conc), conc),
    throughputLine(`control, ${phaseName(control)}`, control),
    verdict(report).replaceAll('**', ''),
    `load from other processes: ${noiseLine(report).replaceAll('**', '')}`,
  ].join('\n');
}

function segmentRows(segments: Segments, labels: { key: string; label: string }[]): string[][] {
  return labels.map(({ key, label }) => {
    const s = segments[key];
    return s ? [label, f(s.p50), f(s.p90), f(s.p99), f(s.max), f(s.mean)] : [label, '', '', '', '', ''];
  });
}

function tailRows(tail: TailSample[]): string[][] {
  return tail.map((sample) => [
    sample.jobId.slice(0, 8),
    f(sample.totalMs),
    ...RESUME_SEGMENTS.map(({ key }) => f(sample.parts[key] ?? Number.NaN)),
    f(sample.gcMs),
  ]);
}

function noiseLine(report: Report): string {
  const phases: [string, PhaseCpu][] = [
    ['sequential', report.sequential.cpu],
    ['concurrent', report.concurrent.cpu],
    ['control', report.control.cpu],
  ];
  const noisy = phases.some(([, cpu]) => cpu.otherBusyShare > NOISY_SHARE);
  return (
    phases.map(([name, cpu]) => `${name} ${Math.round(cpu.otherBusyShare * 100)}%`).join(', ') +
    (noisy ? ' (**noisy run**: other processes were using the cores)' : '')
  );
}

const meanSum = (segments: Segments): number => round3(Object.values(segments).reduce((acc, s) => acc + s.mean, 0));

function markdown(report: Report): string {
  const { machine, parameters: p, echo, createToStart, sequential: seq, concurrent: conc, control } = report;
  const { ratios, clock } = report;
  const segHeaders = ['part', 'p50', 'p90', 'p99', 'max', 'mean'];
  const tailHeaders = ['job', 'total', ...RESUME_SEGMENTS.map((_, k) => `part ${k + 1}`), 'GC within'];
  const cpuRow = (name: string, cpu: PhaseCpu): string[] => [
    name,
    cpu.nodeUsPerOp.toFixed(0),
    Number.isNaN(cpu.postgresUsPerOp) ? 'n/a' : cpu.postgresUsPerOp.toFixed(0),
    Number.isNaN(cpu.otherUsPerOp) ? 'n/a' : cpu.otherUsPerOp.toFixed(0),
    cpu.machineUsPerOp.toFixed(0),
    `${Math.round(cpu.machineBusyShare * 100)}%`,
  ];
  const pauseRow = (name: string, pauses: Pauses): string[] => [
    name,
    String(pauses.gcCount),
    f(pauses.gcTotalMs),
    f(pauses.gcMaxMs),
    f(pauses.loopDelayP50Ms),
    f(pauses.loopDelayP99Ms),
    f(pauses.loopDelayMaxMs),
  ];
  const waitShare = (conc.segments.resumedToLeased?.mean ?? Number.NaN) / conc.signalToResume.mean;
  return [
    `# Signal-to-resume latency — ${report.date.slice(0, 10)}`,
    '',
    `Generated by \`perf/signal-resume.ts\` (\`${report.command}\`, mode \`${p.mode}\`). Every figure is in`,
    'milliseconds unless marked. Medians are the figures to quote; p99 on 2 shared cores is noisy (the',
    'senders, the workers, the server and PostgreSQL all compete for the same cores, and a GC pause or a',
    'checkpoint lands in the tail). Re-run before drawing conclusions from differences under ~10%.',
    '',
    revisionLine(report.revision),
    '',
    ...machineSection(machine),
    `- Load from other processes during the measured phases (share of all cores busy with neither this process`,
    `  nor PostgreSQL): ${noiseLine(report)}`,
    '',
    '## Parameters',
    '',
    `- Handler \`${JOB_TYPE}\` (SDK \`Worker\`, in-process): \`const s = await ctx.waitForSignal('${SIGNAL}'); ` +
      'mark(resumedAt); return s.payload`.',
    `- Sequential: one worker, concurrency 1. ${p.warmupJobs} unmeasured full cycles first; then ${p.jobs} jobs`,
    `  created one at a time (${p.gapMs} ms apart, each awaited until PARKED by polling GetJob) — that is the`,
    `  create-to-start reference — then signalled one at a time, ${p.gapMs} ms apart so the worker is back in its`,
    '  AcquireJob long poll, each awaited until GetJob (polled every ms) sees COMPLETED with the signal payload.',
    `- Concurrent: one worker, concurrency ${p.concurrentWorkerConcurrency}; ${conc.jobs} jobs created by ` +
      `${p.senders} concurrent creators and parked`,
    `  (${f(conc.parkSeconds)} s); then ${p.senders} senders, each resuming its ${p.jobs} jobs one after the other (the`,
    '  next SendSignal as soon as the previous job resumed: closed loop, no pause).',
    `- Control: the same with ${control.workers} workers of concurrency ${control.workerConcurrency} on another queue ` +
      `(${control.workers} AcquireJob long`,
    '  polls at a time instead of one).',
    '- Latency = handler past `waitForSignal` − right before `SendSignal` (`performance.now()`, same process).',
    '  Every SendSignal carries a fresh `signal_id` and the payload `{"approved":true,"i":i}`.',
    `- Echo: ${p.echoWarmup} warm-up + ${p.echoCalls} sequential calls, ${p.echoPayloadBytes}-byte payload plus an`,
    '  `authorization` header, identity serializers. PostgreSQL runs with fsync on, synchronous_commit on.',
    '',
    '## Result',
    '',
    `- ${verdict(report)}.`,
    `- Sequential signal → resume: p50 **${f(seq.signalToResume.p50)}**, p99 **${f(seq.signalToResume.p99)}**, ` +
      `max ${f(seq.signalToResume.max)}.`,
    `- ${phaseName(conc)}: p50 **${f(conc.signalToResume.p50)}**, p99 **${f(conc.signalToResume.p99)}**; ` +
      `**${conc.resumesPerSecond} resumes/s** (${conc.jobs} in ${conc.seconds} s), ${conc.completionsPerSecond} ` +
      'completions/s.',
    `- Control, ${phaseName(control)}: p50 ${f(control.signalToResume.p50)}, p99 ` +
      `${f(control.signalToResume.p99)}; ${control.resumesPerSecond} resumes/s (${ratios.controlOverConcurrentThroughput}×).`,
    '',
    '## Latency',
    '',
    ...table(HEADERS, latencyRows(report)),
    '',
    '## Ratios',
    '',
    `- signal-to-resume p50 ÷ echo p50 = **${ratios.resumeP50OverEchoP50}** (echo p50 ${f(echo.p50)})`,
    `- signal-to-resume p50 ÷ create-to-start p50 = **${ratios.resumeP50OverCreateToStartP50}**; p99 ÷ p99 = ` +
      `${ratios.resumeP99OverCreateToStartP99}`,
    `- concurrent p50 ÷ sequential p50 = ${ratios.concurrentResumeP50OverSequentialP50}`,
    `- control resumes/s ÷ concurrent resumes/s = ${ratios.controlOverConcurrentThroughput}`,
    '',
    '## Where the time goes',
    '',
    "Each sample is split at the `recorded_at` of the job's events (PostgreSQL `clock_timestamp()` at append",
    'time, inside the transaction, so before its commit) mapped onto the `performance.now()` timeline (offset',
    `read at a \`Date.now()\` step; it moved ${f(clock.driftMs)} ms over the sequential phase). The parts of one`,
    `sample add up to its total; ${clock.outOfOrderSamples} samples had a server instant outside the client's interval.`,
    'Percentiles of parts do not add up; means do.',
    '',
    `Sequential signal → resume (mean of the parts ${f(meanSum(seq.segments))} = mean total ` +
      `${f(seq.signalToResume.mean)}):`,
    '',
    ...table(segHeaders, segmentRows(seq.segments, RESUME_SEGMENTS)),
    '',
    `Create → handler start, the same path without a signal (mean of the parts ${f(meanSum(createToStart.segments))}):`,
    '',
    ...table(segHeaders, segmentRows(createToStart.segments, START_SEGMENTS)),
    '',
    `${phaseName(conc)} (mean of the parts ${f(meanSum(conc.segments))}):`,
    '',
    ...table(segHeaders, segmentRows(conc.segments, RESUME_SEGMENTS)),
    '',
    `Control, ${phaseName(control)} (mean of the parts ${f(meanSum(control.segments))}):`,
    '',
    ...table(segHeaders, segmentRows(control.segments, RESUME_SEGMENTS)),
    '',
    `The slowest sequential samples (parts 1–${RESUME_SEGMENTS.length} as in the tables above; "GC within": garbage`,
    "collection pauses of this process inside the sample's interval):",
    '',
    ...table(tailHeaders, tailRows(seq.tail)),
    '',
    `The slowest samples of ${phaseName(conc)}:`,
    '',
    ...table(tailHeaders, tailRows(conc.tail)),
    '',
    'CPU per resume (µs): this Node process (senders, workers, server), all PostgreSQL processes (from /proc),',
    'and the rest of the busy CPU of the machine (the OS, and any other process running meanwhile; the counters',
    'come from different kernel accounting, so a small negative rest is rounding); busy is the share of all cores:',
    '',
    ...table(
      ['phase', 'Node µs/op', 'PostgreSQL µs/op', 'other µs/op', 'machine µs/op', 'busy'],
      [
        cpuRow('sequential (incl. the pauses and GetJob polls)', seq.cpu),
        cpuRow(phaseName(conc), conc.cpu),
        cpuRow(`control, ${phaseName(control)}`, control.cpu),
      ],
    ),
    '',
    'Pauses of this Node process (GC from the performance timeline; event-loop delay sampled with a 1 ms timer):',
    '',
    ...table(
      ['phase', 'GCs', 'GC total', 'GC max', 'loop delay p50', 'p99', 'max'],
      [
        pauseRow('sequential', seq.pauses),
        pauseRow(phaseName(conc), conc.pauses),
        pauseRow(`control, ${phaseName(control)}`, control.pauses),
      ],
    ),
    '',
    '## Reading the figures',
    '',
    '- Senders, workers, server and echo server share one Node process and its event loop, so every figure',
    '  includes both ends; a remote worker would move the SDK half of the CPU elsewhere.',
    '- The sequential phase measures one resume with nothing else in flight: the pauses keep the worker idle',
    '  in its long poll, and GetJob polling starts only after the resume, so it does not delay the sample it',
    '  measures (it can delay the `job.completed` figures by up to a poll).',
    `- With ${conc.senders} closed-loop senders there are always ${conc.senders} resumes in flight, so the mean ` +
      `latency is ${conc.senders} ÷ throughput`,
    `  (Little's law: ${f((conc.senders * 1000) / conc.resumesPerSecond)} ms against a measured mean of ` +
      `${f(conc.signalToResume.mean)} ms). That phase measures capacity;`,
    '  its latency follows from throughput.',
    '- A `Worker` holds one AcquireJob long poll at a time whatever its concurrency (`src/worker/worker.ts`,',
    '  `poll()`), and stops polling while all its slots are taken: a job made runnable meanwhile waits. In the',
    `  concurrent phase \`job.resumed\` → \`job.leased\` is ${Math.round(waitShare * 100)}% of the mean latency. From the`,
    "  server's instants (runnable from `job.resumed` to `job.leased`, holding a slot until `job.completed`):",
    '',
    ...table(
      [
        'phase',
        'slots',
        'mean runnable',
        'mean in slots',
        'waiting, a slot free',
        'waiting, slots full',
        'none waiting',
      ],
      [conc, control].map((phase) => [
        phaseName(phase),
        String(phase.queue.slots),
        phase.queue.meanRunnable.toFixed(2),
        phase.queue.meanRunning.toFixed(2),
        `${Math.round(phase.queue.waitingWithFreeSlot * 100)}%`,
        `${Math.round(phase.queue.waitingAllSlotsBusy * 100)}%`,
        `${Math.round(phase.queue.nothingWaiting * 100)}%`,
      ]),
    ),
    '',
    `  Consecutive \`job.leased\` events of one worker were ${f(conc.leaseSpacing.p50)} ms apart at the median: the`,
    '  cost of one acquire cycle (AcquireJob in, acquire transaction, history read, response, next request).',
    `  With ${control.workers} polls (the control) the same senders got ${control.resumesPerSecond} resumes/s ` +
      `(${ratios.controlOverConcurrentThroughput}×) at p99 ${f(control.signalToResume.p99)} ms,`,
    `  the machine ${Math.round(control.cpu.machineBusyShare * 100)}% busy (one poll: ` +
      `${Math.round(conc.cpu.machineBusyShare * 100)}%).`,
    '',
  ].join('\n');
}

function writeReports(report: Report): Promise<string[]> {
  return writeReportFiles('signal-resume', report.date, report.parameters.mode, report, markdown(report));
}

// ---------------------------------------------------------------------------------------------
// Main

process.exitCode = await runBenchmark({
  name: 'signal-resume',
  params: paramsFor,
  run,
  summary: consoleSummary,
  write: writeReports,
});
