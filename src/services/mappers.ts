import { ApiKey, Role as ProtoRole } from '../../gen/ts/aetheris/runtime/v1/admin_service.js';
import type { Event, GlobalPosition } from '../../gen/ts/aetheris/runtime/v1/event.js';
import { type Job, type JobError, JobState as ProtoJobState } from '../../gen/ts/aetheris/runtime/v1/job.js';
import { type ToolCall, ToolCallState } from '../../gen/ts/aetheris/runtime/v1/worker.js';
import type { Duration } from '../../gen/ts/google/protobuf/duration.js';
import type { Timestamp } from '../../gen/ts/google/protobuf/timestamp.js';
import { Role as DomainRole, type Role } from '../domain/api-key.js';
import { canonicalize } from '../domain/canonical-json.js';
import { JobState } from '../domain/job-state.js';
import type { EventRecord, GlobalPositionRecord, JobErrorRecord, JobRecord, Micros } from '../domain/records.js';
import type { ApiKeyRecord } from '../store/api-keys.js';
import type { ToolCallRecord } from '../store/tool-call-rows.js';

export function timestampFromUs(us: Micros): Timestamp {
  const seconds = us / 1_000_000n;
  const rest = us % 1_000_000n;
  // Floor division for times before the epoch.
  return rest < 0n
    ? { seconds: seconds - 1n, nanos: Number(rest + 1_000_000n) * 1000 }
    : { seconds, nanos: Number(rest) * 1000 };
}

/** Timestamp → µs, truncating sub-microsecond nanos. */
export function usFromTimestamp(timestamp: Timestamp): Micros {
  return timestamp.seconds * 1_000_000n + BigInt(Math.floor(timestamp.nanos / 1000));
}

export function msFromDuration(duration: Duration | undefined): number {
  if (!duration) return 0;
  return Number(duration.seconds) * 1000 + Math.floor(duration.nanos / 1e6);
}

export function durationFromMs(ms: number): Duration {
  const whole = Math.floor(ms);
  return { seconds: BigInt(Math.floor(whole / 1000)), nanos: (whole % 1000) * 1e6 };
}

/** A span of microseconds as a Duration (negative spans, from clock skew, count as zero). */
export function durationFromUs(us: bigint): Duration {
  const whole = us < 0n ? 0n : us;
  return { seconds: whole / 1_000_000n, nanos: Number(whole % 1_000_000n) * 1000 };
}

const TO_PROTO_STATE: Record<JobState, ProtoJobState> = {
  [JobState.PENDING]: ProtoJobState.JOB_STATE_PENDING,
  [JobState.RUNNING]: ProtoJobState.JOB_STATE_RUNNING,
  [JobState.PARKED]: ProtoJobState.JOB_STATE_PARKED,
  [JobState.RETRYING]: ProtoJobState.JOB_STATE_RETRYING,
  [JobState.COMPLETED]: ProtoJobState.JOB_STATE_COMPLETED,
  [JobState.FAILED]: ProtoJobState.JOB_STATE_FAILED,
  [JobState.CANCELLED]: ProtoJobState.JOB_STATE_CANCELLED,
};

export const PROTO_JOB_STATES: readonly ProtoJobState[] = Object.values(TO_PROTO_STATE);

export function jobStateToProto(state: JobState): ProtoJobState {
  return TO_PROTO_STATE[state];
}

export function jobStateFromProto(state: ProtoJobState): JobState {
  const entry = Object.entries(TO_PROTO_STATE).find(([, value]) => value === state);
  if (!entry) throw new Error(`unmapped job state ${state}`);
  return entry[0] as JobState;
}

export function jobToProto(job: JobRecord): Job {
  return {
    id: job.id,
    jobType: job.jobType,
    queue: job.queue,
    state: jobStateToProto(job.state),
    input: Buffer.from(job.input, 'utf8'),
    output: job.output === null ? Buffer.alloc(0) : Buffer.from(job.output, 'utf8'),
    lastError: job.lastError ? jobErrorToProto(job.lastError) : undefined,
    attempt: job.attempt,
    maxAttempts: job.maxAttempts,
    priority: job.priority,
    idempotencyKey: job.idempotencyKey ?? '',
    fencingToken: job.fencingToken,
    leaseOwner: job.leaseOwner ?? '',
    leaseExpiresAt: job.leaseExpiresAt === null ? undefined : timestampFromUs(job.leaseExpiresAt),
    nextRunAt:
      job.state === JobState.PENDING || job.state === JobState.RETRYING ? timestampFromUs(job.nextRunAt) : undefined,
    headSeq: job.headSeq,
    headHash: job.headHash,
    waitingFor: job.waitingFor
      ? {
          signalName: job.waitingFor.signalName ?? '',
          deadline: job.waitingFor.deadlineUs ? timestampFromUs(BigInt(job.waitingFor.deadlineUs)) : undefined,
          toolCallKey: job.waitingFor.toolCallKey ?? '',
        }
      : undefined,
    createdAt: timestampFromUs(job.createdAt),
    updatedAt: timestampFromUs(job.updatedAt),
    labels: job.labels,
    retryPolicy: {
      maxAttempts: job.retryPolicy.maxAttempts,
      initialBackoff: durationFromMs(job.retryPolicy.initialBackoffMs),
      maxBackoff: durationFromMs(job.retryPolicy.maxBackoffMs),
      backoffCoefficient: job.retryPolicy.backoffCoefficient,
    },
    attemptTimeout: job.attemptTimeoutUs > 0n ? durationFromMs(Number(job.attemptTimeoutUs / 1000n)) : undefined,
    finishedAt: job.finishedAt === null ? undefined : timestampFromUs(job.finishedAt),
    requiredCapabilities: job.requiredCapabilities,
    heartbeatAt: job.heartbeatAt === null ? undefined : timestampFromUs(job.heartbeatAt),
  };
}

export function positionToProto(position: GlobalPositionRecord): GlobalPosition {
  return { transactionId: position.txId, position: position.position };
}

export function eventToProto(event: EventRecord): Event {
  return {
    jobId: event.jobId,
    seq: event.seq,
    position: positionToProto(event),
    eventId: event.eventId,
    type: event.type,
    payload: Buffer.from(event.payload, 'utf8'),
    actor: event.actor,
    recordedAt: timestampFromUs(event.recordedAt),
    payloadDigest: event.payloadDigest,
    prevHash: event.prevHash,
    hash: event.hash,
  };
}

const TO_PROTO_ROLE: Record<Role, ProtoRole> = {
  [DomainRole.ADMIN]: ProtoRole.ROLE_ADMIN,
  [DomainRole.OPERATOR]: ProtoRole.ROLE_OPERATOR,
  [DomainRole.WORKER]: ProtoRole.ROLE_WORKER,
  [DomainRole.READER]: ProtoRole.ROLE_READER,
};

export const PROTO_ROLES: readonly ProtoRole[] = Object.values(TO_PROTO_ROLE);

export function roleFromProto(role: ProtoRole): Role {
  const entry = Object.entries(TO_PROTO_ROLE).find(([, value]) => value === role);
  if (!entry) throw new Error(`unmapped role ${role}`);
  return entry[0] as Role;
}

export function apiKeyToProto(key: ApiKeyRecord): ApiKey {
  return ApiKey.fromPartial({
    keyId: key.keyId,
    tenant: key.tenant,
    name: key.name,
    role: TO_PROTO_ROLE[key.role],
    createdAt: timestampFromUs(key.createdAt),
    revokedAt: key.revokedAt === null ? undefined : timestampFromUs(key.revokedAt),
  });
}

const TO_PROTO_TOOL_STATE: Record<ToolCallRecord['state'], ToolCallState> = {
  started: ToolCallState.TOOL_CALL_STATE_STARTED,
  succeeded: ToolCallState.TOOL_CALL_STATE_SUCCEEDED,
  failed: ToolCallState.TOOL_CALL_STATE_FAILED,
  in_doubt: ToolCallState.TOOL_CALL_STATE_IN_DOUBT,
  resolved: ToolCallState.TOOL_CALL_STATE_RESOLVED,
};

export function jobErrorToProto(error: JobErrorRecord): JobError {
  return {
    reason: error.reason,
    message: error.message,
    details: error.details === undefined ? Buffer.alloc(0) : Buffer.from(canonicalize(error.details), 'utf8'),
  };
}

export function toolCallToProto(call: ToolCallRecord): ToolCall {
  return {
    jobId: call.jobId,
    callKey: call.callKey,
    toolName: call.toolName,
    argsDigest: call.argsDigest,
    state: TO_PROTO_TOOL_STATE[call.state],
    result: call.result === null ? Buffer.alloc(0) : Buffer.from(call.result, 'utf8'),
    error: call.error ? jobErrorToProto(call.error) : undefined,
    attempt: call.attempt,
    externalIdempotencyKey: call.externalKey,
    idempotent: call.idempotent,
    startedAt: timestampFromUs(call.startedAt),
    finishedAt: call.finishedAt === null ? undefined : timestampFromUs(call.finishedAt),
  };
}
