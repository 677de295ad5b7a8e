import { type handleServerStreamingCall, type handleUnaryCall, type Metadata, status } from '@grpc/grpc-js';
import { context } from '@opentelemetry/api';
import { type Permission, type Principal, roleAllows } from '../domain/api-key.js';
import { AetherisError, Code, Reason } from '../domain/errors.js';
import { finishRpc, type RpcSpan, type ServerTelemetry, startRpcSpan } from '../telemetry/rpc-span.js';
import { traceparentOf, validTraceparent } from '../telemetry/trace-context.js';
import type { Authenticator } from './auth.js';
import { type AnyCall, type CallContext, CallScope, cancelled } from './call-scope.js';
import type { DatabaseHealth } from './database-health.js';
import { toAetherisError, toServiceError } from './grpc-error.js';
import type { Logger } from './logger.js';

export type { CallContext } from './call-scope.js';

/** Shared plumbing of the handler wrappers. */
export interface HandlerDeps {
  authenticator: Authenticator;
  health: DatabaseHealth;
  logger: Logger;
  /** Aborted when the server starts shutting down (ends long polls and streams). */
  shutdown: AbortSignal;
  stats: ServerStats;
  /** Spans and metrics of every call (both off unless telemetry was set up). */
  telemetry: ServerTelemetry;
}

/** Counters for tests and operators (exported as metrics later). */
export interface ServerStats {
  /** Stream messages handed to the transport. */
  messagesStreamed: number;
}

/**
 * Wraps a unary handler: open the call's server span (when tracing), fail fast when the database
 * is down, authenticate, authorise, run, map every failure to a status with `ErrorInfo`, log
 * once, record the call's duration and status.
 */
export function unary<Req, Res>(
  deps: HandlerDeps,
  method: string,
  permission: Permission | null,
  fn: (request: Req, ctx: CallContext) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const started = performance.now();
    const { scope, rpcSpan } = openScope(deps, method, call as AnyCall);
    const run = (): void => {
      prepare(deps, call.metadata, permission)
        .then((principal) => {
          rpcSpan?.span.setAttribute('aetheris.tenant', principal.tenant);
          scope.principal = principal;
          return fn(call.request, scope);
        })
        .then(
          (response) => {
            scope.dispose();
            if (scope.logs('debug')) scope.log.debug({ ms: elapsed(started) }, 'ok');
            finishRpc(deps.telemetry, method, started, rpcSpan, status.OK, response);
            callback(null, response);
          },
          (error: unknown) => {
            scope.dispose();
            const mapped = fail(deps, scope.log, error, started);
            finishRpc(deps.telemetry, method, started, rpcSpan, mapped.code, undefined, mapped);
            callback(toServiceError(mapped) as Parameters<typeof callback>[0]);
          },
        );
    };
    // Everything the handler does (SQL spans included) becomes a child of the server span.
    if (rpcSpan) context.with(rpcSpan.context, run);
    else run();
  };
}

/** Sends one message, waiting for the transport to drain first (flow control). */
export type Send<Res> = (message: Res) => Promise<void>;

/**
 * Wraps a server-streaming handler like {@link unary}. `send` resolves only once the message
 * is accepted by the transport, so a slow reader slows the handler instead of growing a buffer.
 */
export function serverStream<Req, Res>(
  deps: HandlerDeps,
  method: string,
  permission: Permission | null,
  fn: (request: Req, ctx: CallContext, send: Send<Res>) => Promise<void>,
): handleServerStreamingCall<Req, Res> {
  return (call) => {
    const started = performance.now();
    const { scope, rpcSpan } = openScope(deps, method, call as AnyCall);
    // At most one message waits in the transport while the next is being prepared: each write
    // is acknowledged only once HTTP/2 flow control has let it out, so a reader that stops
    // reading stops the handler (and its database reads) instead of growing a buffer.
    let inFlight: Promise<void> = Promise.resolve();
    const send: Send<Res> = async (message) => {
      await settledOrAborted(inFlight, scope.signal);
      throwIfAborted(scope.signal);
      inFlight = new Promise((resolve, reject) => {
        call.write(message, (error?: Error | null) => (error ? reject(error) : resolve()));
      });
      inFlight.catch(() => undefined);
      deps.stats.messagesStreamed++;
    };
    const run = (): void => {
      prepare(deps, call.metadata, permission)
        .then((principal) => {
          rpcSpan?.span.setAttribute('aetheris.tenant', principal.tenant);
          scope.principal = principal;
          return fn(call.request, scope, send);
        })
        .then(
          () => {
            scope.dispose();
            if (scope.logs('debug')) scope.log.debug({ ms: elapsed(started) }, 'stream ended');
            finishRpc(deps.telemetry, method, started, rpcSpan, status.OK);
            call.end();
          },
          (error: unknown) => {
            scope.dispose();
            if (call.cancelled) {
              finishRpc(deps.telemetry, method, started, rpcSpan, status.CANCELLED);
              return;
            }
            const mapped = fail(deps, scope.log, error, started);
            finishRpc(deps.telemetry, method, started, rpcSpan, mapped.code, undefined, mapped);
            // grpc-js turns an 'error' event into the call's status (destroy() would skip it).
            call.emit('error', Object.assign(new Error(), toServiceError(mapped)));
          },
        );
    };
    if (rpcSpan) context.with(rpcSpan.context, run);
    else run();
  };
}

/** `permission` null: any authenticated caller (the handler checks finer rules itself). */
async function prepare(deps: HandlerDeps, metadata: Metadata, permission: Permission | null): Promise<Principal> {
  if (deps.shutdown.aborted) {
    throw new AetherisError({
      code: Code.UNAVAILABLE,
      reason: Reason.SHUTTING_DOWN,
      message: 'the server is shutting down',
    });
  }
  if (!deps.health.isServing) {
    throw new AetherisError({
      code: Code.UNAVAILABLE,
      reason: Reason.DATABASE_UNAVAILABLE,
      message: 'the database is unavailable; retry with backoff',
    });
  }
  const principal = await deps.authenticator.authenticate(metadata);
  if (permission !== null && !roleAllows(principal.role, permission)) {
    throw new AetherisError({
      code: Code.PERMISSION_DENIED,
      reason: Reason.PERMISSION_DENIED,
      message: `role ${principal.role} may not ${permission}`,
      metadata: { role: principal.role, permission },
    });
  }
  return principal;
}

function openScope(
  deps: HandlerDeps,
  method: string,
  call: AnyCall,
): { scope: CallScope; rpcSpan: RpcSpan | undefined } {
  const { tracer } = deps.telemetry;
  const rpcSpan = tracer ? startRpcSpan(tracer, method, call.metadata, call.request) : undefined;
  const traceParent = rpcSpan ? traceparentOf(rpcSpan.context) : validTraceparent(call.metadata);
  const traceId = rpcSpan?.span.spanContext().traceId;
  return { scope: new CallScope(deps, method, call, traceParent, traceId), rpcSpan };
}

function fail(deps: HandlerDeps, log: Logger, error: unknown, started: number): AetherisError {
  const mapped = toAetherisError(error, log);
  if (mapped.reason === Reason.DATABASE_UNAVAILABLE && deps.health.isServing) deps.health.reportUnavailable();
  const level = mapped.code === Code.INTERNAL ? 'error' : mapped.code === Code.UNAVAILABLE ? 'warn' : 'info';
  log[level]({ code: mapped.code, reason: mapped.reason, ms: elapsed(started) }, mapped.message);
  return mapped;
}

/** Resolves when `promise` settles or `signal` aborts, leaving no listener behind either way. */
function settledOrAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    promise.then(done, done);
  });
}

function abortReason(signal: AbortSignal): AetherisError {
  return signal.reason instanceof AetherisError ? signal.reason : cancelled('the call was cancelled');
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}

/** Throws the abort reason of a context signal as an {@link AetherisError}. */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortReason(signal);
}
