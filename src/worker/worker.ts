import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { ServiceError } from '@grpc/grpc-js';
import { type Tracer, trace } from '@opentelemetry/api';
import {
  AcquireJobRequest,
  type AcquireJobResponse,
  ReleaseJobRequest,
} from '../../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { type AetherisClients, connect, unary } from '../client/connect.js';
import { WORKER_ID_METADATA } from '../telemetry/trace-context.js';
import { WorkerShutdownError } from './errors.js';
import { JobRun, type JobRunDeps } from './job-run.js';
import { backoffMs, delay, durationFromMs, isFatal } from './rpc.js';
import { type JobHandler, type ShutdownOptions, type WorkerLogger, type WorkerOptions, WorkerState } from './types.js';

const NAME = /^[A-Za-z0-9._:/-]{1,128}$/;

/**
 * Polls a task queue and runs the registered handlers, `concurrency` jobs at a time.
 *
 * @example
 * const worker = new Worker({ address, apiKey, taskQueue: 'default' });
 * worker.register('refund-agent', async (ctx, input) => {
 *   const order = await ctx.tool('load-order', input, () => orders.load(input));
 *   return ctx.tool('refund', { order: order.id }, ({ idempotencyKey }) => payments.refund(order, idempotencyKey));
 * });
 * await worker.run(); // until worker.shutdown()
 */
export class Worker {
  readonly workerId: string;
  private currentState: WorkerState = WorkerState.INITIAL;
  private readonly options: Required<Omit<WorkerOptions, OptionalOptions>>;
  private readonly log: WorkerLogger;
  private readonly tracer: Tracer;
  private readonly handlers = new Map<string, JobHandler>();
  private readonly runs = new Set<JobRun>();
  private readonly stopPolling = new AbortController();
  private clients: AetherisClients | undefined;
  private pollLoop: Promise<void> | undefined;
  private shutdownPromise: Promise<void> | undefined;
  private slotFreed: (() => void) | undefined;
  private fatal: unknown;

  constructor(private readonly config: WorkerOptions) {
    const leaseDurationMs = config.leaseDurationMs ?? 30_000;
    this.options = {
      address: config.address,
      apiKey: config.apiKey,
      taskQueue: config.taskQueue,
      concurrency: config.concurrency ?? 4,
      leaseDurationMs,
      heartbeatIntervalMs: config.heartbeatIntervalMs ?? Math.floor(leaseDurationMs / 3),
      pollWaitMs: config.pollWaitMs ?? 20_000,
      capabilities: config.capabilities ?? [],
    };
    this.workerId = config.workerId ?? `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.log = config.logger ?? stderrLogger;
    this.tracer = (config.tracerProvider ?? trace.getTracerProvider()).getTracer('aetheris-worker');
    validate(this.options, this.workerId);
  }

  /** INITIAL → RUNNING → DRAINING → STOPPED. */
  get state(): WorkerState {
    return this.currentState;
  }

  /** Registers the handler of a job type. Call before {@link run}. */
  register<I = unknown>(jobType: string, handler: JobHandler<I>): this {
    if (this.currentState !== WorkerState.INITIAL) throw new Error('register handlers before run()');
    if (!NAME.test(jobType)) throw new TypeError(`job type must be 1..128 characters of [A-Za-z0-9._:/-]: ${jobType}`);
    if (this.handlers.has(jobType)) throw new Error(`a handler for job type "${jobType}" is already registered`);
    this.handlers.set(jobType, handler as JobHandler);
    return this;
  }

  /**
   * Polls and runs jobs until {@link shutdown}; resolves once STOPPED. Rejects (after draining)
   * when the server refuses the worker for good: bad credentials, role or options.
   */
  async run(): Promise<void> {
    if (this.currentState !== WorkerState.INITIAL) throw new Error(`run() called in state ${this.currentState}`);
    if (this.handlers.size === 0) throw new Error('register at least one handler before run()');
    this.clients = connect({
      address: this.options.address,
      apiKey: this.options.apiKey,
      ...(this.config.channelCredentials ? { channelCredentials: this.config.channelCredentials } : {}),
      // Lets the server name the worker on the spans of its calls (only AcquireJob carries it).
      metadata: { [WORKER_ID_METADATA]: this.workerId },
    });
    this.currentState = WorkerState.RUNNING;
    this.log.info({ workerId: this.workerId, taskQueue: this.options.taskQueue }, 'worker running');
    this.pollLoop = this.poll(this.clients);
    await this.pollLoop;
    await this.shutdown();
    if (this.fatal !== undefined) throw this.fatal;
  }

  /**
   * Stops polling, lets running handlers finish for `graceMs`, then aborts their signal with
   * {@link WorkerShutdownError} and releases their jobs. Idempotent.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    this.shutdownPromise ??= this.drain(options.graceMs ?? 10_000);
    return this.shutdownPromise;
  }

  /** Runs the worker until `until` settles, then shuts it down; returns `until`'s value. For tests. */
  async runUntil<T>(until: Promise<T> | (() => Promise<T>)): Promise<T> {
    const running = this.run();
    try {
      const promise = typeof until === 'function' ? until() : until;
      // A worker that fails for good rejects at once; one that stops keeps waiting for `until`.
      return await Promise.race([promise, running.then(() => promise)]);
    } finally {
      await this.shutdown();
      await running;
    }
  }

  private async drain(graceMs: number): Promise<void> {
    if (this.currentState === WorkerState.INITIAL) {
      this.currentState = WorkerState.STOPPED;
      return;
    }
    this.currentState = WorkerState.DRAINING;
    this.log.info({ workerId: this.workerId, running: this.runs.size }, 'worker draining');
    // Cancels the long poll in flight; a lease it won anyway is released (see poll()).
    this.stopPolling.abort();
    this.slotFreed?.();
    await this.pollLoop;
    const all = Promise.all([...this.runs].map((run) => run.done));
    const timer = new AbortController();
    const inTime = await Promise.race([all.then(() => true), delay(graceMs, timer.signal).then(() => false)]);
    timer.abort();
    if (!inTime) {
      const reason = new WorkerShutdownError({ workerId: this.workerId, graceMs });
      for (const run of this.runs) run.abortForShutdown(reason);
      await all;
    }
    this.clients?.close();
    this.currentState = WorkerState.STOPPED;
    this.log.info({ workerId: this.workerId }, 'worker stopped');
  }

  private async poll(clients: AetherisClients): Promise<void> {
    const deps: JobRunDeps = {
      clients,
      handlers: this.handlers,
      workerId: this.workerId,
      leaseDurationMs: this.options.leaseDurationMs,
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      log: this.log,
      tracer: this.tracer,
    };
    let failures = 0;
    while (this.currentState === WorkerState.RUNNING) {
      if (this.runs.size >= this.options.concurrency) {
        await new Promise<void>((resolve) => {
          this.slotFreed = resolve;
        });
        continue;
      }
      try {
        const response = await this.acquire(clients);
        const receivedAtMs = Date.now();
        failures = 0;
        if (!response.lease) continue;
        const acquired = { ...response, lease: response.lease };
        if (this.currentState !== WorkerState.RUNNING) {
          await this.giveBack(clients, acquired.lease.jobId, acquired.lease.fencingToken);
          break;
        }
        const run = new JobRun(deps, acquired, receivedAtMs);
        this.runs.add(run);
        void run.done.then(() => {
          this.runs.delete(run);
          this.slotFreed?.();
        });
      } catch (error) {
        if (this.currentState !== WorkerState.RUNNING) break;
        if (isFatal(error)) {
          this.fatal = error;
          this.log.error({ err: error }, 'the server refused this worker; stopping');
          break;
        }
        const wait = backoffMs(failures++, 200, 5_000);
        this.log.warn({ err: error, retryInMs: wait }, 'AcquireJob failed; retrying');
        await delay(wait, this.stopPolling.signal).catch(() => {});
      }
    }
  }

  /** One long poll, cancelled when the worker starts draining. */
  private acquire(clients: AetherisClients): Promise<AcquireJobResponse> {
    const request = AcquireJobRequest.fromPartial({
      workerId: this.workerId,
      queues: [this.options.taskQueue],
      jobTypes: [...this.handlers.keys()],
      capabilities: this.options.capabilities,
      wait: durationFromMs(this.options.pollWaitMs),
      leaseDuration: durationFromMs(this.options.leaseDurationMs),
    });
    const signal = this.stopPolling.signal;
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const call = clients.runtime.acquireJob(
        request,
        clients.metadata(),
        { deadline: new Date(Date.now() + this.options.pollWaitMs + 10_000) },
        (error: ServiceError | null, response: AcquireJobResponse) => {
          signal.removeEventListener('abort', cancel);
          if (error) reject(error);
          else resolve(response);
        },
      );
      // grpc-js drops a cancel issued before the call's stream has started, yet still sends the
      // request: the server would keep long-polling for nobody and could lease it a job. One
      // macrotask later the stream exists and the server sees the cancellation.
      const cancel = () => setImmediate(() => call.cancel());
      signal.addEventListener('abort', cancel, { once: true });
    });
  }

  /** Releases a lease won while the worker began draining, so the job does not wait for expiry. */
  private async giveBack(clients: AetherisClients, jobId: string, fencingToken: bigint): Promise<void> {
    const request = ReleaseJobRequest.fromPartial({ jobId, fencingToken, reason: 'worker shutting down' });
    await unary(clients.runtime, clients.runtime.releaseJob, request, clients.metadata(), {
      deadline: new Date(Date.now() + 5_000),
    }).catch((error: unknown) => this.log.warn({ err: error, jobId }, 'could not release a lease won while draining'));
  }
}

type OptionalOptions = 'workerId' | 'channelCredentials' | 'logger' | 'tracerProvider';

function validate(options: Required<Omit<WorkerOptions, OptionalOptions>>, id: string) {
  const fail = (message: string) => {
    throw new RangeError(`Worker options: ${message}`);
  };
  if (!options.address) fail('address is required (host:port)');
  if (!options.apiKey) fail('apiKey is required (a key with the worker role)');
  if (!NAME.test(options.taskQueue)) fail(`taskQueue must be 1..128 characters of [A-Za-z0-9._:/-]`);
  if (id.length < 1 || id.length > 128) fail('workerId must be 1..128 characters');
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) fail('concurrency must be an integer >= 1');
  if (!(options.leaseDurationMs >= 1_000 && options.leaseDurationMs <= 600_000)) {
    fail('leaseDurationMs must be within 1000..600000');
  }
  if (!(options.heartbeatIntervalMs > 0 && options.heartbeatIntervalMs < options.leaseDurationMs)) {
    fail('heartbeatIntervalMs must be > 0 and below leaseDurationMs');
  }
  if (!(options.pollWaitMs >= 0 && options.pollWaitMs <= 60_000)) fail('pollWaitMs must be within 0..60000');
}

/** Default logger: warnings and errors as JSON lines on stderr. */
const stderrLogger: WorkerLogger = {
  info: () => {},
  warn: (object, message) => writeLine('warn', object, message),
  error: (object, message) => writeLine('error', object, message),
};

function writeLine(level: string, object: object, message: string): void {
  const fields: Record<string, unknown> = { level, time: new Date().toISOString(), msg: message };
  for (const [key, value] of Object.entries(object)) {
    fields[key] = value instanceof Error ? { name: value.name, message: value.message } : value;
  }
  process.stderr.write(
    `${JSON.stringify(fields, (_key, value) => (typeof value === 'bigint' ? String(value) : value))}\n`,
  );
}
