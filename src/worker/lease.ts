import type { CallOptions, Metadata } from '@grpc/grpc-js';
import { type Context, ROOT_CONTEXT } from '@opentelemetry/api';
import { JobState } from '../../gen/ts/aetheris/runtime/v1/job.js';
import { GetJobRequest, HeartbeatRequest } from '../../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { type AetherisClients, unary } from '../client/connect.js';
import { injectIntoMetadata } from '../telemetry/trace-context.js';
import { JobCancelledError, LeaseLostError } from './errors.js';
import { backoffMs, delay, durationFromMs, isLeaseLost, isTransient } from './rpc.js';
import type { WorkerLogger } from './types.js';

/** Time limit of one worker RPC (writes are short; the server answers or we retry). */
const RPC_TIMEOUT_MS = 10_000;

/** What a {@link LeaseGuard} needs. */
export interface LeaseGuardOptions {
  clients: AetherisClients;
  jobId: string;
  fencingToken: bigint;
  leaseDurationMs: number;
  /** Local estimate of the lease's end (ms since the epoch). */
  expiresAtMs: number;
  log: WorkerLogger;
  /** The attempt's span context: every RPC of the attempt carries it as `traceparent`. */
  traceContext?: Context;
}

/**
 * One attempt's lease: the single gate through which every write of the attempt goes. It adds
 * the fencing token, retries transient failures until the lease would expire, and once the
 * lease is lost (or the attempt is parked or released) refuses every further write, so a
 * zombie attempt can never write after the server fenced it off.
 */
export class LeaseGuard {
  readonly jobId: string;
  readonly fencingToken: bigint;
  readonly clients: AetherisClients;
  /** The attempt's span context (ROOT_CONTEXT when it has none). */
  readonly traceContext: Context;
  private readonly controller = new AbortController();
  private readonly options: LeaseGuardOptions;
  private expiresAtMs: number;
  private stopping: Promise<Error> | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatInFlight: Promise<void> | undefined;
  private heartbeatsOn = false;
  private interruptedResolve: (() => void) | undefined;
  /** Settles once the attempt is halted or its signal aborted: the handler should end soon. */
  readonly interrupted: Promise<void>;

  constructor(options: LeaseGuardOptions) {
    this.options = options;
    this.jobId = options.jobId;
    this.fencingToken = options.fencingToken;
    this.clients = options.clients;
    this.traceContext = options.traceContext ?? ROOT_CONTEXT;
    this.expiresAtMs = options.expiresAtMs;
    this.interrupted = new Promise((resolve) => {
      this.interruptedResolve = resolve;
    });
  }

  /** Metadata of one RPC of the attempt: the API key, and `traceparent` of `ctx` (default: the attempt's span). */
  metadata(ctx: Context = this.traceContext): Metadata {
    const metadata = this.clients.metadata();
    injectIntoMetadata(ctx, metadata);
    return metadata;
  }

  /** The handler's signal. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True once no more writes may be made for this attempt. */
  get halted(): boolean {
    return this.stopping !== undefined;
  }

  /** Throws the stop reason when the attempt is halted. */
  async assertActive(): Promise<void> {
    if (this.stopping) throw await this.stopping;
  }

  /**
   * Makes one write with the fencing token. Transient failures are retried with backoff while
   * the lease lasts; LEASE_LOST halts the attempt and aborts the handler's signal.
   */
  async write<T>(rpc: string, call: (options: Partial<CallOptions>) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      await this.assertActive();
      try {
        return await call({ deadline: new Date(Date.now() + RPC_TIMEOUT_MS) });
      } catch (error) {
        if (isLeaseLost(error)) throw await this.loseLease(error, `${rpc} was rejected: the fencing token is stale`);
        if (!isTransient(error)) throw error;
        const wait = backoffMs(attempt);
        if (Date.now() + wait >= this.expiresAtMs) {
          throw await this.loseLease(error, `${rpc} could not reach the server before the lease expired`);
        }
        this.options.log.warn({ err: error, rpc, retryInMs: wait }, 'worker RPC failed transiently; retrying');
        await delay(wait);
      }
    }
  }

  /**
   * Halts the attempt because the server fenced it off (or the lease ran out). Asks the server
   * whether the job was cancelled, to abort the signal with the right reason.
   */
  loseLease(cause: unknown, detail: string): Promise<Error> {
    if (this.stopping) return this.stopping;
    this.stopHeartbeatTimer();
    this.stopping = (async () => {
      const reason = (await this.wasCancelled())
        ? new JobCancelledError({ jobId: this.jobId })
        : new LeaseLostError({ jobId: this.jobId, fencingToken: this.fencingToken, detail, cause });
      this.options.log.warn({ reason: reason.name, detail }, 'attempt stopped: lease lost');
      this.controller.abort(reason);
      this.interruptedResolve?.();
      return reason;
    })();
    return this.stopping;
  }

  /** Halts the attempt without aborting its signal (parked, released): nothing more is written. */
  halt(reason: Error): void {
    if (this.stopping) return;
    this.stopHeartbeatTimer();
    this.stopping = Promise.resolve(reason);
    this.interruptedResolve?.();
  }

  /** Aborts the handler's signal but keeps writes allowed (worker shutdown: the job is released). */
  abort(reason: Error): void {
    if (this.controller.signal.aborted) return;
    this.controller.abort(reason);
    this.interruptedResolve?.();
  }

  /** Extends the lease every `intervalMs` until {@link stopHeartbeats} or a halt. */
  startHeartbeats(intervalMs: number): void {
    this.heartbeatsOn = true;
    const tick = async (): Promise<void> => {
      try {
        let sentAt = Date.now();
        await this.write('Heartbeat', (options) => {
          sentAt = Date.now();
          const request = HeartbeatRequest.fromPartial({
            jobId: this.jobId,
            fencingToken: this.fencingToken,
            leaseDuration: durationFromMs(this.options.leaseDurationMs),
          });
          return unary(this.clients.runtime, this.clients.runtime.heartbeat, request, this.metadata(), options);
        });
        // Measured from when the request left: the server's clock may differ from ours.
        this.expiresAtMs = sentAt + this.options.leaseDurationMs;
      } catch (error) {
        if (!this.halted) this.options.log.warn({ err: error }, 'heartbeat failed; retrying at the next interval');
      }
    };
    const schedule = () => {
      if (!this.heartbeatsOn || this.halted) return;
      this.heartbeatTimer = setTimeout(() => {
        this.heartbeatInFlight = tick().finally(() => {
          this.heartbeatInFlight = undefined;
          schedule();
        });
      }, intervalMs);
    };
    schedule();
  }

  /** Stops heartbeats and waits for one in flight, so no heartbeat races the final write. */
  async stopHeartbeats(): Promise<void> {
    this.stopHeartbeatTimer();
    await this.heartbeatInFlight;
  }

  private stopHeartbeatTimer(): void {
    this.heartbeatsOn = false;
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private async wasCancelled(): Promise<boolean> {
    try {
      const { job } = await unary(
        this.clients.runtime,
        this.clients.runtime.getJob,
        GetJobRequest.fromPartial({ jobId: this.jobId }),
        this.metadata(),
        { deadline: new Date(Date.now() + 3_000) },
      );
      return job?.state === JobState.JOB_STATE_CANCELLED;
    } catch {
      // Reading is best effort: without an answer the lease is simply lost.
      return false;
    }
  }
}
