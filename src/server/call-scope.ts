import type { ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import type { Principal } from '../domain/api-key.js';
import { AetherisError, Code, Reason } from '../domain/errors.js';
import type { DatabaseHealth } from './database-health.js';
import type { Logger } from './logger.js';

/** What every handler gets besides its request. */
export interface CallContext {
  readonly principal: Principal;
  /** Aborts when the caller cancels, the deadline passes, the database goes away or the server stops. */
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** Epoch ms, or Infinity without a deadline. */
  readonly deadline: number;
  /**
   * The W3C `traceparent` this call hands on (CreateJob stores it with the job, for the worker):
   * the call's server span when tracing, else the caller's own header, else null.
   */
  readonly traceParent: string | null;
}

export type AnyCall = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>;

/** What a scope watches for its abort signal and logs with. */
export interface ScopeDeps {
  health: DatabaseHealth;
  logger: Logger;
  shutdown: AbortSignal;
}

/**
 * One call's {@link CallContext}. Most calls (a tool call begun or completed, a job created or
 * completed) never wait and never log, so the abort signal, the three listeners that feed it and
 * the call's child logger are made when first used: they were 5% of the server's CPU in the
 * gate's job_e2e profile. A signal made late starts aborted if its cause already happened.
 */
export class CallScope implements CallContext {
  /** Set once the call is authenticated, before the handler runs. */
  principal!: Principal;
  readonly deadline: number;
  private controller: AbortController | undefined;
  private logger: Logger | undefined;
  private unwatch: (() => void) | undefined;
  private disposed = false;

  constructor(
    private readonly deps: ScopeDeps,
    private readonly method: string,
    private readonly call: AnyCall,
    readonly traceParent: string | null,
    private readonly traceId: string | undefined,
  ) {
    const deadline = call.getDeadline();
    this.deadline = deadline instanceof Date ? deadline.getTime() : deadline;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (!this.disposed) this.watch(this.controller);
    }
    return this.controller.signal;
  }

  get log(): Logger {
    this.logger ??= this.deps.logger.child(
      this.traceId
        ? { method: this.method, peer: this.call.getPeer(), traceId: this.traceId }
        : { method: this.method, peer: this.call.getPeer() },
    );
    return this.logger;
  }

  /** Whether a log line at `level` would be written (without making the call's logger). */
  logs(level: 'debug'): boolean {
    return this.deps.logger.isLevelEnabled(level);
  }

  /** Removes the signal's listeners; the call is over. */
  dispose(): void {
    this.disposed = true;
    this.unwatch?.();
    this.unwatch = undefined;
  }

  private watch(controller: AbortController): void {
    const { call, deps } = this;
    const already = call.cancelled
      ? cancelled('the call was cancelled')
      : deps.shutdown.aborted
        ? shuttingDown()
        : deps.health.isServing
          ? undefined
          : databaseGone();
    if (already) {
      controller.abort(already);
      return;
    }
    const onCancelled = (): void => controller.abort(cancelled('the call was cancelled'));
    const onShutdown = (): void => controller.abort(shuttingDown());
    call.on('cancelled', onCancelled);
    deps.shutdown.addEventListener('abort', onShutdown, { once: true });
    const stopHealth = deps.health.onChange((serving) => {
      if (!serving) controller.abort(databaseGone());
    });
    this.unwatch = () => {
      call.off('cancelled', onCancelled);
      deps.shutdown.removeEventListener('abort', onShutdown);
      stopHealth();
    };
  }
}

export function cancelled(message: string): AetherisError {
  return new AetherisError({ code: Code.CANCELLED, reason: Reason.CANCELLED, message });
}

function shuttingDown(): AetherisError {
  return new AetherisError({
    code: Code.UNAVAILABLE,
    reason: Reason.SHUTTING_DOWN,
    message: 'the server is shutting down',
  });
}

function databaseGone(): AetherisError {
  return new AetherisError({
    code: Code.UNAVAILABLE,
    reason: Reason.DATABASE_UNAVAILABLE,
    message: 'the database became unavailable',
  });
}
