/**
 * Operations: GetSummary and ListStuckJobs against a real server, with jobs driven into each state
 * through raw worker RPCs, and `aetheris monitor` through the built CLI (`npm run build` first).
 * The background sweeper is slowed to once an hour, so an expired lease or an overdue wait stays
 * where it is, as it would with a stalled sweeper; tests run `sweepOnce()` when they need one.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobState, type RetryPolicy } from '../gen/ts/aetheris/runtime/v1/job.js';
import {
  AcquireJobRequest,
  type AcquireJobResponse,
  AwaitSignalOutcome,
  AwaitSignalRequest,
  BeginToolCallRequest,
  CreateJobRequest,
  FailJobRequest,
  GetSummaryRequest,
  type GetSummaryResponse,
  ListJobsRequest,
  ListStuckJobsRequest,
  type ListStuckJobsResponse,
  type StuckJob,
  StuckReason,
} from '../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { ToolCallDecision } from '../gen/ts/aetheris/runtime/v1/worker.js';
import type { Duration } from '../gen/ts/google/protobuf/duration.js';
import type { Timestamp } from '../gen/ts/google/protobuf/timestamp.js';
import { type AetherisClients, unary } from '../src/client/connect.js';
import { type CliResult, cliEnv, finish, spawnCli } from './helpers/cli.js';
import { expectGrpcError } from './helpers/grpc-assert.js';
import { createKey, query, startTestEnv, type TestEnv } from './helpers/harness.js';

let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv({ sweepIntervalMs: 3_600_000 });
});
afterAll(() => env.close());

const ms = (value: number): Duration => ({ seconds: BigInt(Math.floor(value / 1000)), nanos: (value % 1000) * 1e6 });
const durationMs = (value: Duration | undefined): number =>
  value ? Number(value.seconds) * 1000 + value.nanos / 1e6 : Number.NaN;
const timestampMs = (value: Timestamp | undefined): number =>
  value ? Number(value.seconds) * 1000 + value.nanos / 1e6 : Number.NaN;
const sleep = (value: number) => new Promise((resolve) => setTimeout(resolve, value));
const FAST_RETRY: Partial<RetryPolicy> = { initialBackoff: ms(1), maxBackoff: ms(1), backoffCoefficient: 1 };

/** An operator, a worker and a reader of one tenant. */
interface Tenant {
  name: string;
  ops: AetherisClients;
  worker: AetherisClients;
  reader: AetherisClients;
}

async function tenant(name: string): Promise<Tenant> {
  return {
    name,
    ops: await env.clients('operator', name),
    worker: await env.clients('worker', name),
    reader: await env.clients('reader', name),
  };
}

async function createJob(
  t: Tenant,
  request: Omit<Partial<CreateJobRequest>, 'retryPolicy'> & { retryPolicy?: Partial<RetryPolicy> },
): Promise<string> {
  const { job } = await unary(
    t.ops.runtime,
    t.ops.runtime.createJob,
    CreateJobRequest.fromPartial({ jobType: 'agent', ...request }),
    t.ops.metadata(),
  );
  if (!job) throw new Error('no job');
  return job.id;
}

/** Leases the next job of `queue` (waiting up to 2 s, for backoffs); fails when there is none. */
async function acquire(
  t: Tenant,
  queue: string,
  extra: Partial<AcquireJobRequest> = {},
): Promise<{ jobId: string; token: bigint; response: AcquireJobResponse }> {
  const response = await unary(
    t.worker.runtime,
    t.worker.runtime.acquireJob,
    AcquireJobRequest.fromPartial({ workerId: 'w1', queues: [queue], wait: ms(2000), ...extra }),
    t.worker.metadata(),
  );
  if (!response.lease) throw new Error(`nothing to acquire in ${queue}`);
  return { jobId: response.lease.jobId, token: response.lease.fencingToken, response };
}

function heartbeat(t: Tenant, jobId: string, fencingToken: bigint, leaseMs: number) {
  return unary(
    t.worker.runtime,
    t.worker.runtime.heartbeat,
    { jobId, fencingToken, leaseDuration: ms(leaseMs) },
    t.worker.metadata(),
  );
}

function failJob(t: Tenant, jobId: string, fencingToken: bigint, nonRetryable = false) {
  return unary(
    t.worker.runtime,
    t.worker.runtime.failJob,
    FailJobRequest.fromPartial({
      jobId,
      fencingToken,
      error: { reason: 'BOOM', message: 'tool exploded' },
      nonRetryable,
    }),
    t.worker.metadata(),
  );
}

function completeJob(t: Tenant, jobId: string, fencingToken: bigint) {
  return unary(
    t.worker.runtime,
    t.worker.runtime.completeJob,
    { jobId, fencingToken, output: Buffer.from('true') },
    t.worker.metadata(),
  );
}

/** Acquires the next job of `queue` and parks it on a signal wait (timeout 0: no deadline). */
async function parkOnSignal(t: Tenant, queue: string, signalName: string, timeoutMs: number): Promise<string> {
  const { jobId, token } = await acquire(t, queue);
  const response = await unary(
    t.worker.runtime,
    t.worker.runtime.awaitSignal,
    AwaitSignalRequest.fromPartial({
      jobId,
      fencingToken: token,
      callKey: '1',
      signalName,
      timeout: timeoutMs === 0 ? undefined : ms(timeoutMs),
    }),
    t.worker.metadata(),
  );
  expect(response.outcome).toBe(AwaitSignalOutcome.AWAIT_SIGNAL_OUTCOME_PARKED);
  return jobId;
}

/** A job whose non-idempotent tool call was started by an attempt that died: parked IN_DOUBT. */
async function parkInDoubt(t: Tenant, queue: string): Promise<string> {
  const jobId = await createJob(t, { queue, retryPolicy: { maxAttempts: 3, ...FAST_RETRY } });
  const begin = (token: bigint) =>
    unary(
      t.worker.runtime,
      t.worker.runtime.beginToolCall,
      BeginToolCallRequest.fromPartial({
        jobId,
        fencingToken: token,
        callKey: '1',
        toolName: 'wire-transfer',
        argsDigest: createHash('sha256').update('{}').digest(),
      }),
      t.worker.metadata(),
    );
  const first = await acquire(t, queue);
  await begin(first.token);
  await failJob(t, jobId, first.token);
  const second = await acquire(t, queue);
  expect((await begin(second.token)).decision).toBe(ToolCallDecision.TOOL_CALL_DECISION_IN_DOUBT);
  return jobId;
}

/** A job that failed `failures` attempts and is RETRYING (max 10 attempts, 1 ms backoff). */
async function retryingAfter(t: Tenant, queue: string, failures: number): Promise<string> {
  const jobId = await createJob(t, { queue, retryPolicy: { maxAttempts: 10, ...FAST_RETRY } });
  for (let i = 0; i < failures; i++) {
    const { token } = await acquire(t, queue);
    expect((await failJob(t, jobId, token)).job?.state).toBe(JobState.JOB_STATE_RETRYING);
  }
  return jobId;
}

function summary(t: Tenant, request: Partial<GetSummaryRequest> = {}, clients = t.reader): Promise<GetSummaryResponse> {
  return unary(clients.runtime, clients.runtime.getSummary, GetSummaryRequest.fromPartial(request), clients.metadata());
}

function stuckPage(t: Tenant, request: Partial<ListStuckJobsRequest> = {}): Promise<ListStuckJobsResponse> {
  return unary(
    t.reader.runtime,
    t.reader.runtime.listStuckJobs,
    ListStuckJobsRequest.fromPartial(request),
    t.reader.metadata(),
  );
}

async function allStuck(t: Tenant, request: Partial<ListStuckJobsRequest> = {}): Promise<StuckJob[]> {
  const all: StuckJob[] = [];
  let pageToken = '';
  do {
    const page = await stuckPage(t, { ...request, pageToken });
    all.push(...page.stuckJobs);
    pageToken = page.nextPageToken;
  } while (pageToken !== '');
  return all;
}

const reasons = (stuck: StuckJob[]): Record<string, StuckReason> =>
  Object.fromEntries(stuck.map((entry) => [entry.job?.id ?? '', entry.reason]));

/** Counts as `queue/STATE → n`, for exact comparisons. */
const countsOf = (response: GetSummaryResponse): Record<string, number> =>
  Object.fromEntries(
    response.counts.map((entry) => [`${entry.queue}/${JobState[entry.state].slice(10)}`, Number(entry.count)]),
  );

describe('ListStuckJobs', () => {
  it('classifies each reason; a long step that keeps heartbeating is not stuck', async () => {
    const t = await tenant('stuck');
    const threshold = { heartbeatThreshold: ms(500) };

    // RUNNING, lease expired, no sweeper to return it.
    await createJob(t, { queue: 'q-lease', jobType: 'lease-expired' });
    const expired = await acquire(t, 'q-lease', { workerId: 'w-dead', leaseDuration: ms(1000) });
    // RUNNING with a 60 s lease and a silent worker.
    await createJob(t, { queue: 'q-silent', jobType: 'silent' });
    const silent = await acquire(t, 'q-silent', { workerId: 'w-silent', leaseDuration: ms(60_000) });
    // RUNNING for longer than the threshold and the lease, but heartbeating: healthy.
    await createJob(t, { queue: 'q-long', jobType: 'long-step' });
    const long = await acquire(t, 'q-long', { workerId: 'w-busy', leaseDuration: ms(1000) });
    let beating = true;
    const beats = (async () => {
      while (beating) {
        await heartbeat(t, long.jobId, long.token, 1000);
        await sleep(150);
      }
    })();
    // RETRYING after 3 failures (a loop) and after 2 (not yet).
    const loop = await retryingAfter(t, 'q-retry', 3);
    const twice = await retryingAfter(t, 'q-retry-2', 2);
    // PARKED on an in-doubt tool call.
    const doubt = await parkInDoubt(t, 'q-doubt');
    // PARKED on signal waits: one whose 200 ms deadline will pass, one with an hour left, one without deadline.
    await createJob(t, { queue: 'q-wait', jobType: 'overdue' });
    const overdue = await parkOnSignal(t, 'q-wait', 'approval', 200);
    await createJob(t, { queue: 'q-wait-later' });
    const later = await parkOnSignal(t, 'q-wait-later', 'approval', 3_600_000);
    await createJob(t, { queue: 'q-wait-forever' });
    const forever = await parkOnSignal(t, 'q-wait-forever', 'approval', 0);
    // Healthy PENDING and COMPLETED jobs.
    const pending = await createJob(t, { queue: 'q-pending' });
    await createJob(t, { queue: 'q-done' });
    const done = await acquire(t, 'q-done');
    await completeJob(t, done.jobId, done.token);

    await sleep(1200);
    const stuck = await allStuck(t, threshold);
    beating = false;
    await beats;

    expect(reasons(stuck)).toEqual({
      [expired.jobId]: StuckReason.STUCK_REASON_LEASE_EXPIRED,
      [silent.jobId]: StuckReason.STUCK_REASON_NO_HEARTBEAT,
      [loop]: StuckReason.STUCK_REASON_RETRY_LOOP,
      [doubt]: StuckReason.STUCK_REASON_TOOL_CALL_IN_DOUBT,
      [overdue]: StuckReason.STUCK_REASON_WAIT_OVERDUE,
    });
    for (const healthy of [long.jobId, twice, later, forever, pending, done.jobId]) {
      expect(stuck.map((entry) => entry.job?.id)).not.toContain(healthy);
    }

    // Longest stuck first: stuck_for never grows down the list and matches stuck_since.
    const stuckFor = stuck.map((entry) => durationMs(entry.stuckFor));
    expect(stuckFor).toEqual([...stuckFor].sort((a, b) => b - a));
    const since = stuck.map((entry) => timestampMs(entry.stuckSince));
    expect(since).toEqual([...since].sort((a, b) => a - b));
    const byId = new Map(stuck.map((entry) => [entry.job?.id ?? '', entry]));
    const entry = (jobId: string): StuckJob => {
      const found = byId.get(jobId);
      if (!found) throw new Error(`${jobId} not listed`);
      return found;
    };

    // Each reason's clock starts where docs/operations.md says, and its detail names the facts.
    const lease = entry(expired.jobId);
    expect(timestampMs(lease.stuckSince)).toBe(timestampMs(expired.response.job?.leaseExpiresAt));
    expect(durationMs(lease.stuckFor)).toBeGreaterThan(100);
    expect(lease.job?.state).toBe(JobState.JOB_STATE_RUNNING);
    expect(lease.detail).toMatch(/lease of worker w-dead on attempt 1 expired .* ago/);
    const quiet = entry(silent.jobId);
    expect(timestampMs(quiet.stuckSince)).toBe(timestampMs(silent.response.job?.heartbeatAt));
    expect(durationMs(quiet.stuckFor)).toBeGreaterThanOrEqual(500);
    expect(quiet.detail).toMatch(/worker w-silent has not heartbeated attempt 1 for .*\(threshold 500ms\)/);
    expect(entry(loop).job?.attempt).toBe(3);
    expect(entry(loop).detail).toMatch(/attempt 3 of 10 failed \(BOOM: tool exploded\)/);
    expect(entry(doubt).job?.waitingFor?.toolCallKey).toBe('1');
    expect(entry(doubt).detail).toMatch(
      new RegExp(`tool call "1" \\(wire-transfer\\) started by attempt 1 .*aetheris signal resolve ${doubt} 1`),
    );
    const wait = entry(overdue);
    expect(timestampMs(wait.stuckSince)).toBe(timestampMs(wait.job?.waitingFor?.deadline));
    expect(wait.detail).toMatch(/the wait for signal "approval" passed its deadline/);

    // The silent worker is only stuck under a short threshold: the default is 2 minutes.
    expect(reasons(await allStuck(t))[silent.jobId]).toBeUndefined();
    // A lower retry-loop bar catches the job that failed twice.
    expect(reasons(await allStuck(t, { ...threshold, retryLoopAttempts: 2 }))[twice]).toBe(
      StuckReason.STUCK_REASON_RETRY_LOOP,
    );

    // A sweep does what the stalled sweeper did not: the expired lease and the overdue wait move on.
    await env.server.sweeper.sweepOnce();
    const after = reasons(await allStuck(t, threshold));
    expect(after[expired.jobId]).toBeUndefined();
    expect(after[overdue]).toBeUndefined();
    expect(after[doubt]).toBe(StuckReason.STUCK_REASON_TOOL_CALL_IN_DOUBT);
  });

  it('pages longest stuck first with tokens bound to the thresholds', async () => {
    const t = await tenant('pages');
    const expected: string[] = [];
    for (let i = 0; i < 7; i++) {
      await createJob(t, { queue: 'q' });
      expected.push((await acquire(t, 'q', { workerId: `w${i}`, leaseDuration: ms(1000) })).jobId);
    }
    await sleep(1100);
    const seen: string[] = [];
    const sizes: number[] = [];
    let pageToken = '';
    do {
      const page = await stuckPage(t, { pageSize: 3, pageToken });
      sizes.push(page.stuckJobs.length);
      seen.push(...page.stuckJobs.map((entry) => entry.job?.id ?? ''));
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    expect(sizes).toEqual([3, 3, 1]);
    // Leases were taken one after another, so they expired in that order: the first is stuck longest.
    expect(seen).toEqual(expected);

    const first = await stuckPage(t, { pageSize: 3 });
    await expectGrpcError(
      stuckPage(t, { pageSize: 3, pageToken: first.nextPageToken, heartbeatThreshold: ms(1000) }),
      status.INVALID_ARGUMENT,
      'INVALID_FIELD',
      { field: 'page_token' },
    );
    await expectGrpcError(stuckPage(t, { pageToken: 'bnVsbA' }), status.INVALID_ARGUMENT, 'INVALID_FIELD', {
      field: 'page_token',
    });
    // A ListJobs token is not a ListStuckJobs token.
    const jobs = await unary(
      t.ops.runtime,
      t.ops.runtime.listJobs,
      ListJobsRequest.fromPartial({ pageSize: 1 }),
      t.ops.metadata(),
    );
    await expectGrpcError(stuckPage(t, { pageToken: jobs.nextPageToken }), status.INVALID_ARGUMENT, 'INVALID_FIELD', {
      field: 'page_token',
    });
    await expectGrpcError(stuckPage(t, { pageSize: 501 }), status.INVALID_ARGUMENT, 'INVALID_FIELD', {
      field: 'page_size',
    });
    await expectGrpcError(
      stuckPage(t, { heartbeatThreshold: ms(8 * 24 * 3_600_000) }),
      status.INVALID_ARGUMENT,
      'INVALID_FIELD',
      { field: 'heartbeat_threshold' },
    );
    await expectGrpcError(
      stuckPage(t, { heartbeatThreshold: { seconds: -1n, nanos: 0 } }),
      status.INVALID_ARGUMENT,
      'INVALID_FIELD',
      { field: 'heartbeat_threshold' },
    );
  });

  it("never lists another tenant's jobs", async () => {
    const a = await tenant('stuck-a');
    const b = await tenant('stuck-b');
    await parkInDoubt(b, 'q');
    await createJob(b, { queue: 'q-lease' });
    await acquire(b, 'q-lease', { leaseDuration: ms(1000) });
    await sleep(1100);
    expect(await allStuck(b)).toHaveLength(2);
    expect(await allStuck(a)).toEqual([]);
  });
});

describe('GetSummary', () => {
  it("counts the caller's tenant only: states, backlog, oldest runnable, workers, parked, failure rate", async () => {
    const a = await tenant('sum-a');
    const b = await tenant('sum-b');

    // Tenant B: the same queue names, busier in every way. None of it may show in A's summary.
    for (let i = 0; i < 5; i++) await createJob(b, { queue: 'qa' });
    for (let i = 0; i < 3; i++) await acquire(b, 'qa', { workerId: `b-worker-${i}`, leaseDuration: ms(60_000) });
    for (let i = 0; i < 2; i++) {
      await createJob(b, { queue: 'qb' });
      const job = await acquire(b, 'qb');
      await failJob(b, job.jobId, job.token, true);
    }
    await createJob(b, { queue: 'qb' });
    await parkOnSignal(b, 'qb', 'go', 60_000);

    // Tenant A.
    const first = await unary(
      a.ops.runtime,
      a.ops.runtime.createJob,
      CreateJobRequest.fromPartial({ jobType: 'agent', queue: 'qa' }),
      a.ops.metadata(),
    );
    await createJob(a, { queue: 'qa' });
    await createJob(a, { queue: 'qa' });
    await createJob(a, { queue: 'qa', runAt: { seconds: BigInt(Math.floor(Date.now() / 1000) + 3600), nanos: 0 } });
    // Two live leases by one worker and one by another: two active workers.
    for (const workerId of ['a-worker-1', 'a-worker-1', 'a-worker-2']) {
      await createJob(a, { queue: 'qb' });
      await acquire(a, 'qb', { workerId, leaseDuration: ms(60_000) });
    }
    // An expired lease is not a live worker.
    await createJob(a, { queue: 'qe' });
    await acquire(a, 'qe', { workerId: 'a-worker-gone', leaseDuration: ms(1000) });
    // Finished: 3 completed, 1 failed, 1 cancelled within the hour.
    for (let i = 0; i < 4; i++) await createJob(a, { queue: 'qc' });
    for (let i = 0; i < 3; i++) {
      const job = await acquire(a, 'qc');
      await completeJob(a, job.jobId, job.token);
    }
    const failing = await acquire(a, 'qc');
    await failJob(a, failing.jobId, failing.token, true);
    const cancelled = await createJob(a, { queue: 'qc' });
    await unary(a.ops.runtime, a.ops.runtime.cancelJob, { jobId: cancelled, reason: 'no' }, a.ops.metadata());
    // A failure two hours ago (finished_at backdated in the projection): outside the default window.
    await createJob(a, { queue: 'qold' });
    const old = await acquire(a, 'qold');
    await failJob(a, old.jobId, old.token, true);
    await query(
      env.url,
      `update aetheris.jobs set finished_at = now() - interval '2 hours' where tenant_id = $1 and job_id = $2`,
      [a.name, old.jobId],
    );
    // Parked: one wait with a deadline, one without.
    await createJob(a, { queue: 'qp' });
    const soon = await parkOnSignal(a, 'qp', 'approve', 600_000);
    await createJob(a, { queue: 'qp' });
    const open = await parkOnSignal(a, 'qp', 'approve', 0);
    await sleep(1100); // let the one-second lease expire

    const got = await summary(a);
    expect(countsOf(got)).toEqual({
      'qa/PENDING': 4,
      'qb/RUNNING': 3,
      'qe/RUNNING': 1,
      'qc/COMPLETED': 3,
      'qc/FAILED': 1,
      'qc/CANCELLED': 1,
      'qold/FAILED': 1,
      'qp/PARKED': 2,
    });
    expect(got.runnableBacklog).toBe(3n); // the fourth qa job runs in an hour
    const firstCreated = timestampMs(first.job?.createdAt);
    expect(Math.abs(durationMs(got.oldestPendingAge) - (timestampMs(got.asOf) - firstCreated))).toBeLessThan(5);
    expect(got.activeWorkers).toBe(2);
    expect(got.parked).toBe(2n);
    expect(got.parkedWaits.map((wait) => wait.jobId)).toEqual([soon, open]);
    expect(got.parkedWaits[0]).toMatchObject({ queue: 'qp', signalName: 'approve', toolCallKey: '' });
    expect(timestampMs(got.parkedWaits[0]?.deadline) - timestampMs(got.parkedWaits[0]?.parkedAt)).toBeCloseTo(
      600_000,
      -1,
    );
    expect(got.parkedWaits[1]?.deadline).toBeUndefined();
    expect(durationMs(got.window)).toBe(3_600_000);
    expect([got.completedInWindow, got.failedInWindow, got.cancelledInWindow]).toEqual([3n, 1n, 1n]);
    expect(got.failureRate).toBeCloseTo(1 / 5, 10);

    // A three-hour window reaches the old failure.
    const wide = await summary(a, { window: ms(3 * 3_600_000) });
    expect(wide.failedInWindow).toBe(2n);
    expect(wide.failureRate).toBeCloseTo(2 / 6, 10);

    // Tenant B sees its own numbers only, whoever in B asks.
    const other = await summary(b, {}, b.worker);
    expect(countsOf(other)).toEqual({ 'qa/PENDING': 2, 'qa/RUNNING': 3, 'qb/FAILED': 2, 'qb/PARKED': 1 });
    expect(other.activeWorkers).toBe(3);
    expect(other.failureRate).toBe(1);
    expect(other.parkedWaits).toHaveLength(1);

    // A tenant with nothing: zeros, no oldest age.
    const empty = await summary(await tenant('sum-empty'));
    expect(empty.counts).toEqual([]);
    expect(empty.runnableBacklog).toBe(0n);
    expect(empty.oldestPendingAge).toBeUndefined();
    expect(empty.failureRate).toBe(0);

    await expectGrpcError(
      summary(a, { window: { seconds: -5n, nanos: 0 } }),
      status.INVALID_ARGUMENT,
      'INVALID_FIELD',
      {
        field: 'window',
      },
    );
    await expectGrpcError(summary(a, { window: ms(31 * 24 * 3_600_000) }), status.INVALID_ARGUMENT, 'INVALID_FIELD', {
      field: 'window',
    });
  });

  it('lists at most 50 parked waits, nearest deadline first, waits without one last', async () => {
    const t = await tenant('sum-parked');
    const deadlines = new Map<string, number>();
    for (let i = 0; i < 52; i++) {
      await createJob(t, { queue: 'q' });
      // 0 = no deadline for every fourth job, else a deadline from 10 min to about 1 h away, shuffled.
      const timeoutMs = i % 4 === 0 ? 0 : 600_000 + ((i * 7919) % 52) * 60_000;
      deadlines.set(await parkOnSignal(t, 'q', 'go', timeoutMs), timeoutMs);
    }
    const got = await summary(t);
    expect(got.parked).toBe(52n);
    expect(got.parkedWaits).toHaveLength(50);
    const withDeadline = got.parkedWaits.filter((wait) => wait.deadline !== undefined);
    expect(withDeadline).toHaveLength(39);
    expect(got.parkedWaits.slice(0, 39)).toEqual(withDeadline);
    const times = withDeadline.map((wait) => timestampMs(wait.deadline));
    expect(times).toEqual([...times].sort((x, y) => x - y));
    for (const wait of got.parkedWaits.slice(39)) expect(deadlines.get(wait.jobId)).toBe(0);
  });

  it('includes in-doubt parks with their tool call key', async () => {
    const t = await tenant('sum-doubt');
    const jobId = await parkInDoubt(t, 'q');
    const got = await summary(t);
    expect(got.parkedWaits).toEqual([
      expect.objectContaining({ jobId, queue: 'q', signalName: '', toolCallKey: '1', deadline: undefined }),
    ]);
    expect(got.parkedWaits[0]?.parkedAt).toBeDefined();
  });
});

describe('aetheris monitor', () => {
  let dataDir: string;
  let token: string;
  let stuckJob: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'aetheris-monitor-'));
    const t = await tenant('mon');
    token = await createKey(env.url, 'mon', 'reader');
    await createJob(t, { queue: 'q' });
    await createJob(t, { queue: 'q' });
    stuckJob = (await acquire(t, 'q', { workerId: 'w-mon', leaseDuration: ms(60_000) })).jobId;
    await sleep(300);
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  function monitorChild(args: string[]): ChildProcessWithoutNullStreams {
    return spawnCli(
      args,
      cliEnv({ AETHERIS_ADDRESS: env.server.address, AETHERIS_API_KEY: token, AETHERIS_DATA_DIR: dataDir }),
    );
  }

  const run = (args: string[]): Promise<CliResult> => finish(monitorChild(args));

  interface MonitorJson {
    summary: {
      counts: { queue: string; state: string; count: number }[];
      runnableBacklog: number;
      activeWorkers: number;
    };
    stuck: { reason: string; stuckForMs: number; detail: string; job: { id: string } }[];
    moreStuck: boolean;
  }

  it('--json prints one object with the summary and the stuck jobs, then exits', async () => {
    const result = await run(['monitor', '--json', '--heartbeat-threshold', '200']);
    expect(result.code, result.stderr).toBe(0);
    const printed = JSON.parse(result.stdout) as MonitorJson;
    expect(printed.summary.counts).toEqual([
      { queue: 'q', state: 'JOB_STATE_PENDING', count: 1 },
      { queue: 'q', state: 'JOB_STATE_RUNNING', count: 1 },
    ]);
    expect(printed.summary.runnableBacklog).toBe(1);
    expect(printed.summary.activeWorkers).toBe(1);
    expect(printed.stuck).toHaveLength(1);
    expect(printed.stuck[0]).toMatchObject({ reason: 'STUCK_REASON_NO_HEARTBEAT', job: { id: stuckJob } });
    expect(printed.stuck[0]?.stuckForMs).toBeGreaterThanOrEqual(200);
    expect(printed.moreStuck).toBe(false);

    // The default threshold (2 minutes) lists nothing yet.
    const calm = JSON.parse((await run(['monitor', '--json'])).stdout) as MonitorJson;
    expect(calm.stuck).toEqual([]);
  });

  it('prints a terminal view once without --watch', async () => {
    const result = await run(['monitor', '--heartbeat-threshold', '200']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/runnable backlog 1 .*active workers 1/);
    expect(result.stdout).toMatch(/QUEUE +PENDING +RUNNING/);
    expect(result.stdout).toMatch(new RegExp(`no heartbeat +\\S+.* +${stuckJob} +agent +worker w-mon`));
    expect(result.stdout).not.toContain('\x1b[');
  });

  it('--watch refreshes until Ctrl-C and exits 0', async () => {
    const child = monitorChild(['monitor', '--watch', '--json', '--interval', '150']);
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    const deadline = Date.now() + 10_000;
    while (stdout.split('\n').filter((line) => line !== '').length < 3 && Date.now() < deadline) await sleep(50);
    child.kill('SIGINT');
    expect(await closed).toBe(0);
    const lines = stdout.split('\n').filter((line) => line !== '');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect((JSON.parse(line) as MonitorJson).summary.activeWorkers).toBe(1);

    const screen = monitorChild(['monitor', '--watch', '--interval', '150']);
    let text = '';
    screen.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
    });
    const ended = new Promise<number | null>((resolve) => screen.on('close', resolve));
    while (text.split('\x1b[H').length < 3 && Date.now() < deadline + 10_000) await sleep(50);
    screen.kill('SIGINT');
    expect(await ended).toBe(0);
    expect(text.split('\x1b[H').length).toBeGreaterThanOrEqual(3);
    expect(text).toContain('STUCK JOBS');
  });

  it('rejects a bad flag before calling', async () => {
    const result = await run(['monitor', '--interval', '5']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/--interval: expected an integer from 100/);
  });
});
