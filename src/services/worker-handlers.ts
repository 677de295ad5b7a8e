import {
  type AcquireJobRequest,
  type AcquireJobResponse,
  AwaitSignalOutcome,
  type AwaitSignalRequest,
  type AwaitSignalResponse,
  type BeginToolCallRequest,
  type BeginToolCallResponse,
  type CompleteJobRequest,
  type CompleteJobResponse,
  type CompleteToolCallRequest,
  type CompleteToolCallResponse,
  type FailJobRequest,
  type FailJobResponse,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type ReleaseJobRequest,
  type ReleaseJobResponse,
} from '../../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { ToolCallDecision } from '../../gen/ts/aetheris/runtime/v1/worker.js';
import { AetherisError, Code, invalidField, notFound, Reason } from '../domain/errors.js';
import { Limits, requireInt64, requireJson, requireMaxLength, requireName, requireUuid } from '../domain/validation.js';
import { type CallContext, throwIfAborted } from '../server/handlers.js';
import { type QueueWake, queueTopic } from '../store/event-notifier.js';
import { awaitSignal } from '../store/signals.js';
import { acquireJob, failJob, heartbeat, releaseJob } from '../store/worker-protocol.js';
import { actorOf, announce, type ServiceDeps } from './deps.js';
import { canonicalError } from './job-error.js';
import { eventToProto, jobToProto, msFromDuration, timestampFromUs, toolCallToProto } from './mappers.js';

const DEFAULT_LEASE_MS = 30_000;
const MAX_WAIT_MS = 60_000;
const SAFETY_RECHECK_MS = 2000;
/**
 * A due job this poll could take was locked (another poll is leasing it, or a write holds it
 * for a moment): look again after this long. The poll that leases it hands the wake on if more
 * jobs remain, so this only bounds the wait behind other short locks.
 */
const LOCKED_DUE_RECHECK_MS = 25;
const MAX_HISTORY_EVENTS = 10_000;

export async function handleAcquireJob(
  deps: ServiceDeps,
  request: AcquireJobRequest,
  ctx: CallContext,
): Promise<AcquireJobResponse> {
  const workerId = requireMaxLength('worker_id', request.workerId, 128);
  if (workerId === '') throw invalidField('worker_id', 'is required');
  const queues = request.queues.length === 0 ? ['default'] : names('queues', request.queues, 32);
  const jobTypes = names('job_types', request.jobTypes, 256);
  const capabilities = names('capabilities', request.capabilities, 64);
  const waitMs = msFromDuration(request.wait);
  if (waitMs < 0 || waitMs > MAX_WAIT_MS) throw invalidField('wait', 'must be between 0 and 60s');
  const leaseMs = request.leaseDuration ? msFromDuration(request.leaseDuration) : DEFAULT_LEASE_MS;
  if (leaseMs < 1000 || leaseMs > 600_000) throw invalidField('lease_duration', 'must be between 1s and 10m');

  const tenant = ctx.principal.tenant;
  const topics = queues.map((queue) => queueTopic(tenant, queue));
  const deadline = Date.now() + waitMs;
  // Set when a queue change woke this poll: the wake is ours to use or to pass on.
  let wake: QueueWake | undefined;
  for (;;) {
    if (ctx.signal.aborted && wake) deps.notifier.handOff(topics, wake.hops);
    throwIfAborted(ctx.signal);
    const versions = topics.map((topic) => deps.notifier.version(topic));
    const outcome = await acquireJob(deps.pool, {
      tenant,
      workerId,
      queues,
      jobTypes,
      capabilities,
      leaseMs,
      actor: `${actorOf(ctx.principal)}/${workerId}`,
      historyLimit: MAX_HISTORY_EVENTS,
    });
    if (outcome.kind === 'acquired') {
      // Due jobs left behind (several came with one wake, NOTIFYs coalesce): wake the next poll.
      if (outcome.othersRunnable) deps.notifier.handOff(topics, 0);
      const job = outcome.job;
      if (ctx.signal.aborted) {
        // The caller went away while we leased: give the job back at once instead of letting
        // it wait out the lease and spend an attempt.
        await releaseJob(deps.pool, {
          tenant,
          jobId: job.id,
          fencingToken: job.fencingToken,
          delayMs: 0,
          reason: 'the acquiring call was cancelled',
          actor: 'system',
        });
        announce(deps, tenant, job.queue);
        throwIfAborted(ctx.signal);
      }
      announce(deps, tenant);
      return {
        lease: {
          jobId: job.id,
          fencingToken: job.fencingToken,
          expiresAt: job.leaseExpiresAt === null ? undefined : timestampFromUs(job.leaseExpiresAt),
          attempt: job.attempt,
        },
        job: jobToProto(job),
        history: outcome.history.map(eventToProto),
        toolCalls: outcome.toolCalls.map(toolCallToProto),
        traceParent: outcome.traceParent ?? '',
      };
    }
    // Nothing for us. If due jobs remain that we may not take (other job types or capabilities),
    // pass the wake on; if the job was simply taken by another poll, waking the next is waste.
    if (wake && wake.hops > 0 && outcome.othersRunnable) deps.notifier.handOff(topics, wake.hops - 1);
    const now = Date.now();
    if (now >= deadline) return { lease: undefined, job: undefined, history: [], toolCalls: [], traceParent: '' };
    // Sleep until woken (a job became runnable), the next backoff is due, or the safety re-check.
    const dueIn = outcome.nextDue === null ? Number.POSITIVE_INFINITY : Number(outcome.nextDue / 1000n) - now;
    const sleepMs = Math.max(
      5,
      Math.min(deadline - now, dueIn <= 0 ? LOCKED_DUE_RECHECK_MS : dueIn, SAFETY_RECHECK_MS),
    );
    wake = await deps.notifier.wait(topics, versions, sleepMs, ctx.signal);
  }
}

export async function handleHeartbeat(
  deps: ServiceDeps,
  request: HeartbeatRequest,
  ctx: CallContext,
): Promise<HeartbeatResponse> {
  const jobId = requireUuid('job_id', request.jobId);
  const leaseMs = request.leaseDuration ? msFromDuration(request.leaseDuration) : null;
  if (leaseMs !== null && (leaseMs < 1000 || leaseMs > 600_000))
    throw invalidField('lease_duration', 'must be between 1s and 10m');
  const outcome = await heartbeat(deps.pool, {
    tenant: ctx.principal.tenant,
    jobId,
    fencingToken: requireInt64('fencing_token', request.fencingToken),
    leaseMs,
  });
  if (outcome.kind === 'ok') return { leaseExpiresAt: timestampFromUs(outcome.leaseExpiresAt) };
  throw leaseError(outcome, jobId);
}

export async function handleCompleteJob(
  deps: ServiceDeps,
  request: CompleteJobRequest,
  ctx: CallContext,
): Promise<CompleteJobResponse> {
  const jobId = requireUuid('job_id', request.jobId);
  const output = requireJson('output', request.output);
  const tenant = ctx.principal.tenant;
  const outcome = await deps.workerWrites.completeJob({
    tenant,
    jobId,
    fencingToken: requireInt64('fencing_token', request.fencingToken),
    output,
    actor: actorOf(ctx.principal),
  });
  if (outcome.kind !== 'completed') throw leaseError(outcome, jobId);
  announce(deps, tenant);
  return { job: jobToProto(outcome.job) };
}

export async function handleFailJob(
  deps: ServiceDeps,
  request: FailJobRequest,
  ctx: CallContext,
): Promise<FailJobResponse> {
  const jobId = requireUuid('job_id', request.jobId);
  const error = canonicalError('error', request.error);
  const tenant = ctx.principal.tenant;
  const outcome = await failJob(deps.pool, {
    tenant,
    jobId,
    fencingToken: requireInt64('fencing_token', request.fencingToken),
    error,
    nonRetryable: request.nonRetryable,
    actor: actorOf(ctx.principal),
  });
  if (outcome.kind !== 'failed' && outcome.kind !== 'retrying') throw leaseError(outcome, jobId);
  announce(deps, tenant, outcome.kind === 'retrying' ? outcome.job.queue : undefined);
  return { job: jobToProto(outcome.job) };
}

export async function handleReleaseJob(
  deps: ServiceDeps,
  request: ReleaseJobRequest,
  ctx: CallContext,
): Promise<ReleaseJobResponse> {
  const jobId = requireUuid('job_id', request.jobId);
  const delayMs = msFromDuration(request.delay);
  if (delayMs < 0 || delayMs > 366 * 24 * 3600 * 1000) throw invalidField('delay', 'must be between 0 and one year');
  const reason = requireMaxLength('reason', request.reason, Limits.maxReason);
  const tenant = ctx.principal.tenant;
  const outcome = await releaseJob(deps.pool, {
    tenant,
    jobId,
    fencingToken: requireInt64('fencing_token', request.fencingToken),
    delayMs,
    reason,
    actor: actorOf(ctx.principal),
  });
  if (outcome.kind !== 'released') throw leaseError(outcome, jobId);
  announce(deps, tenant, outcome.job.queue);
  return { job: jobToProto(outcome.job) };
}

const DECISIONS = {
  execute: ToolCallDecision.TOOL_CALL_DECISION_EXECUTE,
  recorded: ToolCallDecision.TOOL_CALL_DECISION_RECORDED,
  in_doubt: ToolCallDecision.TOOL_CALL_DECISION_IN_DOUBT,
} as const;

export async function handleBeginToolCall(
  deps: ServiceDeps,
  request: BeginToolCallRequest,
  ctx: CallContext,
): Promise<BeginToolCallResponse> {
  const jobId = requireUuid('job_id', request.jobId);
  const callKey = callKeyOf(request.callKey);
  const toolName = requireName('tool_name', request.toolName);
  if (request.argsDigest.length !== 32)
    throw invalidField('args_digest', 'must be the 32-byte SHA-256 of the canonical arguments');
  const tenant = ctx.principal.tenant;
  const outcome = await deps.workerWrites.beginToolCall({
    tenant,
    jobId,
    fencingToken: requireInt64('fencing_token', request.fencingToken),
    callKey,
    toolName,
    argsDigest: Buffer.from(request.argsDigest),
    idempotent: request.idempotent,
    actor: actorOf(ctx.principal),
  });
  deps.telemetry.metrics.toolCallBegun(outcome.kind);
  switch (outcome.kind) {
    case 'execute':
    case 'in_doubt':
      announce(deps, tenant);
      return { decision: DECISIONS[outcome.kind], call: toolCallToProto(outcome.call), detail: '' };
    case 'recorded':
      return { decision: DECISIONS.recorded, call: toolCallToProto(outcome.call), detail: '' };
    case 'nondeterminism':
      return { decision: ToolCallDecision.TOOL_CALL_DECISION_NONDETERMINISM, call: undefined, detail: outcome.detail };
    default:
      throw leaseError(outcome, jobId);
  }
}

export async function handleCompleteToolCall(
  deps: ServiceDeps,
  request: CompleteToolCallRequest,
  ctx: CallContext,
): Promise<CompleteToolCallResponse> {
  const jobId = requireUuid('job_id', request.jobId);
  const callKey = callKeyOf(request.callKey);
  const outcomeField = request.outcome;
  if (!outcomeField) throw invalidField('outcome', 'a result or an error is required');
  const result = outcomeField.$case === 'result' ? requireJson('result', outcomeField.value) : null;
  const error = outcomeField.$case === 'error' ? canonicalError('error', outcomeField.value) : null;
  const tenant = ctx.principal.tenant;
  const outcome = await deps.workerWrites.completeToolCall({
    tenant,
    jobId,
    fencingToken: requireInt64('fencing_token', request.fencingToken),
    callKey,
    result,
    error,
    actor: actorOf(ctx.principal),
  });
  deps.telemetry.metrics.toolCallCompleted(
    outcome.kind === 'completed' ? (result !== null ? 'succeeded' : 'failed') : outcome.kind,
  );
  switch (outcome.kind) {
    case 'completed':
      announce(deps, tenant);
      return { call: toolCallToProto(outcome.call) };
    case 'duplicate':
      return { call: toolCallToProto(outcome.call) };
    case 'not_started':
      throw new AetherisError({
        code: Code.FAILED_PRECONDITION,
        reason: Reason.TOOL_CALL_NOT_STARTED,
        message: `tool call ${callKey} was not started by this lease (call BeginToolCall first)`,
        metadata: { job_id: jobId, call_key: callKey },
      });
    case 'conflict':
      throw new AetherisError({
        code: Code.FAILED_PRECONDITION,
        reason: Reason.IDEMPOTENCY_CONFLICT,
        message: `tool call ${callKey} already has a different recorded outcome`,
        metadata: { job_id: jobId, call_key: callKey },
      });
    default:
      throw leaseError(outcome, jobId);
  }
}

function leaseError(outcome: { kind: string; state?: string | null }, jobId: string): AetherisError {
  if (outcome.kind === 'not_found') return notFound('job', jobId);
  return new AetherisError({
    code: Code.FAILED_PRECONDITION,
    reason: Reason.LEASE_LOST,
    message:
      'the fencing token is stale: the lease expired, was taken over, or the job was cancelled; stop working on it',
    metadata: outcome.state ? { job_id: jobId, state: outcome.state } : { job_id: jobId },
  });
}

function names(field: string, values: string[], max: number): string[] {
  if (values.length > max) throw invalidField(field, `at most ${max} entries`);
  return [...new Set(values.map((value, index) => requireName(`${field}[${index}]`, value)))];
}

function callKeyOf(value: string): string {
  if (value === '' || value.length > 256) throw invalidField('call_key', 'must be 1..256 characters');
  return value;
}

const AWAIT_OUTCOMES = {
  received: AwaitSignalOutcome.AWAIT_SIGNAL_OUTCOME_RECEIVED,
  timed_out: AwaitSignalOutcome.AWAIT_SIGNAL_OUTCOME_TIMED_OUT,
  parked: AwaitSignalOutcome.AWAIT_SIGNAL_OUTCOME_PARKED,
} as const;

export async function handleAwaitSignal(
  deps: ServiceDeps,
  request: AwaitSignalRequest,
  ctx: CallContext,
): Promise<AwaitSignalResponse> {
  const jobId = requireUuid('job_id', request.jobId);
  const callKey = callKeyOf(request.callKey);
  const name = requireName('signal_name', request.signalName);
  const timeoutMs = msFromDuration(request.timeout);
  if (timeoutMs < 0) throw invalidField('timeout', 'must not be negative');
  const tenant = ctx.principal.tenant;
  const outcome = await awaitSignal(deps.pool, {
    tenant,
    jobId,
    fencingToken: requireInt64('fencing_token', request.fencingToken),
    callKey,
    name,
    timeoutMs,
    actor: actorOf(ctx.principal),
  });
  if (outcome.kind === 'received' && outcome.signalSentAt !== null && outcome.call.finishedAt !== null) {
    // Both instants are the database's clock: no skew between hosts.
    deps.telemetry.metrics.signalConsumed(Number(outcome.call.finishedAt - outcome.signalSentAt) / 1e6);
  }
  switch (outcome.kind) {
    case 'received':
    case 'timed_out':
    case 'parked':
      announce(deps, tenant);
      return {
        outcome: AWAIT_OUTCOMES[outcome.kind],
        call: toolCallToProto(outcome.call),
        deadline: outcome.deadline === null ? undefined : timestampFromUs(outcome.deadline),
        detail: '',
      };
    case 'nondeterminism':
      return {
        outcome: AwaitSignalOutcome.AWAIT_SIGNAL_OUTCOME_NONDETERMINISM,
        call: undefined,
        deadline: undefined,
        detail: outcome.detail,
      };
    default:
      throw leaseError(outcome, jobId);
  }
}
