import type {
  CancelJobRequest,
  CancelJobResponse,
  CreateJobRequest,
  CreateJobResponse,
  GetJobRequest,
  GetJobResponse,
  ListJobsRequest,
  ListJobsResponse,
} from '../../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { canonicalize, type JsonValue } from '../domain/canonical-json.js';
import { AetherisError, Code, invalidField, notFound, Reason } from '../domain/errors.js';
import { payloadDigest } from '../domain/hash-chain.js';
import { newTimeOrderedId } from '../domain/ids.js';
import type { RetryPolicyRecord } from '../domain/records.js';
import {
  Limits,
  requireEnum,
  requireJson,
  requireLabels,
  requireMaxLength,
  requireName,
  requireRange,
  requireUuid,
} from '../domain/validation.js';
import type { CallContext } from '../server/handlers.js';
import { cancelJob, isUnfiltered, listJobs } from '../store/jobs.js';
import { actorOf, announce, type ServiceDeps } from './deps.js';
import { jobStateFromProto, jobToProto, msFromDuration, PROTO_JOB_STATES, usFromTimestamp } from './mappers.js';
import { decodeJobPageToken, encodeJobPageToken } from './page-token.js';

const DEFAULT_RETRY: RetryPolicyRecord = {
  maxAttempts: 3,
  initialBackoffMs: 1000,
  maxBackoffMs: 300_000,
  backoffCoefficient: 2,
};

export async function handleCreateJob(
  deps: ServiceDeps,
  request: CreateJobRequest,
  ctx: CallContext,
): Promise<CreateJobResponse> {
  const jobType = requireName('job_type', request.jobType);
  const queue = request.queue === '' ? 'default' : requireName('queue', request.queue);
  const input = requireJson('input', request.input);
  const idempotencyKey =
    request.idempotencyKey === ''
      ? null
      : requireMaxLength('idempotency_key', request.idempotencyKey, Limits.maxIdempotencyKey);
  const priority = requireRange('priority', request.priority, -1000, 1000);
  const labels = requireLabels('labels', request.labels);
  const retryPolicy = retryPolicyFrom(request);
  const attemptTimeoutMs = msFromDuration(request.attemptTimeout);
  if (attemptTimeoutMs < 0) throw invalidField('attempt_timeout', 'must not be negative');
  const runAt = request.runAt ? usFromTimestamp(request.runAt) : null;
  if (request.requiredCapabilities.length > 16) throw invalidField('required_capabilities', 'at most 16 capabilities');
  const requiredCapabilities = [
    ...new Set(
      request.requiredCapabilities.map((value, index) => requireName(`required_capabilities[${index}]`, value)),
    ),
  ].sort();

  // What makes two creates "the same request" for the idempotency key.
  const requestDigest = payloadDigest(
    canonicalize({
      jobType,
      queue,
      input,
      priority,
      labels,
      retry: { ...retryPolicy },
      attemptTimeoutMs,
      requiredCapabilities,
    }),
  );
  const payload = canonicalize({
    job_type: jobType,
    queue,
    input: JSON.parse(input) as JsonValue,
    priority,
    labels,
    max_attempts: retryPolicy.maxAttempts,
    idempotency_key: idempotencyKey,
    run_at_us: runAt === null ? null : runAt.toString(),
    required_capabilities: requiredCapabilities,
  });
  const outcome = await deps.jobCreates.run({
    tenant: ctx.principal.tenant,
    jobId: newTimeOrderedId(),
    jobType,
    queue,
    input,
    priority,
    retryPolicy,
    labels,
    idempotencyKey,
    requestDigest,
    runAt,
    attemptTimeoutUs: BigInt(attemptTimeoutMs) * 1000n,
    event: { eventId: newTimeOrderedId(), payload, digest: payloadDigest(payload) },
    actor: actorOf(ctx.principal),
    requiredCapabilities,
    traceParent: ctx.traceParent,
  });
  if (outcome.kind === 'idempotency_conflict') {
    throw new AetherisError({
      code: Code.FAILED_PRECONDITION,
      reason: Reason.IDEMPOTENCY_CONFLICT,
      message: 'idempotency_key was already used for a different request',
      metadata: { field: 'idempotency_key', job_id: outcome.job.id },
    });
  }
  if (outcome.kind === 'created') announce(deps, ctx.principal.tenant, queue);
  return { job: jobToProto(outcome.job), created: outcome.kind === 'created' };
}

function retryPolicyFrom(request: CreateJobRequest): RetryPolicyRecord {
  const policy = request.retryPolicy;
  if (!policy) return DEFAULT_RETRY;
  const maxAttempts =
    policy.maxAttempts === 0
      ? DEFAULT_RETRY.maxAttempts
      : requireRange('retry_policy.max_attempts', policy.maxAttempts, 1, 1000);
  const initialBackoffMs = policy.initialBackoff
    ? msFromDuration(policy.initialBackoff)
    : DEFAULT_RETRY.initialBackoffMs;
  const maxBackoffMs = policy.maxBackoff ? msFromDuration(policy.maxBackoff) : DEFAULT_RETRY.maxBackoffMs;
  if (initialBackoffMs < 0) throw invalidField('retry_policy.initial_backoff', 'must not be negative');
  if (maxBackoffMs < initialBackoffMs)
    throw invalidField('retry_policy.max_backoff', 'must be at least initial_backoff');
  const coefficient = policy.backoffCoefficient === 0 ? DEFAULT_RETRY.backoffCoefficient : policy.backoffCoefficient;
  if (!(coefficient >= 1 && coefficient <= 10))
    throw invalidField('retry_policy.backoff_coefficient', 'must be between 1 and 10');
  return { maxAttempts, initialBackoffMs, maxBackoffMs, backoffCoefficient: coefficient };
}

export async function handleGetJob(
  deps: ServiceDeps,
  request: GetJobRequest,
  ctx: CallContext,
): Promise<GetJobResponse> {
  const jobId = requireUuid('job_id', request.jobId);
  const job = await deps.jobReads.run({ tenant: ctx.principal.tenant, jobId });
  if (!job) throw notFound('job', jobId);
  return { job: jobToProto(job) };
}

export async function handleListJobs(
  deps: ServiceDeps,
  request: ListJobsRequest,
  ctx: CallContext,
): Promise<ListJobsResponse> {
  const pageSize = request.pageSize === 0 ? 50 : requireRange('page_size', request.pageSize, 1, 500);
  const states = request.states.map((state, index) =>
    jobStateFromProto(requireEnum(`states[${index}]`, state, PROTO_JOB_STATES)),
  );
  const filter = {
    states: [...new Set(states)].sort(),
    jobType: request.jobType === '' ? null : requireName('job_type', request.jobType),
    queue: request.queue === '' ? null : requireName('queue', request.queue),
    createdAfter: request.createdAfter ? usFromTimestamp(request.createdAfter) : null,
    createdBefore: request.createdBefore ? usFromTimestamp(request.createdBefore) : null,
    labels: requireLabels('labels', request.labels),
  };
  const filterKey = canonicalize({
    ...filter,
    createdAfter: filter.createdAfter?.toString() ?? null,
    createdBefore: filter.createdBefore?.toString() ?? null,
  });
  const cursor = decodeJobPageToken(request.pageToken, filterKey);
  const tenant = ctx.principal.tenant;
  const page = isUnfiltered(filter)
    ? await deps.jobPages.run({ tenant, cursor, limit: pageSize })
    : await listJobs(deps.pool, tenant, filter, cursor, pageSize);
  const last = page.jobs.at(-1);
  return {
    jobs: page.jobs.map(jobToProto),
    nextPageToken:
      page.more && last ? encodeJobPageToken({ createdAt: last.createdAt, jobId: last.id }, filterKey) : '',
  };
}

export async function handleCancelJob(
  deps: ServiceDeps,
  request: CancelJobRequest,
  ctx: CallContext,
): Promise<CancelJobResponse> {
  const jobId = requireUuid('job_id', request.jobId);
  const reason = requireMaxLength('reason', request.reason, Limits.maxReason);
  const payload = canonicalize({ reason });
  const outcome = await cancelJob(deps.pool, {
    tenant: ctx.principal.tenant,
    jobId,
    event: { eventId: newTimeOrderedId(), payload, digest: payloadDigest(payload) },
    actor: actorOf(ctx.principal),
  });
  switch (outcome.kind) {
    case 'not_found':
      throw notFound('job', jobId);
    case 'job_terminal':
      throw new AetherisError({
        code: Code.FAILED_PRECONDITION,
        reason: Reason.JOB_TERMINAL,
        message: `job ${jobId} is already ${outcome.job.state}`,
        metadata: { job_id: jobId, state: outcome.job.state },
      });
    case 'cancelled':
      announce(deps, ctx.principal.tenant);
      return { job: jobToProto(outcome.job) };
    case 'already_cancelled':
      return { job: jobToProto(outcome.job) };
  }
}
