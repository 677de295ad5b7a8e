import { randomUUID } from 'node:crypto';
import { Metadata, type ServiceError, type status } from '@grpc/grpc-js';
import { BadRequest, ErrorInfo } from '../../gen/ts/google/rpc/error_details.js';
import { Status } from '../../gen/ts/google/rpc/status.js';
import { AetherisError, Code, isAetherisError, Reason } from '../domain/errors.js';
import { classifyPgError } from '../store/pg-errors.js';

export const ERROR_DOMAIN = 'aetheris.dev';
const ERROR_INFO_TYPE = 'type.googleapis.com/google.rpc.ErrorInfo';
const BAD_REQUEST_TYPE = 'type.googleapis.com/google.rpc.BadRequest';

/** Something to log about an error before it is sent. */
export interface ErrorLog {
  error(object: object, message: string): void;
}

/**
 * Normalises anything thrown into an {@link AetherisError}: database outages become
 * UNAVAILABLE, timeouts DEADLINE_EXCEEDED, and everything unknown INTERNAL with an id that
 * points to the log line (no stack, SQL or message leaks to the caller).
 */
export function toAetherisError(error: unknown, log: ErrorLog): AetherisError {
  if (isAetherisError(error)) return error;
  switch (classifyPgError(error)) {
    case 'unavailable':
      return new AetherisError({
        code: Code.UNAVAILABLE,
        reason: Reason.DATABASE_UNAVAILABLE,
        message: 'the database is unavailable; retry with backoff',
        cause: error,
      });
    case 'timeout':
      return new AetherisError({
        code: Code.DEADLINE_EXCEEDED,
        reason: Reason.DEADLINE_EXCEEDED,
        message: 'the operation timed out',
        cause: error,
      });
    case 'serialization':
      return new AetherisError({
        code: Code.ABORTED,
        reason: Reason.INTERNAL,
        message: 'a concurrent change conflicted; retry',
        cause: error,
      });
    default: {
      const errorId = randomUUID();
      log.error({ err: error, errorId }, 'internal error');
      return new AetherisError({
        code: Code.INTERNAL,
        reason: Reason.INTERNAL,
        message: `internal error (id ${errorId})`,
        metadata: { error_id: errorId },
      });
    }
  }
}

/** Packs an {@link AetherisError} as a gRPC status with `google.rpc.Status` details. */
export function toServiceError(error: AetherisError): Partial<ServiceError> {
  const details = [
    {
      typeUrl: ERROR_INFO_TYPE,
      value: Buffer.from(
        ErrorInfo.encode({ reason: error.reason, domain: ERROR_DOMAIN, metadata: { ...error.metadata } }).finish(),
      ),
    },
  ];
  const field = error.metadata.field;
  if (error.code === Code.INVALID_ARGUMENT && field) {
    details.push({
      typeUrl: BAD_REQUEST_TYPE,
      value: Buffer.from(BadRequest.encode({ fieldViolations: [{ field, description: error.message }] }).finish()),
    });
  }
  const metadata = new Metadata();
  metadata.set(
    'grpc-status-details-bin',
    Buffer.from(Status.encode({ code: error.code, message: error.message, details }).finish()),
  );
  return { code: error.code as status, details: error.message, metadata };
}
