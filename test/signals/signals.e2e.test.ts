/**
 * Signals end to end: `ctx.waitForSignal()` in the worker SDK against the real server, signals
 * sent by an operator key through SignalService.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Job, JobState } from '../../gen/ts/aetheris/runtime/v1/job.js';
import { CancelJobRequest } from '../../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { SignalState } from '../../gen/ts/aetheris/signal/v1/signal.js';
import { SendSignalRequest } from '../../gen/ts/aetheris/signal/v1/signal_service.js';
import { type AetherisClients, unary } from '../../src/client/connect.js';
import { NondeterminismError } from '../../src/worker/index.js';
import { expectGrpcError } from '../helpers/grpc-assert.js';
import { startTestEnv, type TestEnv } from '../helpers/harness.js';
import {
  createJob,
  getJob,
  type Latch,
  latch,
  newWorker,
  parseJson,
  readEvents,
  waitForState,
} from '../worker/worker-helpers.js';
import { listSignals, percentile, sendSignal } from './signal-helpers.js';

let env: TestEnv;
let operator: AetherisClients;

beforeAll(async () => {
  env = await startTestEnv();
  operator = await env.clients('operator', 'acme');
});
afterAll(() => env.close());

const DONE = [JobState.JOB_STATE_COMPLETED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED];
const PARKED = [JobState.JOB_STATE_PARKED];

/** Polls GetJob until `check` accepts the job. */
async function waitForJob(jobId: string, check: (job: Job) => boolean, timeoutMs = 10_000): Promise<Job> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const job = await getJob(operator, jobId);
    if (check(job)) return job;
    if (Date.now() > until) throw new Error(`job ${jobId} never matched; last state ${JobState[job.state]}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function eventTypes(jobId: string): Promise<string[]> {
  return (await readEvents(operator, jobId)).map((event) => event.type);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.concurrent('waitForSignal: park and resume', () => {
  it('parks without a lease or a worker slot; SendSignal resumes it to completion, consumed once', async () => {
    const runs = { refund: 0, quick: 0 };
    const worker = await newWorker(env, { concurrency: 1, taskQueue: 'approvals' });
    worker.register<{ order: string }>('needs-approval', async (ctx, input) => {
      const approval = await ctx.waitForSignal<{ approved: boolean; by: string }>('approval');
      const refund = await ctx.tool('issue-refund', input, async () => {
        runs.refund++;
        return { refunded: input.order };
      });
      return { approval, refund };
    });
    worker.register('quick', async (ctx) => ctx.tool('quick-tool', {}, async () => ++runs.quick));
    const jobId = await createJob(operator, 'needs-approval', { order: 'A-1' }, { queue: 'approvals' });
    const signalId = randomUUID();

    const job = await worker.runUntil(async () => {
      const parked = await waitForState(operator, jobId, PARKED);
      expect(parked.waitingFor?.signalName).toBe('approval');
      expect(parked.waitingFor?.deadline).toBeUndefined();
      expect(parked.leaseOwner).toBe('');
      expect(parked.leaseExpiresAt).toBeUndefined();
      // The parked job does not hold the worker's only slot: another job runs meanwhile.
      const quickId = await createJob(operator, 'quick', null, { queue: 'approvals' });
      const quick = await waitForState(operator, quickId, DONE);
      expect(JobState[quick.state]).toBe('JOB_STATE_COMPLETED');
      expect(JobState[(await getJob(operator, jobId)).state]).toBe('JOB_STATE_PARKED');

      const sent = await sendSignal(operator, jobId, 'approval', { approved: true, by: 'ada' }, signalId);
      expect(sent.duplicate).toBe(false);
      expect(JobState[sent.jobState]).toBe('JOB_STATE_PENDING');
      expect(SignalState[sent.signal?.state ?? 0]).toBe('SIGNAL_STATE_CONSUMED');
      return waitForState(operator, jobId, DONE);
    });

    expect(JobState[job.state]).toBe('JOB_STATE_COMPLETED');
    expect(parseJson(job.output)).toEqual({
      approval: { timedOut: false, name: 'approval', payload: { approved: true, by: 'ada' }, signalId },
      refund: { refunded: 'A-1' },
    });
    expect(runs).toEqual({ refund: 1, quick: 1 });
    // Parking does not spend an attempt.
    expect(job.attempt).toBe(1);

    const signals = await listSignals(operator, jobId);
    expect(signals).toHaveLength(1);
    const [signal] = signals;
    expect(signal?.id).toBe(signalId);
    expect(SignalState[signal?.state ?? 0]).toBe('SIGNAL_STATE_CONSUMED');
    expect(signal?.consumedAt).toBeDefined();
    expect(signal?.sender).toMatch(/^key:/);
    const events = await readEvents(operator, jobId);
    const consumed = events.filter((event) => event.type === 'aetheris.signal.consumed');
    expect(consumed).toHaveLength(1);
    expect(consumed[0]?.seq).toBe(signal?.consumedBySeq);
    expect(parseJson(consumed[0]?.payload ?? Buffer.alloc(0))).toMatchObject({
      name: 'approval',
      signal_id: signalId,
      payload: { approved: true, by: 'ada' },
    });
    const types = events.map((event) => event.type);
    expect(types).toContain('aetheris.job.parked');
    expect(types).toContain('aetheris.job.resumed');
    expect(types.at(-1)).toBe('aetheris.job.completed');
  });

  it('keeps a signal sent before the wait and consumes it when the wait happens, without parking', async () => {
    const worker = await newWorker(env, { taskQueue: 'early' });
    worker.register('early-signal', async (ctx) => ctx.waitForSignal('approval'));
    const jobId = await createJob(operator, 'early-signal', null, { queue: 'early' });
    const sent = await sendSignal(operator, jobId, 'approval', { approved: 'early' });
    expect(sent.duplicate).toBe(false);
    expect(JobState[sent.jobState]).toBe('JOB_STATE_PENDING');
    expect(SignalState[sent.signal?.state ?? 0]).toBe('SIGNAL_STATE_PENDING');
    expect(
      (await listSignals(operator, jobId, { states: [SignalState.SIGNAL_STATE_PENDING] })).map((s) => s.id),
    ).toEqual([sent.signal?.id]);

    const job = await worker.runUntil(waitForState(operator, jobId, DONE));
    expect(JobState[job.state]).toBe('JOB_STATE_COMPLETED');
    expect(parseJson(job.output)).toMatchObject({ timedOut: false, payload: { approved: 'early' } });
    const types = await eventTypes(jobId);
    expect(types).not.toContain('aetheris.job.parked');
    expect(types.filter((type) => type === 'aetheris.signal.consumed')).toHaveLength(1);
    expect((await listSignals(operator, jobId, { states: [SignalState.SIGNAL_STATE_PENDING] })).length).toBe(0);
  });

  it('consumes two signals of one name in the order they were sent, one per wait', async () => {
    const worker = await newWorker(env, { taskQueue: 'order' });
    worker.register('two-steps', async (ctx) => {
      const first = await ctx.waitForSignal<{ n: number }>('step');
      const second = await ctx.waitForSignal<{ n: number }>('step');
      return [first, second].map((result) => (result.timedOut ? 'timeout' : result.payload.n));
    });
    const jobId = await createJob(operator, 'two-steps', null, { queue: 'order' });
    const one = await sendSignal(operator, jobId, 'step', { n: 1 });
    const two = await sendSignal(operator, jobId, 'step', { n: 2 });
    const job = await worker.runUntil(waitForState(operator, jobId, DONE));
    expect(parseJson(job.output)).toEqual([1, 2]);
    const signals = await listSignals(operator, jobId, { name: 'step' });
    expect(signals.map((signal) => signal.id)).toEqual([one.signal?.id, two.signal?.id]);
    expect(signals.every((signal) => signal.state === SignalState.SIGNAL_STATE_CONSUMED)).toBe(true);
    expect(signals[0]?.consumedBySeq ?? 0n).toBeLessThan(signals[1]?.consumedBySeq ?? 0n);
  });

  it('a new Worker resumes a job parked by a worker that was shut down, re-running nothing', async () => {
    const runs = { before: 0, after: 0 };
    const register = (worker: Awaited<ReturnType<typeof newWorker>>) =>
      worker.register('restart-wait', async (ctx) => {
        const quote = await ctx.tool('before-wait', {}, async () => ++runs.before);
        const approval = await ctx.waitForSignal<string>('approval');
        const done = await ctx.tool('after-wait', {}, async () => ++runs.after);
        return { quote, approval: approval.timedOut ? null : approval.payload, done };
      });
    const first = await newWorker(env, { taskQueue: 'restart' });
    register(first);
    const jobId = await createJob(operator, 'restart-wait', null, { queue: 'restart' });
    await first.runUntil(waitForState(operator, jobId, PARKED));
    expect(first.state).toBe('STOPPED');

    const sent = await sendSignal(operator, jobId, 'approval', 'go ahead');
    expect(JobState[sent.jobState]).toBe('JOB_STATE_PENDING');
    const second = await newWorker(env, { taskQueue: 'restart' });
    register(second);
    const job = await second.runUntil(waitForState(operator, jobId, DONE));
    expect(JobState[job.state]).toBe('JOB_STATE_COMPLETED');
    expect(parseJson(job.output)).toEqual({ quote: 1, approval: 'go ahead', done: 1 });
    expect(runs).toEqual({ before: 1, after: 1 });
  });

  it('a deadline resumes the parked job with timedOut; a later signal stays pending', async () => {
    const worker = await newWorker(env, { taskQueue: 'deadline' });
    let resumedAt = 0;
    worker.register('deadline-wait', async (ctx) => {
      const approval = await ctx.waitForSignal('approval', { timeoutMs: 500 });
      resumedAt ||= Date.now();
      // Keep the job alive (parked again) so a late approval can be sent to it.
      const finish = await ctx.waitForSignal<string>('finish');
      return { approval, finish: finish.timedOut ? null : finish.payload };
    });
    const jobId = await createJob(operator, 'deadline-wait', null, { queue: 'deadline' });
    const job = await worker.runUntil(async () => {
      const parked = await waitForState(operator, jobId, PARKED);
      expect(parked.waitingFor?.signalName).toBe('approval');
      const deadline = parked.waitingFor?.deadline;
      expect(deadline).toBeDefined();
      const deadlineMs = Number(deadline?.seconds ?? 0n) * 1000 + (deadline?.nanos ?? 0) / 1e6;

      const waitingForFinish = await waitForJob(jobId, (j) => j.waitingFor?.signalName === 'finish', 5_000);
      expect(JobState[waitingForFinish.state]).toBe('JOB_STATE_PARKED');
      // The sweeper (every second) resumed it soon after the deadline, not before.
      expect(resumedAt).toBeGreaterThanOrEqual(deadlineMs - 50);
      expect(resumedAt - deadlineMs).toBeLessThan(2_000);

      const late = await sendSignal(operator, jobId, 'approval', { approved: 'too late' });
      expect(SignalState[late.signal?.state ?? 0]).toBe('SIGNAL_STATE_PENDING');
      expect(JobState[late.jobState]).toBe('JOB_STATE_PARKED');
      await sendSignal(operator, jobId, 'finish', 'bye');
      return waitForState(operator, jobId, DONE);
    });
    expect(JobState[job.state]).toBe('JOB_STATE_COMPLETED');
    expect(parseJson(job.output)).toEqual({ approval: { timedOut: true, name: 'approval' }, finish: 'bye' });
    const approvals = await listSignals(operator, jobId, { name: 'approval' });
    expect(approvals.map((signal) => SignalState[signal.state])).toEqual(['SIGNAL_STATE_PENDING']);
    const events = await readEvents(operator, jobId);
    const types = events.map((event) => event.type);
    expect(types.filter((type) => type === 'aetheris.signal.timed_out')).toHaveLength(1);
    const resumed = events.filter((event) => event.type === 'aetheris.job.resumed').map((e) => parseJson(e.payload));
    expect(resumed[0]).toEqual({ cause: 'wait_deadline' });
  });

  it('cancelling a parked job cancels it at once; signals to it are then refused', async () => {
    const worker = await newWorker(env, { taskQueue: 'cancel' });
    worker.register('cancel-wait', async (ctx) => ctx.waitForSignal('approval'));
    const jobId = await createJob(operator, 'cancel-wait', null, { queue: 'cancel' });
    await worker.runUntil(waitForState(operator, jobId, PARKED));
    const { job } = await unary(
      operator.runtime,
      operator.runtime.cancelJob,
      CancelJobRequest.fromPartial({ jobId, reason: 'nobody will approve' }),
      operator.metadata(),
    );
    expect(JobState[job?.state ?? 0]).toBe('JOB_STATE_CANCELLED');
    await expectGrpcError(sendSignal(operator, jobId, 'approval', true), status.FAILED_PRECONDITION, 'JOB_TERMINAL');
    expect(await listSignals(operator, jobId)).toEqual([]);
  });

  it('a replay that waits where the history recorded another call fails the job with NONDETERMINISM', async () => {
    let version = 1;
    const errors: unknown[] = [];
    const worker = await newWorker(env, { taskQueue: 'diverge' });
    worker.register('diverging-wait', async (ctx) => {
      try {
        if (version === 1) return await ctx.waitForSignal('approval');
        return await ctx.waitForSignal('another-name');
      } catch (error) {
        errors.push(error);
        throw error;
      }
    });
    const jobId = await createJob(operator, 'diverging-wait', null, { queue: 'diverge' });
    const job = await worker.runUntil(async () => {
      await waitForState(operator, jobId, PARKED);
      version = 2;
      await sendSignal(operator, jobId, 'approval', null);
      return waitForState(operator, jobId, DONE);
    });
    expect(JobState[job.state]).toBe('JOB_STATE_FAILED');
    expect(job.lastError?.reason).toBe('NONDETERMINISM');
    const diverged = errors.find((error) => error instanceof NondeterminismError);
    expect(diverged).toMatchObject({ callKey: '1', requestedTool: 'aetheris.signal', recordedTool: 'aetheris.signal' });
  });

  it('rejects invalid names and timeouts before any call', async () => {
    const seen: string[] = [];
    const worker = await newWorker(env, { taskQueue: 'invalid' });
    worker.register('invalid-wait', async (ctx) => {
      for (const attempt of [
        () => ctx.waitForSignal('has space'),
        () => ctx.waitForSignal('ok', { timeoutMs: 0 }),
        () => ctx.waitForSignal('ok', { timeoutMs: Number.NaN }),
      ]) {
        await attempt().catch((error: Error) => seen.push(error.name));
      }
      // No position was taken by the rejected calls: this one is call #1.
      return ctx.tool('after', {}, async () => 'ok');
    });
    const jobId = await createJob(operator, 'invalid-wait', null, { queue: 'invalid' });
    const job = await worker.runUntil(waitForState(operator, jobId, DONE));
    expect(JobState[job.state]).toBe('JOB_STATE_COMPLETED');
    expect(seen).toEqual(['TypeError', 'RangeError', 'RangeError']);
  });
});

describe('SendSignal: idempotency and errors', () => {
  it('ten concurrent identical sends store one signal, answer nine duplicates, and consume it once', async () => {
    const worker = await newWorker(env, { taskQueue: 'dupes' });
    worker.register('dupe-wait', async (ctx) => ctx.waitForSignal('approval'));
    const jobId = await createJob(operator, 'dupe-wait', null, { queue: 'dupes' });
    const signalId = randomUUID();
    const job = await worker.runUntil(async () => {
      await waitForState(operator, jobId, PARKED);
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => sendSignal(operator, jobId, 'approval', { approved: true }, signalId)),
      );
      expect(answers.filter((answer) => answer.duplicate)).toHaveLength(9);
      expect(new Set(answers.map((answer) => answer.signal?.id))).toEqual(new Set([signalId]));
      return waitForState(operator, jobId, DONE);
    });
    expect(JobState[job.state]).toBe('JOB_STATE_COMPLETED');
    expect(parseJson(job.output)).toMatchObject({ signalId, payload: { approved: true } });
    const signals = await listSignals(operator, jobId);
    expect(signals.map((signal) => [signal.id, SignalState[signal.state]])).toEqual([
      [signalId, 'SIGNAL_STATE_CONSUMED'],
    ]);
    const types = await eventTypes(jobId);
    expect(types.filter((type) => type === 'aetheris.signal.received')).toHaveLength(1);
    expect(types.filter((type) => type === 'aetheris.signal.consumed')).toHaveLength(1);

    // A retry after the job finished is still a success (the original signal); a new one is refused.
    const retried = await sendSignal(operator, jobId, 'approval', { approved: true }, signalId);
    expect(retried.duplicate).toBe(true);
    expect(JobState[retried.jobState]).toBe('JOB_STATE_COMPLETED');
    // Same id, another payload: a conflict, never a second signal.
    await expectGrpcError(
      sendSignal(operator, jobId, 'approval', { approved: false }, signalId),
      status.FAILED_PRECONDITION,
      'IDEMPOTENCY_CONFLICT',
    );
    await expectGrpcError(sendSignal(operator, jobId, 'approval', true), status.FAILED_PRECONDITION, 'JOB_TERMINAL');
    expect(await listSignals(operator, jobId)).toHaveLength(1);
  });

  it('same id with another payload on a live job → IDEMPOTENCY_CONFLICT; the first signal stays', async () => {
    const jobId = await createJob(operator, 'never-runs', null, { queue: 'nobody' });
    const signalId = randomUUID();
    await sendSignal(operator, jobId, 'approval', { amount: 1 }, signalId);
    // Whitespace and key order do not matter: the payload is compared canonically.
    const same = await unary(
      operator.signal,
      operator.signal.sendSignal,
      SendSignalRequest.fromPartial({ jobId, name: 'approval', signalId, payload: Buffer.from('{ "amount" : 1 }') }),
      operator.metadata(),
    );
    expect(same.duplicate).toBe(true);
    await expectGrpcError(
      sendSignal(operator, jobId, 'approval', { amount: 2 }, signalId),
      status.FAILED_PRECONDITION,
      'IDEMPOTENCY_CONFLICT',
    );
    await expectGrpcError(
      sendSignal(operator, jobId, 'rejection', { amount: 1 }, signalId),
      status.FAILED_PRECONDITION,
      'IDEMPOTENCY_CONFLICT',
    );
    const signals = await listSignals(operator, jobId);
    expect(signals.map((signal) => parseJson(signal.payload))).toEqual([{ amount: 1 }]);
  });

  // Server defect: aetheris.signals is keyed (tenant_id, job_id, signal_id), so the same
  // signal_id sent to another job is stored as a second signal; the contract makes signal_id
  // unique within the tenant (IDEMPOTENCY_CONFLICT). Drop `.fails` once fixed.
  it('the same signal_id to another job → IDEMPOTENCY_CONFLICT', async () => {
    const first = await createJob(operator, 'never-runs', null, { queue: 'nobody' });
    const second = await createJob(operator, 'never-runs', null, { queue: 'nobody' });
    const signalId = randomUUID();
    await sendSignal(operator, first, 'approval', true, signalId);
    await expectGrpcError(
      sendSignal(operator, second, 'approval', true, signalId),
      status.FAILED_PRECONDITION,
      'IDEMPOTENCY_CONFLICT',
    );
  });

  it('unknown job → NOT_FOUND; malformed payload, missing signal_id or name → INVALID_ARGUMENT naming the field', async () => {
    const jobId = await createJob(operator, 'never-runs', null, { queue: 'nobody' });
    const send = (request: Partial<SendSignalRequest>) =>
      unary(
        operator.signal,
        operator.signal.sendSignal,
        SendSignalRequest.fromPartial({ jobId, name: 'approval', signalId: randomUUID(), ...request }),
        operator.metadata(),
      );
    await expectGrpcError(send({ jobId: randomUUID() }), status.NOT_FOUND);
    await expectGrpcError(send({ payload: Buffer.from('{"approved":') }), status.INVALID_ARGUMENT, 'INVALID_FIELD', {
      field: 'payload',
    });
    await expectGrpcError(send({ signalId: '' }), status.INVALID_ARGUMENT, 'INVALID_FIELD', { field: 'signal_id' });
    await expectGrpcError(send({ signalId: 'not-a-uuid' }), status.INVALID_ARGUMENT, 'INVALID_FIELD', {
      field: 'signal_id',
    });
    await expectGrpcError(send({ name: '' }), status.INVALID_ARGUMENT, 'INVALID_FIELD', { field: 'name' });
    await expectGrpcError(send({ jobId: 'nope' }), status.INVALID_ARGUMENT, 'INVALID_FIELD', { field: 'job_id' });
    // Nothing was stored by the refused calls.
    expect(await listSignals(operator, jobId)).toEqual([]);
    // A worker key may not send signals.
    const worker = await env.clients('worker', 'acme');
    await expectGrpcError(sendSignal(worker, jobId, 'approval', true), status.PERMISSION_DENIED);
  });
});

describe('signal-to-resume latency', () => {
  it('an idle worker resumes a parked job quickly after SendSignal (p99 < 250 ms over 20 jobs)', async () => {
    const COUNT = 20;
    const resumed = new Map<string, Latch<number>>();
    const worker = await newWorker(env, { taskQueue: 'latency', concurrency: 4 });
    worker.register('latency-wait', async (ctx) => {
      await ctx.waitForSignal('go');
      // Reached only on the run that got the signal: the first run parks and ends at the wait.
      resumed.get(ctx.job.id)?.resolve(performance.now());
      return 'resumed';
    });
    const latencies = await worker.runUntil(async () => {
      const ids = await Promise.all(
        Array.from({ length: COUNT }, () => createJob(operator, 'latency-wait', null, { queue: 'latency' })),
      );
      for (const id of ids) resumed.set(id, latch<number>());
      await Promise.all(ids.map((id) => waitForState(operator, id, PARKED)));
      const measured: number[] = [];
      for (const id of ids) {
        // Let the worker go back to its long poll: idle and waiting.
        await sleep(30);
        const sentAt = performance.now();
        await sendSignal(operator, id, 'go', null);
        const resumedAt = await resumed.get(id)?.promise;
        measured.push((resumedAt ?? Number.NaN) - sentAt);
        await waitForState(operator, id, DONE);
      }
      return measured;
    });
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    console.log(
      `signal-to-resume over ${COUNT} jobs: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, ` +
        `max ${Math.max(...latencies).toFixed(1)} ms`,
    );
    expect(latencies.every(Number.isFinite)).toBe(true);
    expect(p99).toBeLessThan(250);
  });
});
