import { createHash } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobState, type RetryPolicy } from '../gen/ts/aetheris/runtime/v1/job.js';
import {
  AcquireJobRequest,
  type AcquireJobResponse,
  BeginToolCallRequest,
  type CompleteToolCallRequest,
  CreateJobRequest,
  FailJobRequest,
} from '../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { ToolCallDecision, ToolCallState } from '../gen/ts/aetheris/runtime/v1/worker.js';
import { type AetherisClients, unary } from '../src/client/connect.js';
import { canonicalize, type JsonValue } from '../src/domain/canonical-json.js';
import { expectGrpcError } from './helpers/grpc-assert.js';
import { query, startTestEnv, type TestEnv } from './helpers/harness.js';

let env: TestEnv;
let ops: AetherisClients;
let worker: AetherisClients;

beforeAll(async () => {
  env = await startTestEnv();
  ops = await env.clients('operator', 'acme');
  worker = await env.clients('worker', 'acme');
});
afterAll(() => env.close());

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const digest = (args: JsonValue): Buffer => createHash('sha256').update(canonicalize(args)).digest();
const ms = (value: number) => ({ seconds: BigInt(Math.floor(value / 1000)), nanos: (value % 1000) * 1e6 });

async function createJob(
  request: Omit<Partial<CreateJobRequest>, 'retryPolicy'> & { jobType: string; retryPolicy?: Partial<RetryPolicy> },
) {
  const { job } = await unary(
    ops.runtime,
    ops.runtime.createJob,
    CreateJobRequest.fromPartial(request),
    ops.metadata(),
  );
  return job?.id ?? '';
}

function acquire(queue: string, extra: Partial<AcquireJobRequest> = {}, clients = worker): Promise<AcquireJobResponse> {
  return unary(
    clients.runtime,
    clients.runtime.acquireJob,
    AcquireJobRequest.fromPartial({ workerId: 'w1', queues: [queue], ...extra }),
    clients.metadata(),
  );
}

function begin(
  jobId: string,
  fencingToken: bigint,
  callKey: string,
  toolName: string,
  args: JsonValue,
  idempotent = false,
) {
  return unary(
    worker.runtime,
    worker.runtime.beginToolCall,
    BeginToolCallRequest.fromPartial({ jobId, fencingToken, callKey, toolName, argsDigest: digest(args), idempotent }),
    worker.metadata(),
  );
}

function completeTool(
  jobId: string,
  fencingToken: bigint,
  callKey: string,
  outcome: CompleteToolCallRequest['outcome'],
) {
  return unary(
    worker.runtime,
    worker.runtime.completeToolCall,
    { jobId, fencingToken, callKey, outcome },
    worker.metadata(),
  );
}

async function getJob(jobId: string) {
  const { job } = await unary(ops.runtime, ops.runtime.getJob, { jobId }, ops.metadata());
  if (!job) throw new Error('no job');
  return job;
}

async function eventTypes(jobId: string): Promise<string[]> {
  const page = await unary(ops.runtime, ops.runtime.readEvents, { jobId, afterSeq: 0n, limit: 1000 }, ops.metadata());
  return page.events.map((event) => event.type);
}

describe('AcquireJob', () => {
  it('leases the job with a fresh fencing token and its history; nothing else is runnable', async () => {
    const jobId = await createJob({ jobType: 'a', queue: 'q-lease', input: json({ x: 1 }) });
    const got = await acquire('q-lease');
    expect(got.lease?.jobId).toBe(jobId);
    expect(got.lease?.attempt).toBe(1);
    expect(got.lease?.fencingToken).toBe(1n);
    expect(got.job?.state).toBe(JobState.JOB_STATE_RUNNING);
    expect(got.job?.leaseOwner).toBe('w1');
    expect(got.history.map((event) => event.type)).toEqual(['aetheris.job.created', 'aetheris.job.leased']);
    expect((await acquire('q-lease')).lease).toBeUndefined();
  });

  it('is woken by a new job at once instead of polling', async () => {
    const started = performance.now();
    const pending = acquire('q-wake', { wait: ms(10_000) });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const jobId = await createJob({ jobType: 'a', queue: 'q-wake' });
    const got = await pending;
    expect(got.lease?.jobId).toBe(jobId);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('returns empty when the wait ends, and honours priority then age, types and capabilities', async () => {
    const started = performance.now();
    expect((await acquire('q-empty', { wait: ms(300) })).lease).toBeUndefined();
    expect(performance.now() - started).toBeGreaterThanOrEqual(280);

    const low = await createJob({ jobType: 'a', queue: 'q-order', priority: 0 });
    const high = await createJob({ jobType: 'a', queue: 'q-order', priority: 10 });
    const gpu = await createJob({ jobType: 'a', queue: 'q-order', priority: 100, requiredCapabilities: ['gpu'] });
    const other = await createJob({ jobType: 'b', queue: 'q-order', priority: 50 });
    expect((await acquire('q-order', { jobTypes: ['a'] })).lease?.jobId).toBe(high);
    expect((await acquire('q-order', { jobTypes: ['a'] })).lease?.jobId).toBe(low);
    expect((await acquire('q-order', { jobTypes: ['a'] })).lease).toBeUndefined();
    expect((await acquire('q-order', { jobTypes: ['a'], capabilities: ['gpu', 'fast'] })).lease?.jobId).toBe(gpu);
    expect((await acquire('q-order')).lease?.jobId).toBe(other);
  });

  it('gives a job to exactly one of many racing workers', async () => {
    const jobId = await createJob({ jobType: 'a', queue: 'q-race' });
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => acquire('q-race', { workerId: `w${i}`, wait: ms(200) })),
    );
    expect(results.filter((result) => result.lease?.jobId === jobId)).toHaveLength(1);
  });

  it('requires the worker role and validates its request', async () => {
    await expectGrpcError(acquire('q', {}, ops), status.PERMISSION_DENIED);
    await expectGrpcError(acquire('q', { workerId: '' }), status.INVALID_ARGUMENT, 'INVALID_FIELD', {
      field: 'worker_id',
    });
    await expectGrpcError(acquire('q', { wait: ms(120_000) }), status.INVALID_ARGUMENT, 'INVALID_FIELD', {
      field: 'wait',
    });
    await expectGrpcError(acquire('bad queue!'), status.INVALID_ARGUMENT, 'INVALID_FIELD', { field: 'queues[0]' });
  });
});

describe('leases, completion and retries', () => {
  it('completes with the output; later writes with the token are rejected', async () => {
    const jobId = await createJob({ jobType: 'a', queue: 'q-done' });
    const { lease } = await acquire('q-done');
    const token = lease?.fencingToken ?? 0n;
    const hb = await unary(
      worker.runtime,
      worker.runtime.heartbeat,
      { jobId, fencingToken: token, leaseDuration: ms(60_000) },
      worker.metadata(),
    );
    expect(Number(hb.leaseExpiresAt?.seconds)).toBeGreaterThan(Date.now() / 1000 + 50);
    const done = await unary(
      worker.runtime,
      worker.runtime.completeJob,
      { jobId, fencingToken: token, output: json({ ok: true }) },
      worker.metadata(),
    );
    expect(done.job?.state).toBe(JobState.JOB_STATE_COMPLETED);
    expect(Buffer.from(done.job?.output ?? []).toString()).toBe('{"ok":true}');
    await expectGrpcError(
      unary(
        worker.runtime,
        worker.runtime.completeJob,
        { jobId, fencingToken: token, output: json(1) },
        worker.metadata(),
      ),
      status.FAILED_PRECONDITION,
      'LEASE_LOST',
    );
    expect(await eventTypes(jobId)).toEqual(['aetheris.job.created', 'aetheris.job.leased', 'aetheris.job.completed']);
  });

  it('retries a failed attempt with backoff, then fails the job when attempts are spent', async () => {
    const jobId = await createJob({
      jobType: 'a',
      queue: 'q-retry',
      retryPolicy: { maxAttempts: 2, initialBackoff: ms(200), maxBackoff: ms(200), backoffCoefficient: 1 },
    });
    const first = await acquire('q-retry');
    const failed = await unary(
      worker.runtime,
      worker.runtime.failJob,
      FailJobRequest.fromPartial({
        jobId,
        fencingToken: first.lease?.fencingToken,
        error: { reason: 'BOOM', message: 'first' },
      }),
      worker.metadata(),
    );
    expect(failed.job?.state).toBe(JobState.JOB_STATE_RETRYING);
    expect(failed.job?.lastError?.reason).toBe('BOOM');
    const started = performance.now();
    const second = await acquire('q-retry', { wait: ms(5000) });
    const waited = performance.now() - started;
    expect(second.lease?.attempt).toBe(2);
    expect(waited).toBeGreaterThanOrEqual(80); // equal jitter: between 100 and 200 ms
    expect(waited).toBeLessThan(1500); // woken at the due time, not by the 2 s safety re-check
    const final = await unary(
      worker.runtime,
      worker.runtime.failJob,
      FailJobRequest.fromPartial({
        jobId,
        fencingToken: second.lease?.fencingToken,
        error: { reason: 'BOOM', message: 'second' },
      }),
      worker.metadata(),
    );
    expect(final.job?.state).toBe(JobState.JOB_STATE_FAILED);
    const page = await unary(ops.runtime, ops.runtime.readEvents, { jobId, afterSeq: 0n, limit: 100 }, ops.metadata());
    const last = page.events.at(-1);
    expect(last?.type).toBe('aetheris.job.failed');
    expect(JSON.parse(Buffer.from(last?.payload ?? []).toString())).toMatchObject({
      attempts: 2,
      cause: 'max_attempts_exceeded',
      error: { reason: 'BOOM' },
    });
  });

  it('releases without spending the attempt', async () => {
    const jobId = await createJob({ jobType: 'a', queue: 'q-release' });
    const first = await acquire('q-release');
    const released = await unary(
      worker.runtime,
      worker.runtime.releaseJob,
      { jobId, fencingToken: first.lease?.fencingToken ?? 0n, delay: undefined, reason: 'shutting down' },
      worker.metadata(),
    );
    expect(released.job?.state).toBe(JobState.JOB_STATE_PENDING);
    const again = await acquire('q-release');
    expect(again.lease?.attempt).toBe(1);
    // The history read in the lease's own statement is the whole stored log, this lease included
    // (a large input is not repeated per history row: only the first row carries the job).
    const stored = await unary(
      ops.runtime,
      ops.runtime.readEvents,
      { jobId, afterSeq: 0n, limit: 1000 },
      ops.metadata(),
    );
    expect(again.history).toEqual(stored.events);
    expect(again.history.map((event) => event.type)).toEqual([
      'aetheris.job.created',
      'aetheris.job.leased',
      'aetheris.job.released',
      'aetheris.job.leased',
    ]);
    expect(again.job?.headSeq).toBe(4n);
  });

  it('expires a silent lease, fences the zombie and retries, then fails after max attempts', async () => {
    const jobId = await createJob({
      jobType: 'a',
      queue: 'q-zombie',
      retryPolicy: { maxAttempts: 2, initialBackoff: ms(1), maxBackoff: ms(1), backoffCoefficient: 1 },
    });
    const zombie = await acquire('q-zombie', { leaseDuration: ms(1000) });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await env.server.sweeper.sweepOnce();
    const job = await getJob(jobId);
    expect(job.state).toBe(JobState.JOB_STATE_RETRYING);
    expect(job.lastError?.reason).toBe('LEASE_EXPIRED');
    const token = zombie.lease?.fencingToken ?? 0n;
    const writes = [
      () =>
        unary(
          worker.runtime,
          worker.runtime.heartbeat,
          { jobId, fencingToken: token, leaseDuration: undefined },
          worker.metadata(),
        ),
      () =>
        unary(
          worker.runtime,
          worker.runtime.appendEvents,
          { jobId, fencingToken: token, events: [{ eventId: '', type: 'late', payload: json(1) }] },
          worker.metadata(),
        ),
      () => begin(jobId, token, '1', 'charge', { amount: 1 }),
      () =>
        unary(
          worker.runtime,
          worker.runtime.completeJob,
          { jobId, fencingToken: token, output: json(1) },
          worker.metadata(),
        ),
    ];
    for (const write of writes) await expectGrpcError(write(), status.FAILED_PRECONDITION, 'LEASE_LOST');
    const second = await acquire('q-zombie', { leaseDuration: ms(1000), wait: ms(2000) });
    expect(second.lease?.attempt).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await env.server.sweeper.sweepOnce();
    expect((await getJob(jobId)).state).toBe(JobState.JOB_STATE_FAILED);
    expect(await eventTypes(jobId)).toEqual([
      'aetheris.job.created',
      'aetheris.job.leased',
      'aetheris.attempt.failed',
      'aetheris.job.retrying',
      'aetheris.job.leased',
      'aetheris.attempt.failed',
      'aetheris.job.failed',
    ]);
  });

  it('enforces the attempt timeout even while the worker heartbeats', async () => {
    const jobId = await createJob({
      jobType: 'a',
      queue: 'q-timeout',
      attemptTimeout: ms(500),
      retryPolicy: { maxAttempts: 1 },
    });
    const { lease } = await acquire('q-timeout', { leaseDuration: ms(60_000) });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const beat = await unary(
      worker.runtime,
      worker.runtime.heartbeat,
      { jobId, fencingToken: lease?.fencingToken ?? 0n, leaseDuration: undefined },
      worker.metadata(),
    );
    expect(Number(beat.leaseExpiresAt?.seconds)).toBeGreaterThan(Date.now() / 1000 + 50);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await env.server.sweeper.sweepOnce(); // the background sweeper may have done it already
    const job = await getJob(jobId);
    expect(job.state).toBe(JobState.JOB_STATE_FAILED);
    expect(job.lastError?.reason).toBe('ATTEMPT_TIMEOUT');
  });

  it('fences the lease of a cancelled job', async () => {
    const jobId = await createJob({ jobType: 'a', queue: 'q-cancel' });
    const { lease } = await acquire('q-cancel');
    await unary(ops.runtime, ops.runtime.cancelJob, { jobId, reason: 'stop' }, ops.metadata());
    await expectGrpcError(
      unary(
        worker.runtime,
        worker.runtime.heartbeat,
        { jobId, fencingToken: lease?.fencingToken ?? 0n, leaseDuration: undefined },
        worker.metadata(),
      ),
      status.FAILED_PRECONDITION,
      'LEASE_LOST',
    );
  });
});

describe('tool call ledger', () => {
  it('executes once, answers RECORDED afterwards, and detects nondeterminism', async () => {
    const jobId = await createJob({ jobType: 'a', queue: 'q-tool' });
    const { lease } = await acquire('q-tool');
    const token = lease?.fencingToken ?? 0n;
    const first = await begin(jobId, token, '1', 'charge', { amount: 5 });
    expect(first.decision).toBe(ToolCallDecision.TOOL_CALL_DECISION_EXECUTE);
    expect(first.call?.externalIdempotencyKey).toBe(`${jobId}:1`);
    // The same lease asking again (a lost answer) may run it: it has not completed.
    expect((await begin(jobId, token, '1', 'charge', { amount: 5 })).decision).toBe(
      ToolCallDecision.TOOL_CALL_DECISION_EXECUTE,
    );
    await completeTool(jobId, token, '1', { $case: 'result', value: json({ charge: 'ch_1' }) });
    // A retried completion with the same result succeeds; a different one is a conflict.
    await completeTool(jobId, token, '1', { $case: 'result', value: json({ charge: 'ch_1' }) });
    await expectGrpcError(
      completeTool(jobId, token, '1', { $case: 'result', value: json({ charge: 'ch_2' }) }),
      status.FAILED_PRECONDITION,
      'IDEMPOTENCY_CONFLICT',
    );
    const recorded = await begin(jobId, token, '1', 'charge', { amount: 5 });
    expect(recorded.decision).toBe(ToolCallDecision.TOOL_CALL_DECISION_RECORDED);
    expect(Buffer.from(recorded.call?.result ?? []).toString()).toBe('{"charge":"ch_1"}');
    const divergent = await begin(jobId, token, '1', 'refund', { amount: 5 });
    expect(divergent.decision).toBe(ToolCallDecision.TOOL_CALL_DECISION_NONDETERMINISM);
    expect(divergent.detail).toMatch(/call 1 was recorded as charge.*asked for refund/);
    await expectGrpcError(
      completeTool(jobId, token, '9', { $case: 'result', value: json(1) }),
      status.FAILED_PRECONDITION,
      'TOOL_CALL_NOT_STARTED',
    );
    expect(await eventTypes(jobId)).toEqual([
      'aetheris.job.created',
      'aetheris.job.leased',
      'aetheris.tool_call.started',
      'aetheris.tool_call.finished',
    ]);
  });

  it('re-runs a failed call on the next attempt, and an in-doubt idempotent call with the same key', async () => {
    const jobId = await createJob({
      jobType: 'a',
      queue: 'q-redo',
      retryPolicy: { maxAttempts: 3, initialBackoff: ms(1), maxBackoff: ms(1), backoffCoefficient: 1 },
    });
    const one = await acquire('q-redo');
    const t1 = one.lease?.fencingToken ?? 0n;
    await begin(jobId, t1, '1', 'lookup', {}, true);
    await completeTool(jobId, t1, '1', {
      $case: 'error',
      value: { reason: 'TIMEOUT', message: 'upstream', details: Buffer.alloc(0) },
    });
    await begin(jobId, t1, '2', 'email', { to: 'a@b' }, true); // started, never completed: the worker dies
    await unary(
      worker.runtime,
      worker.runtime.failJob,
      FailJobRequest.fromPartial({ jobId, fencingToken: t1, error: { reason: 'X' } }),
      worker.metadata(),
    );
    const two = await acquire('q-redo', { wait: ms(2000) });
    const t2 = two.lease?.fencingToken ?? 0n;
    expect(two.toolCalls.map((call) => call.callKey)).toEqual(['1', '2']);
    // The ledger comes with the lease's statement: every field as stored.
    const stored = await query<Record<string, unknown>>(
      env.url,
      `select job_id::text as "jobId", call_key as "callKey", tool_name as "toolName",
              encode(args_digest, 'hex') as digest, result, error->>'reason' as reason, attempt,
              external_key as "externalIdempotencyKey", idempotent,
              aetheris.to_us(started_at)::text as started, aetheris.to_us(finished_at)::text as finished
         from aetheris.tool_calls where job_id = $1 order by started_at, call_key`,
      [jobId],
    );
    const us = (t: { seconds: bigint; nanos: number } | undefined) =>
      t === undefined ? null : String(t.seconds * 1_000_000n + BigInt(t.nanos / 1000));
    expect(
      two.toolCalls.map((call) => ({
        jobId: call.jobId,
        callKey: call.callKey,
        toolName: call.toolName,
        digest: Buffer.from(call.argsDigest).toString('hex'),
        result: call.result.length === 0 ? null : Buffer.from(call.result).toString('utf8'),
        reason: call.error?.reason ?? null,
        attempt: call.attempt,
        externalIdempotencyKey: call.externalIdempotencyKey,
        idempotent: call.idempotent,
        started: us(call.startedAt),
        finished: us(call.finishedAt),
      })),
    ).toEqual(stored);
    expect(two.toolCalls.map((call) => call.state)).toEqual([
      ToolCallState.TOOL_CALL_STATE_FAILED,
      ToolCallState.TOOL_CALL_STATE_STARTED,
    ]);
    expect((await begin(jobId, t2, '1', 'lookup', {}, true)).decision).toBe(
      ToolCallDecision.TOOL_CALL_DECISION_EXECUTE,
    );
    const doubt = await begin(jobId, t2, '2', 'email', { to: 'a@b' }, true);
    expect(doubt.decision).toBe(ToolCallDecision.TOOL_CALL_DECISION_IN_DOUBT);
    expect(doubt.call?.externalIdempotencyKey).toBe(`${jobId}:2`);
    expect(doubt.call?.attempt).toBe(2);
    await completeTool(jobId, t2, '2', { $case: 'result', value: json('sent') });
  });

  it('parks the job when a non-idempotent call is in doubt, and fences the worker', async () => {
    const jobId = await createJob({
      jobType: 'a',
      queue: 'q-park',
      retryPolicy: { maxAttempts: 3, initialBackoff: ms(1), maxBackoff: ms(1), backoffCoefficient: 1 },
    });
    const one = await acquire('q-park');
    await begin(jobId, one.lease?.fencingToken ?? 0n, '1', 'wire-transfer', { amount: 1000 });
    await unary(
      worker.runtime,
      worker.runtime.failJob,
      FailJobRequest.fromPartial({ jobId, fencingToken: one.lease?.fencingToken, error: { reason: 'CRASH' } }),
      worker.metadata(),
    );
    const two = await acquire('q-park', { wait: ms(2000) });
    const t2 = two.lease?.fencingToken ?? 0n;
    const doubt = await begin(jobId, t2, '1', 'wire-transfer', { amount: 1000 });
    expect(doubt.decision).toBe(ToolCallDecision.TOOL_CALL_DECISION_IN_DOUBT);
    const job = await getJob(jobId);
    expect(job.state).toBe(JobState.JOB_STATE_PARKED);
    expect(job.waitingFor?.toolCallKey).toBe('1');
    await expectGrpcError(
      completeTool(jobId, t2, '1', { $case: 'result', value: json(1) }),
      status.FAILED_PRECONDITION,
      'LEASE_LOST',
    );
    expect((await acquire('q-park')).lease).toBeUndefined();
    // A parked job is cancelled at once (it holds no lease).
    const cancelled = await unary(
      ops.runtime,
      ops.runtime.cancelJob,
      { jobId, reason: 'customer withdrew' },
      ops.metadata(),
    );
    expect(cancelled.job?.state).toBe(JobState.JOB_STATE_CANCELLED);
  });
});

describe('lifecycle events', () => {
  it('are canonical JSON and chain correctly in SQL', async () => {
    const rows = await query<{ payload: string; ok: boolean }>(
      env.url,
      `select payload, hash = aetheris.chain_hash(prev_hash, seq, aetheris.to_us(recorded_at), job_id, event_id, tenant_id, type, actor, sha256(convert_to(payload, 'UTF8'))) as ok
         from aetheris.events where type like 'aetheris.%'`,
    );
    expect(rows.length).toBeGreaterThan(20);
    for (const row of rows) {
      expect(canonicalize(JSON.parse(row.payload) as JsonValue)).toBe(row.payload);
      expect(row.ok).toBe(true);
    }
  });

  it('link each event to the one before, and leave each job row at its last event', async () => {
    // Lifecycle steps write the new head in the same update as the state: every job of this file
    // (created, leased, tool calls, parked, retried, completed, cancelled) must agree with its log.
    const broken = await query<{ job_id: string; problem: string }>(
      env.url,
      `select e.job_id, 'seq ' || e.seq || ' does not follow its predecessor' as problem
         from aetheris.events e
         left join aetheris.events p on p.tenant_id = e.tenant_id and p.job_id = e.job_id and p.seq = e.seq - 1
        where (e.seq = 1 and e.prev_hash <> '\\x${'00'.repeat(32)}'::bytea)
           or (e.seq > 1 and (p.hash is null or p.hash <> e.prev_hash))
       union all
       select j.job_id, 'head ' || j.head_seq || ' is not the last event' as problem
         from aetheris.jobs j
         left join lateral (select max(seq) as seq from aetheris.events e
                             where e.tenant_id = j.tenant_id and e.job_id = j.job_id) last on true
         left join aetheris.events e on e.tenant_id = j.tenant_id and e.job_id = j.job_id and e.seq = last.seq
        where j.head_seq is distinct from last.seq or j.head_hash is distinct from e.hash`,
    );
    expect(broken).toEqual([]);
    const jobs = await query<{ n: string }>(
      env.url,
      `select count(*)::text as n from aetheris.jobs where head_seq > 3`,
    );
    expect(Number(jobs[0]?.n)).toBeGreaterThan(5);
  });
});
