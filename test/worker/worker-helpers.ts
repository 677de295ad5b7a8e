/** Helpers of the worker SDK suites: jobs through the operator API, latches, captured logs. */
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import type { Event } from '../../gen/ts/aetheris/runtime/v1/event.js';
import { type Job, JobState, RetryPolicy } from '../../gen/ts/aetheris/runtime/v1/job.js';
import {
  AcquireJobRequest,
  BeginToolCallRequest,
  CreateJobRequest,
  GetJobRequest,
  ReadEventsRequest,
} from '../../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { ToolCallDecision } from '../../gen/ts/aetheris/runtime/v1/worker.js';
import { type AetherisClients, unary } from '../../src/client/connect.js';
import { Worker, type WorkerLogger, type WorkerOptions } from '../../src/worker/index.js';
import { createKey, type TestEnv } from '../helpers/harness.js';

/** Retries almost at once, so replay tests do not wait for the default 1 s backoff. */
export const FAST_RETRY: Partial<RetryPolicy> = { maxAttempts: 3, initialBackoff: { seconds: 0n, nanos: 10_000_000 } };

/** A promise with its resolve function exposed: holds a handler at a known point. */
export interface Latch<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
}

export function latch<T = void>(): Latch<T> {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Resolves with the signal's reason once it aborts. */
export function aborted(signal: AbortSignal): Promise<unknown> {
  if (signal.aborted) return Promise.resolve(signal.reason);
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(signal.reason), { once: true }));
}

/** A logger that keeps every line, to assert on what the SDK reported. */
export function captureLogger(): WorkerLogger & { lines: { level: string; msg: string; fields: object }[] } {
  const lines: { level: string; msg: string; fields: object }[] = [];
  const at = (level: string) => (fields: object, msg: string) => {
    lines.push({ level, msg, fields });
  };
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

export async function createJob(
  operator: AetherisClients,
  jobType: string,
  input: unknown,
  extra: Partial<CreateJobRequest> = {},
): Promise<string> {
  const { job } = await unary(
    operator.runtime,
    operator.runtime.createJob,
    CreateJobRequest.fromPartial({ jobType, input: json(input), retryPolicy: FAST_RETRY, ...extra }),
    operator.metadata(),
  );
  if (!job) throw new Error('CreateJob returned no job');
  return job.id;
}

export async function getJob(operator: AetherisClients, jobId: string): Promise<Job> {
  const { job } = await unary(
    operator.runtime,
    operator.runtime.getJob,
    GetJobRequest.fromPartial({ jobId }),
    operator.metadata(),
  );
  if (!job) throw new Error('GetJob returned no job');
  return job;
}

/** Polls GetJob until the job is in one of `states`. */
export async function waitForState(
  operator: AetherisClients,
  jobId: string,
  states: JobState[],
  timeoutMs = 15_000,
): Promise<Job> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const job = await getJob(operator, jobId);
    if (states.includes(job.state)) return job;
    if (Date.now() > until) {
      throw new Error(`job ${jobId} stayed ${JobState[job.state]}; expected ${states.map((s) => JobState[s])}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function readEvents(operator: AetherisClients, jobId: string): Promise<Event[]> {
  const { events } = await unary(
    operator.runtime,
    operator.runtime.readEvents,
    ReadEventsRequest.fromPartial({ jobId, limit: 1000 }),
    operator.metadata(),
  );
  return events;
}

export function parseJson(bytes: Uint8Array): unknown {
  return bytes.length === 0 ? null : JSON.parse(Buffer.from(bytes).toString('utf8'));
}

/** A worker on the test server with a fresh worker key and short timings. */
export async function newWorker(env: TestEnv, options: Partial<WorkerOptions> = {}): Promise<Worker> {
  const apiKey = await createKey(env.url, 'acme', 'worker');
  return new Worker({
    address: env.server.address,
    apiKey,
    taskQueue: 'default',
    pollWaitMs: 2_000,
    logger: captureLogger(),
    ...options,
  });
}

/**
 * Plays a worker that starts the job's tool call "1" (`toolName`, args `{}`) and dies before
 * recording its outcome; returns once the expired lease put the job back to be retried.
 */
export async function createJobDyingDuringToolCall(
  env: TestEnv,
  operator: AetherisClients,
  jobType: string,
  toolName: string,
  options: { idempotent?: boolean; maxAttempts?: number } = {},
): Promise<string> {
  const jobId = await createJob(operator, jobType, null, {
    retryPolicy: RetryPolicy.fromPartial({ ...FAST_RETRY, maxAttempts: options.maxAttempts ?? 3 }),
  });
  const zombie = await env.clients('worker', 'acme');
  const acquired = await unary(
    zombie.runtime,
    zombie.runtime.acquireJob,
    AcquireJobRequest.fromPartial({
      workerId: `zombie-${jobType}`,
      jobTypes: [jobType],
      wait: { seconds: 5n, nanos: 0 },
      leaseDuration: { seconds: 1n, nanos: 0 },
    }),
    zombie.metadata(),
  );
  expect(acquired.lease?.jobId).toBe(jobId);
  const begin = await unary(
    zombie.runtime,
    zombie.runtime.beginToolCall,
    BeginToolCallRequest.fromPartial({
      jobId,
      fencingToken: acquired.lease?.fencingToken ?? 0n,
      callKey: '1',
      toolName,
      argsDigest: createHash('sha256').update('{}').digest(),
      idempotent: options.idempotent ?? false,
    }),
    zombie.metadata(),
  );
  expect(begin.decision).toBe(ToolCallDecision.TOOL_CALL_DECISION_EXECUTE);
  // The lease expires; the sweeper puts the job back on the retry path.
  await waitForState(operator, jobId, [JobState.JOB_STATE_PENDING, JobState.JOB_STATE_RETRYING]);
  return jobId;
}
