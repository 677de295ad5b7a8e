import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobState } from '../../gen/ts/aetheris/runtime/v1/job.js';
import { CancelJobRequest } from '../../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { type AetherisClients, unary } from '../../src/client/connect.js';
import { JobCancelledError, LeaseLostError, Worker, WorkerShutdownError, WorkerState } from '../../src/worker/index.js';
import { query, startTestEnv, type TestEnv } from '../helpers/harness.js';
import {
  aborted,
  captureLogger,
  createJob,
  createJobDyingDuringToolCall,
  getJob,
  latch,
  newWorker,
  parseJson,
  readEvents,
  waitForState,
} from './worker-helpers.js';

let env: TestEnv;
let operator: AetherisClients;

beforeAll(async () => {
  env = await startTestEnv();
  operator = await env.clients('operator', 'acme');
});
afterAll(() => env.close());

const DONE = [JobState.JOB_STATE_COMPLETED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED];

describe('Worker: cancellation', () => {
  it('aborts the handler when the job is cancelled and writes nothing more', async () => {
    const started = latch();
    const handlerDone = latch();
    const observed: { abortReason?: unknown; toolError?: unknown; laterError?: unknown; laterRan: boolean } = {
      laterRan: false,
    };
    const worker = await newWorker(env, { leaseDurationMs: 3_000, heartbeatIntervalMs: 200 });
    worker.register('cancellable', async (ctx) => {
      try {
        await ctx.tool('long-call', {}, async ({ signal }) => {
          started.resolve();
          observed.abortReason = await aborted(signal);
          throw observed.abortReason;
        });
      } catch (error) {
        observed.toolError = error;
      }
      try {
        await ctx.tool('after-cancel', {}, async () => {
          observed.laterRan = true;
        });
      } catch (error) {
        observed.laterError = error;
      }
      handlerDone.resolve();
      return 'returned anyway';
    });
    const jobId = await createJob(operator, 'cancellable', null);

    await worker.runUntil(async () => {
      await started.promise;
      await unary(
        operator.runtime,
        operator.runtime.cancelJob,
        CancelJobRequest.fromPartial({ jobId, reason: 'operator changed their mind' }),
        operator.metadata(),
      );
      await handlerDone.promise;
    });

    expect(observed.abortReason).toBeInstanceOf(JobCancelledError);
    expect(observed.toolError).toBeInstanceOf(JobCancelledError);
    expect(observed.laterError).toBeInstanceOf(JobCancelledError);
    expect(observed.laterRan).toBe(false);
    const job = await getJob(operator, jobId);
    expect(JobState[job.state]).toBe('JOB_STATE_CANCELLED');
    const types = (await readEvents(operator, jobId)).map((event) => event.type);
    expect(types.at(-1)).toBe('aetheris.job.cancelled');
    expect(types).not.toContain('aetheris.tool_call.finished');
    expect(types).not.toContain('aetheris.job.completed');
  });
});

describe('Worker: shutdown', () => {
  it('drains: stops polling and lets a running handler finish within the grace time', async () => {
    const started = latch();
    const worker = await newWorker(env);
    worker.register('slow-but-finishes', async (ctx) => {
      started.resolve();
      await new Promise((resolve) => setTimeout(resolve, 400));
      return ctx.tool('finish', {}, async () => 'finished');
    });
    const jobId = await createJob(operator, 'slow-but-finishes', null);
    const running = worker.run();
    expect(worker.state).toBe(WorkerState.RUNNING);
    await started.promise;

    const stopping = worker.shutdown({ graceMs: 10_000 });
    expect(worker.state).toBe(WorkerState.DRAINING);
    // A job created while draining is not picked up.
    const lateJobId = await createJob(operator, 'slow-but-finishes', null);
    await stopping;
    await running;

    expect(worker.state).toBe(WorkerState.STOPPED);
    const job = await getJob(operator, jobId);
    expect(JobState[job.state]).toBe('JOB_STATE_COMPLETED');
    expect(parseJson(job.output)).toBe('finished');
    expect(JobState[(await getJob(operator, lateJobId)).state]).toBe('JOB_STATE_PENDING');
  });

  it('aborts handlers after the grace time and releases their jobs to another worker', async () => {
    const started = latch();
    let abortReason: unknown;
    const first = await newWorker(env);
    first.register('stubborn', async (ctx) => {
      await ctx.tool('wait-forever', {}, async ({ signal }) => {
        started.resolve();
        abortReason = await aborted(signal);
        throw abortReason;
      });
      return 'not reached';
    });
    const jobId = await createJob(operator, 'stubborn', null);
    const running = first.run();
    await started.promise;
    const begun = Date.now();
    await first.shutdown({ graceMs: 300 });
    await running;

    expect(Date.now() - begun).toBeLessThan(3_000);
    expect(abortReason).toBeInstanceOf(WorkerShutdownError);
    const released = await getJob(operator, jobId);
    expect(JobState[released.state]).toBe('JOB_STATE_PENDING');
    expect(released.attempt).toBe(0);
    const types = (await readEvents(operator, jobId)).map((event) => event.type);
    expect(types.at(-1)).toBe('aetheris.job.released');

    // The tool's failure was recorded, so the next worker runs it again.
    const second = await newWorker(env);
    second.register('stubborn', async (ctx) => ctx.tool('wait-forever', {}, async () => 'done at last'));
    const job = await second.runUntil(waitForState(operator, jobId, DONE));
    expect(JobState[job.state]).toBe('JOB_STATE_COMPLETED');
    expect(job.attempt).toBe(1);
    expect(parseJson(job.output)).toBe('done at last');
  });

  it('rejects run() when the server refuses the worker', async () => {
    const worker = new Worker({
      address: env.server.address,
      apiKey: 'aek_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      taskQueue: 'default',
      logger: captureLogger(),
    });
    worker.register('anything', async () => null);
    await expect(worker.run()).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    expect(worker.state).toBe(WorkerState.STOPPED);
  });
});

describe('Worker: in-doubt tool calls', () => {
  /** Plays a worker that starts tool call "1" and dies before recording its outcome. */
  it('parks the job for a person when a non-idempotent call is in doubt, running nothing', async () => {
    const jobId = await createJobDyingDuringToolCall(env, operator, 'in-doubt-parks', 'send-money');
    let ran = 0;
    let seen: unknown;
    const handlerDone = latch();
    const worker = await newWorker(env);
    worker.register('in-doubt-parks', async (ctx) => {
      try {
        await ctx.tool('send-money', {}, async () => ++ran);
      } catch (error) {
        seen = error;
        throw error;
      } finally {
        handlerDone.resolve();
      }
    });
    const job = await worker.runUntil(async () => {
      await handlerDone.promise;
      return waitForState(operator, jobId, [JobState.JOB_STATE_PARKED]);
    });
    expect(ran).toBe(0);
    expect((seen as Error).name).toBe('JobParkedError');
    expect(job.waitingFor?.toolCallKey).toBe('1');
    const types = (await readEvents(operator, jobId)).map((event) => event.type);
    expect(types.slice(-2)).toEqual(['aetheris.tool_call.in_doubt', 'aetheris.job.parked']);
  });

  it('retries an idempotent in-doubt call with the same idempotency key', async () => {
    const jobId = await createJobDyingDuringToolCall(env, operator, 'in-doubt-retries', 'idempotent-charge', {
      idempotent: true,
    });
    const keys: string[] = [];
    const worker = await newWorker(env);
    worker.register('in-doubt-retries', async (ctx) =>
      ctx.tool(
        'idempotent-charge',
        {},
        async ({ idempotencyKey }) => {
          keys.push(idempotencyKey);
          return 'charged';
        },
        { idempotent: true },
      ),
    );
    const job = await worker.runUntil(waitForState(operator, jobId, DONE));
    expect(JobState[job.state]).toBe('JOB_STATE_COMPLETED');
    expect(keys).toEqual([`${jobId}:1`]);
  });
});

describe('Worker: lease loss', () => {
  it('aborts with LeaseLostError when another lease fences the attempt off', async () => {
    const started = latch();
    const handlerDone = latch();
    let abortReason: unknown;
    let completedAfter = false;
    const worker = await newWorker(env, { leaseDurationMs: 3_000, heartbeatIntervalMs: 200 });
    worker.register('fenced', async (ctx) => {
      started.resolve();
      abortReason = await aborted(ctx.signal);
      try {
        await ctx.tool('after-fence', {}, async () => {
          completedAfter = true;
        });
      } finally {
        handlerDone.resolve();
      }
    });
    const jobId = await createJob(operator, 'fenced', null);
    await worker.runUntil(async () => {
      await started.promise;
      // What another worker's AcquireJob does after this lease expired: a newer fencing token.
      await query(env.url, 'update aetheris.jobs set fencing_token = fencing_token + 1 where job_id = $1', [jobId]);
      await handlerDone.promise;
    });
    expect(abortReason).toBeInstanceOf(LeaseLostError);
    expect(completedAfter).toBe(false);
    const types = (await readEvents(operator, jobId)).map((event) => event.type);
    expect(types).not.toContain('aetheris.tool_call.started');
  });
});
