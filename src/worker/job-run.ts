import { context, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import type { AcquireJobResponse } from '../../gen/ts/aetheris/runtime/v1/runtime_service.js';
import {
  CompleteJobRequest,
  FailJobRequest,
  ReleaseJobRequest,
} from '../../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { type AetherisClients, unary } from '../client/connect.js';
import { contextFromTraceparent } from '../telemetry/trace-context.js';
import { AttemptContext } from './context.js';
import { NondeterminismError, NonRetryableError, ToolFailedError, type WorkerShutdownError } from './errors.js';
import { LeaseGuard } from './lease.js';
import { canonicalJsonBytes, delay, describeError, durationFromMs, errorName, parseJsonBytes } from './rpc.js';
import type { JobHandler, WorkerLogger } from './types.js';

/**
 * How long a handler may keep running after its signal aborted (or its attempt halted) before
 * the SDK stops waiting for it and frees its slot.
 */
const ABANDON_AFTER_MS = 5_000;

/** What a {@link JobRun} needs from its worker. */
export interface JobRunDeps {
  clients: AetherisClients;
  handlers: ReadonlyMap<string, JobHandler>;
  workerId: string;
  leaseDurationMs: number;
  heartbeatIntervalMs: number;
  log: WorkerLogger;
  /** Spans of attempts and durable calls (a no-op tracer unless the application set one up). */
  tracer: Tracer;
}

type Settled = { kind: 'returned'; value: unknown } | { kind: 'threw'; error: unknown } | { kind: 'abandoned' };

/**
 * One leased attempt: heartbeats while the handler runs, then exactly one final write —
 * CompleteJob, FailJob or ReleaseJob — unless the attempt was halted (lease lost, cancelled,
 * parked, released), in which case nothing more is written.
 */
export class JobRun {
  readonly jobId: string;
  /** Settles when the attempt is over (never rejects). */
  readonly done: Promise<void>;
  private readonly lease: LeaseGuard;
  private readonly log: WorkerLogger;
  /** The attempt's span: a child of the job creator's trace, parent of every call it makes. */
  private readonly span: Span;
  private shutdownReason: WorkerShutdownError | undefined;

  constructor(
    private readonly deps: JobRunDeps,
    private readonly acquired: AcquireJobResponse & { lease: NonNullable<AcquireJobResponse['lease']> },
    receivedAtMs: number,
  ) {
    const { lease } = acquired;
    this.jobId = lease.jobId;
    this.log = scoped(deps.log, {
      workerId: deps.workerId,
      jobId: lease.jobId,
      jobType: acquired.job?.jobType,
      attempt: lease.attempt,
    });
    const parent = contextFromTraceparent(acquired.traceParent);
    this.span = deps.tracer.startSpan(
      `run ${acquired.job?.jobType ?? 'job'}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'aetheris.job_id': lease.jobId,
          'aetheris.job_type': acquired.job?.jobType ?? '',
          'aetheris.attempt': lease.attempt,
          'aetheris.worker_id': deps.workerId,
        },
      },
      parent,
    );
    this.lease = new LeaseGuard({
      clients: deps.clients,
      jobId: lease.jobId,
      fencingToken: lease.fencingToken,
      leaseDurationMs: deps.leaseDurationMs,
      // The lease began at or before we received it; our clock, not the server's.
      expiresAtMs: receivedAtMs + deps.leaseDurationMs,
      log: this.log,
      traceContext: trace.setSpan(parent, this.span),
    });
    this.done = this.execute()
      .catch((error: unknown) => {
        this.log.error({ err: error }, 'job run failed unexpectedly');
      })
      .finally(() => this.span.end());
  }

  /** Worker shutdown after the grace time: abort the handler, then release the job. */
  abortForShutdown(reason: WorkerShutdownError): void {
    this.shutdownReason = reason;
    this.lease.abort(reason);
  }

  private async execute(): Promise<void> {
    const job = this.acquired.job;
    const handler = job ? this.deps.handlers.get(job.jobType) : undefined;
    if (!job || !handler) {
      this.log.warn({}, 'leased a job this worker has no handler for; releasing it');
      await this.finish('ReleaseJob', () => this.release(5_000, 'no handler registered on this worker'));
      return;
    }
    const attempt = new AttemptContext(
      this.lease,
      { id: job.id, type: job.jobType, attempt: this.acquired.lease.attempt, queue: job.queue },
      this.log,
      this.acquired.toolCalls,
      this.deps.tracer,
    );
    this.lease.startHeartbeats(this.deps.heartbeatIntervalMs);
    const settled = await this.runHandler(handler, attempt, job.input);
    await this.lease.stopHeartbeats();

    if (settled.kind === 'threw') {
      // The error's name only: its message may carry data the handler worked on.
      this.span.setStatus({ code: SpanStatusCode.ERROR, message: errorName(settled.error) });
    }
    if (this.lease.halted) {
      this.span.setAttribute('aetheris.attempt.halted', true);
      this.log.info({ outcome: settled.kind }, 'attempt ended without a final write (halted)');
      return;
    }
    if (attempt.nondeterminism) {
      await this.finish('FailJob', () => this.fail(attempt.nondeterminism, true));
    } else if (settled.kind === 'returned') {
      let output: Buffer;
      try {
        output = canonicalJsonBytes(settled.value, 'the handler output');
      } catch (error) {
        await this.finish('FailJob', () => this.fail(error, true));
        return;
      }
      await this.finish('CompleteJob', () => this.complete(output));
    } else if (this.shutdownReason) {
      // Not the job's fault: give it back without spending an attempt.
      await this.finish('ReleaseJob', () => this.release(0, 'worker shutdown'));
    } else if (settled.kind === 'threw') {
      await this.finish('FailJob', () => this.fail(settled.error, isNonRetryable(settled.error)));
    }
  }

  private async runHandler(handler: JobHandler, attempt: AttemptContext, inputBytes: Buffer): Promise<Settled> {
    const stopWaiting = new AbortController();
    const handlerDone: Promise<Settled> = (async () => {
      const input = parseJsonBytes(inputBytes);
      // Spans the handler's own code starts (with a context manager registered) nest under the attempt.
      const value = await context.with(this.lease.traceContext, () => handler(attempt.toJobContext(), input));
      return { kind: 'returned', value } as const;
    })().catch((error: unknown) => ({ kind: 'threw', error }) as const);
    // A handler that ignores its signal must not hold the slot (or the shutdown) forever.
    const abandoned = this.lease.interrupted
      .then(() => delay(ABANDON_AFTER_MS, stopWaiting.signal))
      .then(
        () => ({ kind: 'abandoned' }) as const,
        () => new Promise<never>(() => {}),
      );
    try {
      const settled = await Promise.race([handlerDone, abandoned]);
      if (settled.kind === 'abandoned') {
        this.log.warn({ afterMs: ABANDON_AFTER_MS }, 'handler ignored its aborted signal; abandoning it');
      }
      return settled;
    } finally {
      stopWaiting.abort();
    }
  }

  /** Makes the final write; a lost lease or any failure is logged, never thrown. */
  private async finish(rpc: string, write: () => Promise<unknown>): Promise<void> {
    this.span.setAttribute('aetheris.attempt.final_write', rpc);
    try {
      await write();
      this.log.info({ rpc }, 'attempt finished');
    } catch (error) {
      if (this.lease.halted) this.log.warn({ rpc, err: error }, 'final write refused: the lease was lost');
      else this.log.error({ rpc, err: error }, 'final write failed; the lease will expire and the server retries');
    } finally {
      // Whatever happened, this attempt writes nothing more (late ctx calls of an abandoned handler).
      this.lease.halt(new Error('the attempt is over'));
    }
  }

  private complete(output: Buffer): Promise<unknown> {
    const { clients } = this.deps;
    const request = CompleteJobRequest.fromPartial({
      jobId: this.jobId,
      fencingToken: this.lease.fencingToken,
      output,
    });
    return this.lease.write('CompleteJob', (options) =>
      unary(clients.runtime, clients.runtime.completeJob, request, this.lease.metadata(), options),
    );
  }

  private fail(error: unknown, nonRetryable: boolean): Promise<unknown> {
    const { clients } = this.deps;
    const described =
      error instanceof NondeterminismError
        ? { reason: 'NONDETERMINISM', message: error.message.slice(0, 4096) }
        : describeError(error, 'HANDLER_ERROR');
    this.log.info({ reason: described.reason, nonRetryable }, 'handler failed');
    const request = FailJobRequest.fromPartial({
      jobId: this.jobId,
      fencingToken: this.lease.fencingToken,
      error: described,
      nonRetryable,
    });
    return this.lease.write('FailJob', (options) =>
      unary(clients.runtime, clients.runtime.failJob, request, this.lease.metadata(), options),
    );
  }

  private release(delayMs: number, reason: string): Promise<unknown> {
    const { clients } = this.deps;
    const request = ReleaseJobRequest.fromPartial({
      jobId: this.jobId,
      fencingToken: this.lease.fencingToken,
      delay: durationFromMs(delayMs),
      reason,
    });
    return this.lease.write('ReleaseJob', (options) =>
      unary(clients.runtime, clients.runtime.releaseJob, request, this.lease.metadata(), options),
    );
  }
}

function isNonRetryable(error: unknown): boolean {
  return (
    error instanceof NonRetryableError ||
    error instanceof NondeterminismError ||
    (error instanceof ToolFailedError && error.nonRetryable)
  );
}

/** A logger that adds `scope` to every line. */
export function scoped(log: WorkerLogger, scope: object): WorkerLogger {
  return {
    info: (object, message) => log.info({ ...scope, ...object }, message),
    warn: (object, message) => log.warn({ ...scope, ...object }, message),
    error: (object, message) => log.error({ ...scope, ...object }, message),
  };
}
