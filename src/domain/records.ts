import type { JsonValue } from './canonical-json.js';
import type { JobState } from './job-state.js';

/** Times are microseconds since the Unix epoch, as stored. */
export type Micros = bigint;

/** A job's error, as stored in `last_error`. */
export interface JobErrorRecord {
  reason: string;
  message: string;
  /** Structured details, if any. */
  details?: JsonValue;
}

/** Retry policy with defaults filled in. */
export interface RetryPolicyRecord {
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  backoffCoefficient: number;
}

/** What a parked job waits for. */
export interface WaitRecord {
  signalName?: string;
  deadlineUs?: string;
  toolCallKey?: string;
}

/** The job projection. */
export interface JobRecord {
  tenant: string;
  id: string;
  jobType: string;
  queue: string;
  state: JobState;
  /** Canonical JSON text. */
  input: string;
  output: string | null;
  lastError: JobErrorRecord | null;
  attempt: number;
  maxAttempts: number;
  priority: number;
  idempotencyKey: string | null;
  fencingToken: bigint;
  leaseOwner: string | null;
  leaseExpiresAt: Micros | null;
  nextRunAt: Micros;
  headSeq: bigint;
  headHash: Buffer;
  waitingFor: WaitRecord | null;
  labels: Record<string, string>;
  retryPolicy: RetryPolicyRecord;
  attemptTimeoutUs: bigint;
  createdAt: Micros;
  updatedAt: Micros;
  finishedAt: Micros | null;
  requiredCapabilities: string[];
  heartbeatAt: Micros | null;
}

/** A stored event. */
export interface EventRecord {
  tenant: string;
  jobId: string;
  seq: bigint;
  txId: bigint;
  position: bigint;
  eventId: string;
  type: string;
  /** Canonical JSON text, exactly as hashed. */
  payload: string;
  payloadDigest: Buffer;
  actor: string;
  recordedAt: Micros;
  prevHash: Buffer;
  hash: Buffer;
}

/** A place in a tenant's global order: strictly-after semantics when resuming. */
export interface GlobalPositionRecord {
  txId: bigint;
  position: bigint;
}
