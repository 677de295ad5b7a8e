import { type ServiceError, status } from '@grpc/grpc-js';
import { expect } from 'vitest';
import { errorInfoOf } from '../../src/client/errors.js';

/** Awaits a rejected call and checks its status code, ErrorInfo reason and metadata. */
export async function expectGrpcError(
  promise: Promise<unknown>,
  code: status,
  reason?: string,
  metadata: Record<string, string> = {},
): Promise<ServiceError> {
  const error = await promise.then(
    () => {
      throw new Error(`expected gRPC error ${status[code]}, got success`);
    },
    (rejected: unknown) => rejected as ServiceError,
  );
  expect(status[error.code], error.details).toBe(status[code]);
  if (reason !== undefined) {
    const info = errorInfoOf(error);
    expect(info?.reason).toBe(reason);
    expect(info?.domain).toBe('aetheris.dev');
    for (const [key, value] of Object.entries(metadata)) expect(info?.metadata[key]).toBe(value);
  }
  return error;
}
