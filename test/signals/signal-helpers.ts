/** Helpers of the signal suites: signals through the operator API, and an in-doubt tool call. */
import { createHash, randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { JobState, RetryPolicy } from '../../gen/ts/aetheris/runtime/v1/job.js';
import { AcquireJobRequest, BeginToolCallRequest } from '../../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { ToolCallDecision } from '../../gen/ts/aetheris/runtime/v1/worker.js';
import type { Signal, SignalState } from '../../gen/ts/aetheris/signal/v1/signal.js';
import {
  ListSignalsRequest,
  ResolveInDoubtRequest,
  type ResolveInDoubtResponse,
  SendSignalRequest,
  type SendSignalResponse,
} from '../../gen/ts/aetheris/signal/v1/signal_service.js';
import { type AetherisClients, unary } from '../../src/client/connect.js';
import type { TestEnv } from '../helpers/harness.js';
import { createJob, waitForState } from '../worker/worker-helpers.js';

export function sendSignal(
  operator: AetherisClients,
  jobId: string,
  name: string,
  payload: unknown,
  signalId: string = randomUUID(),
): Promise<SendSignalResponse> {
  return unary(
    operator.signal,
    operator.signal.sendSignal,
    SendSignalRequest.fromPartial({
      jobId,
      name,
      signalId,
      payload: payload === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(payload)),
    }),
    operator.metadata(),
  );
}

export async function listSignals(
  operator: AetherisClients,
  jobId: string,
  filter: { states?: SignalState[]; name?: string } = {},
): Promise<Signal[]> {
  const { signals } = await unary(
    operator.signal,
    operator.signal.listSignals,
    ListSignalsRequest.fromPartial({ jobId, ...filter }),
    operator.metadata(),
  );
  return signals;
}

export function resolveInDoubt(
  operator: AetherisClients,
  request: Partial<ResolveInDoubtRequest>,
): Promise<ResolveInDoubtResponse> {
  return unary(
    operator.signal,
    operator.signal.resolveInDoubt,
    ResolveInDoubtRequest.fromPartial(request),
    operator.metadata(),
  );
}

/** The key id of a bearer token (`aek_<key id>_<secret>`), as it appears in actors (`key:<id>`). */
export function keyIdOf(token: string): string {
  const keyId = /^aek_([^_]+)_/.exec(token)?.[1];
  if (!keyId) throw new Error('not an Aetheris API key');
  return keyId;
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
): Promise<string> {
  const jobId = await createJob(operator, jobType, null, {
    retryPolicy: RetryPolicy.fromPartial({ maxAttempts: 5, initialBackoff: { seconds: 0n, nanos: 10_000_000 } }),
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
      idempotent: false,
    }),
    zombie.metadata(),
  );
  expect(begin.decision).toBe(ToolCallDecision.TOOL_CALL_DECISION_EXECUTE);
  // The lease expires; the sweeper puts the job back on the retry path.
  await waitForState(operator, jobId, [JobState.JOB_STATE_PENDING, JobState.JOB_STATE_RETRYING]);
  return jobId;
}

/** Percentile (nearest rank) of a list of numbers. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? Number.NaN;
}
