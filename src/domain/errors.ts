/**
 * The one error type of Aetheris. Domain and store code throw it (or return result unions that
 * services turn into it); `server/grpc-error.ts` maps it to a gRPC status with a
 * `google.rpc.ErrorInfo` whose reason comes from the closed list below.
 */

/** gRPC status codes used by Aetheris (values match `@grpc/grpc-js` `status`). */
export const Code = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;
export type Code = (typeof Code)[keyof typeof Code];

/** Every `ErrorInfo.reason` the server can send. Documented in docs/errors.md. */
export const Reason = {
  INVALID_FIELD: 'INVALID_FIELD',
  NOT_FOUND: 'NOT_FOUND',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  WRONG_EXPECTED_SEQ: 'WRONG_EXPECTED_SEQ',
  IDEMPOTENCY_CONFLICT: 'IDEMPOTENCY_CONFLICT',
  LEASE_LOST: 'LEASE_LOST',
  JOB_TERMINAL: 'JOB_TERMINAL',
  NONDETERMINISM: 'NONDETERMINISM',
  TOOL_CALL_NOT_STARTED: 'TOOL_CALL_NOT_STARTED',
  TOOL_CALL_NOT_IN_DOUBT: 'TOOL_CALL_NOT_IN_DOUBT',
  DATABASE_UNAVAILABLE: 'DATABASE_UNAVAILABLE',
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  DEADLINE_EXCEEDED: 'DEADLINE_EXCEEDED',
  CANCELLED: 'CANCELLED',
  UNIMPLEMENTED: 'UNIMPLEMENTED',
  INTERNAL: 'INTERNAL',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/** Options of {@link AetherisError}. */
export interface AetherisErrorOptions {
  code: Code;
  reason: Reason;
  message: string;
  /** Facts for the caller (`field`, `job_id`, `actual_seq`…): sent in `ErrorInfo.metadata`. */
  metadata?: Record<string, string>;
  /** The underlying failure: logged, never sent. */
  cause?: unknown;
}

/** An error with a gRPC status code and an `ErrorInfo` reason. */
export class AetherisError extends Error {
  readonly code: Code;
  readonly reason: Reason;
  readonly metadata: Readonly<Record<string, string>>;

  constructor(options: AetherisErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AetherisError';
    this.code = options.code;
    this.reason = options.reason;
    this.metadata = options.metadata ?? {};
  }
}

/** `INVALID_ARGUMENT` naming the offending field. */
export function invalidField(field: string, description: string): AetherisError {
  return new AetherisError({
    code: Code.INVALID_ARGUMENT,
    reason: Reason.INVALID_FIELD,
    message: `${field}: ${description}`,
    metadata: { field },
  });
}

/** `NOT_FOUND` for a resource of the caller's tenant (or of another: indistinguishable). */
export function notFound(kind: string, id: string): AetherisError {
  return new AetherisError({
    code: Code.NOT_FOUND,
    reason: Reason.NOT_FOUND,
    message: `${kind} ${id} not found`,
    metadata: { resource: kind, id },
  });
}

/** True when `error` is an {@link AetherisError} (also across module copies). */
export function isAetherisError(error: unknown): error is AetherisError {
  return (
    error instanceof AetherisError || (error instanceof Error && error.name === 'AetherisError' && 'reason' in error)
  );
}
