/**
 * Client-side decoding of the server's errors: the gRPC status plus the `google.rpc.ErrorInfo`
 * and `google.rpc.BadRequest` details the server attaches (docs/errors.md), as one native error.
 */
import { type Metadata, status } from '@grpc/grpc-js';
import { BadRequest, ErrorInfo } from '../../gen/ts/google/rpc/error_details.js';
import { Status } from '../../gen/ts/google/rpc/status.js';

const ERROR_INFO_TYPE = 'type.googleapis.com/google.rpc.ErrorInfo';
const BAD_REQUEST_TYPE = 'type.googleapis.com/google.rpc.BadRequest';

/** Anything that looks like a grpc-js `ServiceError`. */
interface ReceivedError {
  code?: unknown;
  details?: unknown;
  message?: unknown;
  metadata?: Metadata;
}

function statusDetails(error: ReceivedError): Status | undefined {
  const raw = error.metadata?.get('grpc-status-details-bin')[0];
  if (!raw || typeof raw === 'string') return undefined;
  try {
    return Status.decode(raw);
  } catch {
    return undefined; // a proxy's garbage must not hide the status code
  }
}

/** The `ErrorInfo` of a received gRPC error, if the server sent one. */
export function errorInfoOf(error: ReceivedError): ErrorInfo | undefined {
  const info = statusDetails(error)?.details.find((detail) => detail.typeUrl === ERROR_INFO_TYPE);
  return info ? ErrorInfo.decode(info.value) : undefined;
}

/** One `BadRequest.FieldViolation`: which request field, and what is wrong with it. */
export interface FieldViolation {
  field: string;
  description: string;
}

/** A gRPC error from an Aetheris server, decoded. */
export class AetherisRpcError extends Error {
  override readonly name = 'AetherisRpcError';
  /** The gRPC status code (`status.NOT_FOUND`…). */
  readonly code: status;
  /** `ErrorInfo.reason` (docs/errors.md), or the status name when the error carried none. */
  readonly reason: string;
  /** `ErrorInfo.metadata`: facts such as `field`, `job_id`, `actual_seq`. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly fieldViolations: readonly FieldViolation[];

  constructor(code: status, message: string, info: ErrorInfo | undefined, violations: FieldViolation[]) {
    super(message);
    this.code = code;
    this.reason = info?.reason || (status[code] ?? `STATUS_${code}`);
    this.metadata = info?.metadata ?? {};
    this.fieldViolations = violations;
  }

  /** UNAVAILABLE or DEADLINE_EXCEEDED: the same request may succeed later. */
  get transient(): boolean {
    return this.code === status.UNAVAILABLE || this.code === status.DEADLINE_EXCEEDED;
  }
}

/**
 * Turns a grpc-js error into an {@link AetherisRpcError}; returns anything else unchanged (a
 * programming error in the caller should not be disguised as a server answer).
 */
export function toRpcError(error: unknown): unknown {
  if (error instanceof AetherisRpcError) return error;
  if (typeof error !== 'object' || error === null) return error;
  const received = error as ReceivedError;
  if (typeof received.code !== 'number') return error;
  const details = statusDetails(received);
  const infoDetail = details?.details.find((detail) => detail.typeUrl === ERROR_INFO_TYPE);
  const badRequest = details?.details.find((detail) => detail.typeUrl === BAD_REQUEST_TYPE);
  const violations = badRequest
    ? BadRequest.decode(badRequest.value).fieldViolations.map(({ field, description }) => ({ field, description }))
    : [];
  const message =
    typeof received.details === 'string' && received.details ? received.details : String(received.message);
  return new AetherisRpcError(
    received.code as status,
    message,
    infoDetail ? ErrorInfo.decode(infoDetail.value) : undefined,
    violations,
  );
}
