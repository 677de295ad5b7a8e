import type { ChannelCredentials } from '@grpc/grpc-js';
import type { TracerProvider } from '@opentelemetry/api';

/** A structured logger (pino's signature; any object with these three methods will do). */
export interface WorkerLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

/** Options of {@link Worker}. */
export interface WorkerOptions {
  /** Server address, `host:port`. */
  address: string;
  /** An API key with the `worker` role. */
  apiKey: string;
  /** The task queue to poll. */
  taskQueue: string;
  /** A stable, unique name of this worker process (1..128 characters); default `${hostname}:${pid}:${random}`. */
  workerId?: string;
  /** Jobs run at the same time; default 4. */
  concurrency?: number;
  /** Lease length requested from the server, 1 s..10 min; default 30 s. */
  leaseDurationMs?: number;
  /** How often a running job's lease is extended; default a third of the lease. */
  heartbeatIntervalMs?: number;
  /** How long one AcquireJob long poll waits for a runnable job, 0..60 s; default 20 s. */
  pollWaitMs?: number;
  /** Capabilities this worker offers; jobs may require some. */
  capabilities?: string[];
  /** Where the SDK logs; default: warnings and errors as JSON lines on stderr. */
  logger?: WorkerLogger;
  /** TLS credentials; plaintext when omitted (loopback and tests). */
  channelCredentials?: ChannelCredentials;
  /**
   * Where the SDK's spans go: one per attempt (a child of the job creator's trace) and one per
   * durable call (`ctx.tool()`, `now()`, `waitForSignal()`...). Default: the global provider of
   * `@opentelemetry/api`, a no-op unless the application registered one. Every RPC of an
   * attempt carries the current span as `traceparent` either way.
   */
  tracerProvider?: TracerProvider;
}

/** Options of {@link Worker.shutdown}. */
export interface ShutdownOptions {
  /** How long running handlers may take to finish before their signal aborts; default 10 s. */
  graceMs?: number;
}

/** The job an attempt runs. */
export interface JobInfo {
  id: string;
  /** The job type, i.e. the registered handler's name. */
  type: string;
  /** The attempt number, 1-based. Do not branch on it between durable calls: that breaks replay. */
  attempt: number;
  queue: string;
}

/** What a tool function receives. */
export interface ToolCallContext {
  /**
   * A key derived from the job and the call's position only: the same on every attempt. Hand
   * it to the external system (e.g. an `Idempotency-Key` header) so a retried call is deduplicated.
   */
  idempotencyKey: string;
  /** Aborts when the attempt must stop (lease lost, job cancelled, worker shutdown). */
  signal: AbortSignal;
}

/** Options of one tool call. */
export interface ToolOptions {
  /**
   * The tool is safe to run again with the same idempotency key. When an earlier attempt died
   * while it ran, it is retried with the same key instead of parking the job for a person.
   */
  idempotent?: boolean;
  /**
   * A step timeout: after this long the tool's signal aborts and the call throws
   * `StepTimeoutError` without recording an outcome (the tool may have taken effect), so a
   * later attempt treats it as in doubt. Default: none beyond the lease and attempt timeout.
   */
  timeoutMs?: number;
}

/** Options of {@link JobContext.waitForSignal}. */
export interface WaitForSignalOptions {
  /**
   * Give up after this long (ms, > 0): the wait then returns `{ timedOut: true }`. The deadline
   * is fixed by the server when the wait first happens (first attempt) and enforced by it while
   * the job is parked; replays keep it. Default: wait forever.
   */
  timeoutMs?: number;
}

/**
 * What {@link JobContext.waitForSignal} returns: the signal that was consumed, or a timeout.
 * Recorded in the job's history, so a replay returns exactly the same value.
 */
export type SignalResult<T = unknown> =
  | {
      timedOut: false;
      /** The signal name waited for. */
      name: string;
      /** The signal's payload (JSON; `null` when it was sent without one). */
      payload: T;
      /** The signal's id (UUID), chosen by its sender. */
      signalId: string;
    }
  | { timedOut: true; name: string };

/**
 * The handler's view of one attempt. Every durable operation takes the next position of a
 * per-attempt counter; the position keys the call in the job's ledger, so a handler must make
 * the same calls in the same order on every attempt. On replay, recorded calls return their
 * recorded outcome without running again.
 */
export interface JobContext {
  readonly job: JobInfo;
  /** Aborts with `LeaseLostError`, `JobCancelledError` or `WorkerShutdownError`. */
  readonly signal: AbortSignal;
  /** A logger scoped to the job and attempt. */
  readonly log: WorkerLogger;
  /**
   * Runs `fn` at most once across all attempts and returns its result (recorded in the ledger).
   * `args` identify the call: they are canonicalized (RFC 8785) and digested; a different tool
   * or different args at the same position on a later attempt is a `NondeterminismError`.
   * Results and args must be JSON values; the returned value is the JSON form (as on replay).
   * A throwing `fn` is recorded as failed and surfaces as `ToolFailedError`.
   */
  tool<T>(name: string, args: unknown, fn: (tc: ToolCallContext) => Promise<T>, opts?: ToolOptions): Promise<T>;
  /** The current time, recorded: a replay returns the same instant. */
  now(): Promise<Date>;
  /** A random number in [0, 1), recorded. */
  random(): Promise<number>;
  /** A random UUID, recorded. */
  uuid(): Promise<string>;
  /**
   * A durable timer: the wake-up time is recorded, so a replay waits only for what remains.
   * Long sleeps give the lease back and resume the job (replaying it) when it is due.
   */
  sleep(ms: number): Promise<void>;
  /**
   * Waits durably for a signal named `name` (1..128 characters of `[A-Za-z0-9._:/-]`), e.g. a
   * person's approval sent with `SignalService/SendSignal` or `aetheris signal send`. Takes the
   * next call position, like `tool()`.
   *
   * - A signal of that name already stored for the job (sent before the wait) is consumed at
   *   once, oldest first; each signal is consumed by exactly one wait.
   * - Otherwise the job is **parked**: it holds no lease and no worker slot, and this run of
   *   the handler ends here (the promise never settles for it; do not catch what it may throw).
   *   A matching signal makes the job runnable at once; a worker — this one or any other —
   *   replays the handler and this call returns the signal.
   * - With `timeoutMs`, once the deadline passes without a signal the call returns
   *   `{ timedOut: true, name }`; a signal sent after that stays pending for a later wait.
   *
   * The outcome is recorded: a replay returns the same signal (or timeout) without asking the
   * server. A wait at a position where the history recorded another call (or a wait for
   * another name) is a `NondeterminismError`. The payload is not validated: check it.
   *
   * @example
   * const approval = await ctx.waitForSignal<{ approved: boolean }>('approval', { timeoutMs: 24 * 3600_000 });
   * if (approval.timedOut || !approval.payload.approved) return { refunded: false };
   */
  waitForSignal<T = unknown>(name: string, opts?: WaitForSignalOptions): Promise<SignalResult<T>>;
}

/**
 * A job handler. `input` is the job's JSON input; the returned value (a JSON value; `undefined`
 * means `null`) becomes the job's output.
 */
export type JobHandler<I = unknown> = (ctx: JobContext, input: I) => Promise<unknown>;

/** The lifecycle of a {@link Worker}: INITIAL → RUNNING → DRAINING → STOPPED. */
export const WorkerState = {
  INITIAL: 'INITIAL',
  RUNNING: 'RUNNING',
  DRAINING: 'DRAINING',
  STOPPED: 'STOPPED',
} as const;
export type WorkerState = (typeof WorkerState)[keyof typeof WorkerState];
