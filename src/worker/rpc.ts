/** Small helpers of the worker SDK: gRPC error classification, backoff, durations, JSON bytes. */
import { type ServiceError, status } from '@grpc/grpc-js';
import type { Duration } from '../../gen/ts/google/protobuf/duration.js';
import type { Timestamp } from '../../gen/ts/google/protobuf/timestamp.js';
import { errorInfoOf } from '../client/errors.js';
import { canonicalize, type JsonValue } from '../domain/canonical-json.js';

/** The gRPC status code of an error, if it is a gRPC error. */
export function grpcCode(error: unknown): number | undefined {
  const code = (error as Partial<ServiceError> | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The `ErrorInfo.reason` of a gRPC error, if any. */
export function grpcReason(error: unknown): string | undefined {
  if (grpcCode(error) === undefined) return undefined;
  return errorInfoOf(error as ServiceError)?.reason;
}

/** The fencing token is stale (or the job has finished): the attempt must stop writing. */
export function isLeaseLost(error: unknown): boolean {
  if (grpcCode(error) !== status.FAILED_PRECONDITION) return false;
  const reason = grpcReason(error);
  return reason === 'LEASE_LOST' || reason === 'JOB_TERMINAL';
}

/**
 * Worth retrying with the same request: the server or the network is briefly unavailable, or
 * the call timed out. Only idempotent calls are retried (see the callers).
 */
export function isTransient(error: unknown): boolean {
  const code = grpcCode(error);
  return code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED;
}

/** Errors no retry can fix: the worker's configuration or credentials are wrong. */
export function isFatal(error: unknown): boolean {
  const code = grpcCode(error);
  return (
    code === status.UNAUTHENTICATED ||
    code === status.PERMISSION_DENIED ||
    code === status.INVALID_ARGUMENT ||
    code === status.UNIMPLEMENTED
  );
}

/** Exponential backoff with full jitter: attempt 0 → up to `baseMs`, capped at `maxMs`. */
export function backoffMs(attempt: number, baseMs = 100, maxMs = 2_000): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function durationFromMs(ms: number): Duration {
  const whole = Math.max(0, Math.round(ms));
  return { seconds: BigInt(Math.floor(whole / 1000)), nanos: (whole % 1000) * 1_000_000 };
}

export function msFromTimestamp(timestamp: Timestamp | undefined): number | undefined {
  if (!timestamp) return undefined;
  return Number(timestamp.seconds) * 1000 + Math.floor(timestamp.nanos / 1_000_000);
}

/**
 * The JSON form of a value as `JSON.stringify` sees it (`toJSON` applied, functions dropped);
 * `undefined` becomes `null`. Throws `TypeError` naming `what` for BigInt or cycles.
 */
export function toJsonValue(value: unknown, what: string): JsonValue {
  if (value === undefined) return null;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new TypeError(`${what} must be a JSON value: ${(error as Error).message}`);
  }
  return text === undefined ? null : (JSON.parse(text) as JsonValue);
}

/** Canonical (RFC 8785) JSON bytes of a value. */
export function canonicalJsonBytes(value: unknown, what: string): Buffer {
  return Buffer.from(canonicalize(toJsonValue(value, what)), 'utf8');
}

/** Parses JSON bytes from the server; empty means `null`. */
export function parseJsonBytes(bytes: Uint8Array): JsonValue {
  if (bytes.length === 0) return null;
  return JSON.parse(Buffer.from(bytes).toString('utf8')) as JsonValue;
}

/** A thrown value's class name, for span statuses (never its message: it may carry the job's data). */
export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/** A short description of anything thrown, for logs and recorded failures. */
export function describeError(error: unknown, fallbackReason: string): { reason: string; message: string } {
  if (error instanceof Error) {
    const reason = error.name && error.name !== 'Error' ? error.name : fallbackReason;
    return { reason: reason.slice(0, 128), message: error.message.slice(0, 4096) };
  }
  return { reason: fallbackReason, message: String(error).slice(0, 4096) };
}
