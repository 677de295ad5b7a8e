import { z } from 'zod';
import type { JobState } from '../domain/job-state.js';
import type { EventRecord, JobErrorRecord, JobRecord, RetryPolicyRecord, WaitRecord } from '../domain/records.js';

// Row shapes as the pool's type parsers deliver them (int8/xid8/timestamptz → bigint).
// They type slonik queries; rows are not re-validated at run time (hot path).
const buffer = z.custom<Buffer>((value) => Buffer.isBuffer(value));
const micros = z.bigint();

export const jobRow = z.object({
  tenant_id: z.string(),
  job_id: z.string(),
  job_type: z.string(),
  queue: z.string(),
  state: z.custom<JobState>(),
  input: z.string(),
  output: z.string().nullable(),
  last_error: z.custom<JobErrorRecord>().nullable(),
  attempt: z.number(),
  max_attempts: z.number(),
  priority: z.number(),
  idempotency_key: z.string().nullable(),
  fencing_token: z.bigint(),
  lease_owner: z.string().nullable(),
  lease_expires_at: micros.nullable(),
  next_run_at: micros,
  head_seq: z.bigint(),
  head_hash: buffer,
  waiting_for: z.custom<WaitRecord>().nullable(),
  labels: z.record(z.string()),
  retry_policy: z.custom<RetryPolicyRecord>(),
  attempt_timeout_us: z.bigint(),
  created_at: micros,
  updated_at: micros,
  finished_at: micros.nullable(),
  required_capabilities: z.array(z.string()),
  heartbeat_at: micros.nullable(),
});
export type JobRow = z.infer<typeof jobRow>;

export function toJobRecord(row: JobRow): JobRecord {
  return {
    tenant: row.tenant_id,
    id: row.job_id,
    jobType: row.job_type,
    queue: row.queue,
    state: row.state,
    input: row.input,
    output: row.output,
    lastError: row.last_error,
    attempt: row.attempt,
    maxAttempts: row.max_attempts,
    priority: row.priority,
    idempotencyKey: row.idempotency_key,
    fencingToken: row.fencing_token,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: row.lease_expires_at,
    nextRunAt: row.next_run_at,
    headSeq: row.head_seq,
    headHash: row.head_hash,
    waitingFor: row.waiting_for,
    labels: row.labels,
    retryPolicy: row.retry_policy,
    attemptTimeoutUs: row.attempt_timeout_us,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
    requiredCapabilities: row.required_capabilities,
    heartbeatAt: row.heartbeat_at,
  };
}

export const eventRow = z.object({
  tenant_id: z.string(),
  job_id: z.string(),
  seq: z.bigint(),
  tx_id: z.bigint(),
  position: z.bigint(),
  event_id: z.string(),
  type: z.string(),
  payload: z.string(),
  payload_digest: buffer,
  actor: z.string(),
  recorded_at: micros,
  prev_hash: buffer,
  hash: buffer,
});
export type EventRow = z.infer<typeof eventRow>;

export function toEventRecord(row: EventRow): EventRecord {
  return jobEventRecord(row, row.tenant_id, row.job_id);
}

/** A row of one job's page, which does not select the tenant and job it was read for. */
export function jobEventRecord(
  row: Omit<EventRow, 'tenant_id' | 'job_id'>,
  tenant: string,
  jobId: string,
): EventRecord {
  return {
    tenant,
    jobId,
    seq: row.seq,
    txId: row.tx_id,
    position: row.position,
    eventId: row.event_id,
    type: row.type,
    payload: row.payload,
    payloadDigest: row.payload_digest,
    actor: row.actor,
    recordedAt: row.recorded_at,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
