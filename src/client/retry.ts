/**
 * Retries of calls that failed with UNAVAILABLE (server draining, database briefly down,
 * connection refused), with exponential backoff and jitter — but only for calls that are safe to
 * repeat: a retry after a lost response must not create a second job or a second event.
 */
import type { Client, Metadata } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { backoffMs, delay } from '../worker/rpc.js';
import { type UnaryMethod, unary } from './connect.js';
import { toRpcError } from './errors.js';

/** Calls that read, or whose effect is keyed by the request itself. */
const ALWAYS_SAFE = new Set([
  '/aetheris.runtime.v1.RuntimeService/GetJob',
  '/aetheris.runtime.v1.RuntimeService/ListJobs',
  '/aetheris.runtime.v1.RuntimeService/ReadEvents',
  '/aetheris.runtime.v1.RuntimeService/GetSummary',
  '/aetheris.runtime.v1.RuntimeService/ListStuckJobs',
  '/aetheris.runtime.v1.RuntimeService/Heartbeat',
  '/aetheris.runtime.v1.AdminService/ListApiKeys',
  // The signal id is required and deduplicates.
  '/aetheris.signal.v1.SignalService/SendSignal',
  '/aetheris.signal.v1.SignalService/ListSignals',
]);

/**
 * Whether repeating `request` on `path` cannot double its effect: reads; CreateJob with an
 * idempotency key; AppendEvents when every event carries its event id.
 */
export function safeToRetry(path: string, request: unknown): boolean {
  if (ALWAYS_SAFE.has(path)) return true;
  const fields = (typeof request === 'object' && request !== null ? request : {}) as Record<string, unknown>;
  if (path === '/aetheris.runtime.v1.RuntimeService/CreateJob') {
    return typeof fields.idempotencyKey === 'string' && fields.idempotencyKey !== '';
  }
  if (path === '/aetheris.runtime.v1.RuntimeService/AppendEvents') {
    const events = Array.isArray(fields.events) ? (fields.events as Array<{ eventId?: unknown }>) : [];
    return events.length > 0 && events.every((event) => typeof event.eventId === 'string' && event.eventId !== '');
  }
  return false;
}

/** How to retry: attempts include the first call. */
export interface RetryPolicy {
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, initialBackoffMs: 100, maxBackoffMs: 2_000 };

/**
 * A unary call as a promise, retried on UNAVAILABLE when {@link safeToRetry} allows it. Errors
 * come back decoded ({@link toRpcError}). `signal` stops the waiting between attempts.
 */
export async function callWithRetry<Req, Res>(
  client: Client,
  method: UnaryMethod<Req, Res>,
  request: Req,
  metadata: Metadata,
  policy: RetryPolicy = DEFAULT_RETRY,
  signal?: AbortSignal,
): Promise<Res> {
  const path = (method as { path?: unknown }).path;
  const retryable = typeof path === 'string' && safeToRetry(path, request);
  for (let attempt = 1; ; attempt++) {
    try {
      return await unary(client, method, request, metadata);
    } catch (error) {
      const decoded = toRpcError(error);
      const unavailable = (decoded as { code?: unknown }).code === status.UNAVAILABLE;
      if (!retryable || !unavailable || attempt >= policy.maxAttempts) throw decoded;
      await delay(backoffMs(attempt - 1, policy.initialBackoffMs, policy.maxBackoffMs), signal);
    }
  }
}
