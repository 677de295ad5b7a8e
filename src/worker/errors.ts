/**
 * Errors of the worker SDK. Each sets `name` (so it survives logging and serialization), keeps
 * its facts in fields, and says in its message what to check.
 */

/** Facts shared by errors that concern one job. */
interface JobFacts {
  jobId: string;
}

/**
 * The handler did not issue the same durable calls, in the same order, as the job's recorded
 * history. Raised by `ctx.tool()` (and `now`/`random`/`uuid`/`sleep`/`waitForSignal`) when the call at a
 * position names another tool or other arguments than the one recorded there. The SDK fails
 * the job as non-retryable with reason `NONDETERMINISM`: re-running the same code would diverge
 * again.
 */
export class NondeterminismError extends Error {
  override readonly name = 'NondeterminismError';
  readonly jobId: string;
  /** The position-derived key of the diverging call ("1", "2", …). */
  readonly callKey: string;
  /** The tool the handler asked for at this position. */
  readonly requestedTool: string;
  /** The tool recorded at this position, when known. */
  readonly recordedTool: string | undefined;
  /** What differs (tool name or argument digest), as found locally or sent by the server. */
  readonly detail: string;

  constructor(facts: JobFacts & { callKey: string; requestedTool: string; recordedTool?: string; detail: string }) {
    super(
      `job ${facts.jobId}: call #${facts.callKey} asked for tool "${facts.requestedTool}" but the history recorded ` +
        `${facts.recordedTool === undefined ? 'another call' : `"${facts.recordedTool}"`} at this position ` +
        `(${facts.detail}). Handlers must make the same durable calls in the same order with the same ` +
        'arguments on every attempt: check for branches on ctx.job.attempt, Date.now(), Math.random() or ' +
        'external state outside ctx.tool(), and for calls started in a non-deterministic order.',
    );
    this.jobId = facts.jobId;
    this.callKey = facts.callKey;
    this.requestedTool = facts.requestedTool;
    this.recordedTool = facts.recordedTool;
    this.detail = facts.detail;
  }
}

/**
 * A tool call ran past its `timeoutMs`. Its outcome is not recorded, because the tool may still
 * have taken effect: on the next attempt the call is in doubt (retried with the same key when
 * idempotent, parked for a person otherwise). Retryable: thrown out of the handler, it fails the
 * attempt.
 */
export class StepTimeoutError extends Error {
  override readonly name = 'StepTimeoutError';
  readonly jobId: string;
  readonly callKey: string;
  readonly toolName: string;
  readonly timeoutMs: number;

  constructor(facts: JobFacts & { callKey: string; toolName: string; timeoutMs: number }) {
    super(
      `job ${facts.jobId}: tool "${facts.toolName}" (call #${facts.callKey}) did not finish within ${facts.timeoutMs} ms; ` +
        'its signal was aborted and its outcome is unknown',
    );
    this.jobId = facts.jobId;
    this.callKey = facts.callKey;
    this.toolName = facts.toolName;
    this.timeoutMs = facts.timeoutMs;
  }
}

/**
 * A tool call failed: its function threw in this attempt (the failure was recorded in the
 * ledger), or the ledger holds a recorded failure for it. `cause` is the original error when
 * the function ran in this process.
 */
export class ToolFailedError extends Error {
  override readonly name = 'ToolFailedError';
  readonly jobId: string;
  readonly callKey: string;
  readonly toolName: string;
  /** The recorded failure's machine-readable reason (the thrown error's `name`, by default). */
  readonly reason: string;
  /** The recorded failure's message. */
  readonly toolMessage: string;
  /** True when the tool threw a {@link NonRetryableError}: failing the job with it ends the job. */
  readonly nonRetryable: boolean;

  constructor(
    facts: JobFacts & {
      callKey: string;
      toolName: string;
      reason: string;
      toolMessage: string;
      nonRetryable?: boolean;
      cause?: unknown;
    },
  ) {
    super(
      `job ${facts.jobId}: tool "${facts.toolName}" (call #${facts.callKey}) failed with ${facts.reason}: ` +
        `${facts.toolMessage}`,
      facts.cause === undefined ? undefined : { cause: facts.cause },
    );
    this.jobId = facts.jobId;
    this.callKey = facts.callKey;
    this.toolName = facts.toolName;
    this.reason = facts.reason;
    this.toolMessage = facts.toolMessage;
    this.nonRetryable = facts.nonRetryable ?? false;
  }
}

/**
 * Throw it (or a subclass) from a handler or a tool to fail the job at once instead of retrying
 * it under its retry policy: for errors that another attempt cannot fix (bad input, a refused
 * payment).
 */
export class NonRetryableError extends Error {
  override readonly name: string = 'NonRetryableError';
}

/**
 * The attempt's lease is gone: the server rejected its fencing token (another worker leased the
 * job after this lease expired, or an operator acted on it), or the server could not be reached
 * before the lease ran out. `ctx.signal` aborts with it; the SDK writes nothing more for this
 * attempt.
 */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  readonly jobId: string;
  readonly fencingToken: bigint;

  constructor(facts: JobFacts & { fencingToken: bigint; detail: string; cause?: unknown }) {
    super(
      `job ${facts.jobId}: the lease with fencing token ${facts.fencingToken} was lost (${facts.detail}). ` +
        'This attempt must stop; the server retries the job under its retry policy. If this happens often, ' +
        'check that heartbeats reach the server (heartbeatIntervalMs well below leaseDurationMs) and that ' +
        'the event loop is not blocked.',
      facts.cause === undefined ? undefined : { cause: facts.cause },
    );
    this.jobId = facts.jobId;
    this.fencingToken = facts.fencingToken;
  }
}

/** The job was cancelled (CancelJob) while this attempt ran. `ctx.signal` aborts with it. */
export class JobCancelledError extends Error {
  override readonly name = 'JobCancelledError';
  readonly jobId: string;

  constructor(facts: JobFacts) {
    super(`job ${facts.jobId} was cancelled while it ran; the handler should stop, nothing more is recorded`);
    this.jobId = facts.jobId;
  }
}

/**
 * The worker is shutting down and the handler did not finish within the grace time.
 * `ctx.signal` aborts with it; the job is released (no attempt spent) for another worker.
 */
export class WorkerShutdownError extends Error {
  override readonly name = 'WorkerShutdownError';
  readonly workerId: string;
  readonly graceMs: number;

  constructor(facts: { workerId: string; graceMs: number }) {
    super(
      `worker ${facts.workerId} is shutting down and the handler did not finish within ${facts.graceMs} ms; ` +
        'the job is released to another worker',
    );
    this.workerId = facts.workerId;
    this.graceMs = facts.graceMs;
  }
}

/**
 * Internal: a non-idempotent tool call is in doubt (an earlier attempt started it and died) and
 * the server parked the job for a human decision (ResolveInDoubt). The handler must not catch
 * it; the SDK writes nothing more for this attempt even if it does.
 */
export class JobParkedError extends Error {
  override readonly name = 'JobParkedError';
  readonly jobId: string;
  readonly callKey: string;
  readonly toolName: string;

  constructor(facts: JobFacts & { callKey: string; toolName: string }) {
    super(
      `job ${facts.jobId}: tool "${facts.toolName}" (call #${facts.callKey}) may or may not have run in an earlier ` +
        'attempt and is not declared idempotent; the job is parked until a person resolves the call ' +
        '(SignalService/ResolveInDoubt)',
    );
    this.jobId = facts.jobId;
    this.callKey = facts.callKey;
    this.toolName = facts.toolName;
  }
}

/**
 * Internal: the SDK gave the lease back (ReleaseJob) — e.g. a long durable sleep — and ends
 * this run of the handler; the job runs again, replaying its history, when it is due.
 */
export class JobReleasedError extends Error {
  override readonly name = 'JobReleasedError';
  readonly jobId: string;
  readonly delayMs: number;

  constructor(facts: JobFacts & { delayMs: number; why: string }) {
    super(`job ${facts.jobId} was released for ${facts.delayMs} ms (${facts.why}); the handler run ends here`);
    this.jobId = facts.jobId;
    this.delayMs = facts.delayMs;
  }
}

/**
 * Internal: `ctx.waitForSignal()` found no signal and the server parked the job (AwaitSignal
 * answered PARKED): the lease is over, so this run of the handler ends here and the SDK writes
 * nothing more. The job resumes, replaying its history, when a matching signal is sent or the
 * wait's deadline passes. The handler must not catch it.
 */
export class JobWaitingError extends Error {
  override readonly name = 'JobWaitingError';
  readonly jobId: string;
  readonly callKey: string;
  readonly signalName: string;
  /** The wait's deadline (ms since the epoch), when it has one. */
  readonly deadlineMs: number | undefined;

  constructor(facts: JobFacts & { callKey: string; signalName: string; deadlineMs?: number }) {
    super(
      `job ${facts.jobId} waits for signal "${facts.signalName}" (call #${facts.callKey})` +
        (facts.deadlineMs === undefined ? '' : ` until ${new Date(facts.deadlineMs).toISOString()}`) +
        '; the job is parked (no lease, no worker slot) and this run of the handler ends here. It resumes when ' +
        'the signal is sent (SignalService/SendSignal) or the deadline passes',
    );
    this.jobId = facts.jobId;
    this.callKey = facts.callKey;
    this.signalName = facts.signalName;
    this.deadlineMs = facts.deadlineMs;
  }
}
