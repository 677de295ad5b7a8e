import { randomUUID } from 'node:crypto';
import {
  type Attributes,
  type Context,
  context,
  type Span,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import {
  AwaitSignalOutcome,
  AwaitSignalRequest,
  awaitSignalOutcomeToJSON,
  ReleaseJobRequest,
} from '../../gen/ts/aetheris/runtime/v1/runtime_service.js';
import {
  type ToolCall,
  ToolCallDecision,
  ToolCallState,
  toolCallDecisionToJSON,
} from '../../gen/ts/aetheris/runtime/v1/worker.js';
import { unary } from '../client/connect.js';
import { canonicalize } from '../domain/canonical-json.js';
import { payloadDigest } from '../domain/hash-chain.js';
import {
  JobParkedError,
  JobReleasedError,
  JobWaitingError,
  NondeterminismError,
  NonRetryableError,
  StepTimeoutError,
  ToolFailedError,
} from './errors.js';
import type { LeaseGuard } from './lease.js';
import { LedgerClient } from './ledger-client.js';
import {
  canonicalJsonBytes,
  delay,
  describeError,
  durationFromMs,
  errorName,
  msFromTimestamp,
  parseJsonBytes,
  toJsonValue,
} from './rpc.js';
import type {
  JobContext,
  JobInfo,
  SignalResult,
  ToolCallContext,
  ToolOptions,
  WaitForSignalOptions,
  WorkerLogger,
} from './types.js';

/** Tool names under this prefix are the SDK's own recorded operations. */
const RESERVED_PREFIX = 'aetheris.';
/** The ledger's tool name of a signal wait (recorded by AwaitSignal). */
const SIGNAL_TOOL = 'aetheris.signal';
/** Signal names, as the server accepts them. */
const SIGNAL_NAME = /^[A-Za-z0-9._:/-]{1,128}$/;
/** Sleeps longer than this give the lease back instead of holding a slot. */
const RELEASE_SLEEP_OVER_MS = 5_000;

type ToolFn<T> = (tc: ToolCallContext) => Promise<T>;

/**
 * The durable operations of one attempt. Each call takes the next value of a per-attempt
 * counter as its call key, checks it against the ledger received with the lease (replay), and
 * asks the server only when the ledger has no final outcome for it.
 */
export class AttemptContext {
  /** Set by the first divergence: the job fails with it even if the handler swallows it. */
  nondeterminism: NondeterminismError | undefined;
  private counter = 0;
  private readonly ledgerClient: LedgerClient;
  private readonly recorded: ReadonlyMap<string, ToolCall>;

  constructor(
    private readonly lease: LeaseGuard,
    readonly job: JobInfo,
    readonly log: WorkerLogger,
    toolCalls: readonly ToolCall[],
    private readonly tracer: Tracer,
  ) {
    this.ledgerClient = new LedgerClient(lease);
    this.recorded = new Map(toolCalls.map((call) => [call.callKey, call]));
  }

  /** The handler's `ctx`, with methods bound so they can be passed around. */
  toJobContext(): JobContext {
    return Object.freeze({
      job: Object.freeze({ ...this.job }),
      signal: this.lease.signal,
      log: this.log,
      tool: <T>(name: string, args: unknown, fn: ToolFn<T>, opts?: ToolOptions) => {
        if (name.startsWith(RESERVED_PREFIX)) {
          return Promise.reject(new TypeError(`tool names starting with "${RESERVED_PREFIX}" are reserved: ${name}`));
        }
        if (opts?.timeoutMs !== undefined && !(opts.timeoutMs > 0)) {
          return Promise.reject(new RangeError(`timeoutMs must be > 0 (tool ${name})`));
        }
        return this.call(name, args, fn, opts?.idempotent ?? false, opts?.timeoutMs);
      },
      now: async () => new Date(await this.call('aetheris.now', {}, async () => Date.now(), true)),
      random: () => this.call('aetheris.random', {}, async () => Math.random(), true),
      uuid: () => this.call('aetheris.uuid', {}, async () => randomUUID(), true),
      sleep: (ms: number) => this.sleep(ms),
      waitForSignal: <T>(name: string, opts?: WaitForSignalOptions) => {
        if (typeof name !== 'string' || !SIGNAL_NAME.test(name)) {
          return Promise.reject(new TypeError(`signal names are 1..128 characters of [A-Za-z0-9._:/-]: ${name}`));
        }
        const timeoutMs = opts?.timeoutMs;
        if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
          return Promise.reject(
            new RangeError(`timeoutMs must be a finite number > 0 (signal ${name}), got ${timeoutMs}`),
          );
        }
        return this.waitForSignal<T>(name, timeoutMs);
      },
    });
  }

  /** One durable call, in a span of its own (`tool <name>`) whose context its RPCs carry. */
  private call<T>(name: string, args: unknown, fn: ToolFn<T>, idempotent: boolean, timeoutMs?: number): Promise<T> {
    // Taken before any await: the key is the call's position in the handler, never its timing.
    const callKey = String(++this.counter);
    return this.traced(`tool ${name}`, { 'aetheris.tool.name': name, 'aetheris.call_key': callKey }, (span, traced) =>
      this.runCall(callKey, name, args, fn, idempotent, timeoutMs, span, traced),
    );
  }

  private async runCall<T>(
    callKey: string,
    name: string,
    args: unknown,
    fn: ToolFn<T>,
    idempotent: boolean,
    timeoutMs: number | undefined,
    span: Span,
    traced: Context,
  ): Promise<T> {
    await this.lease.assertActive();
    if (this.lease.signal.aborted) throw this.lease.signal.reason;
    const argsDigest = payloadDigest(canonicalize(toJsonValue(args, `the arguments of tool "${name}"`)));

    const recorded = this.recorded.get(callKey);
    if (recorded) {
      if (recorded.toolName !== name) {
        throw this.diverged(callKey, name, recorded.toolName, `recorded tool "${recorded.toolName}"`);
      }
      if (!argsDigest.equals(Buffer.from(recorded.argsDigest))) {
        throw this.diverged(callKey, name, recorded.toolName, 'same tool, different arguments (args digest differs)');
      }
      const final =
        recorded.state === ToolCallState.TOOL_CALL_STATE_SUCCEEDED ||
        (recorded.state === ToolCallState.TOOL_CALL_STATE_RESOLVED && recorded.result.length > 0);
      if (final) {
        span.setAttribute('aetheris.tool.decision', 'replayed');
        return parseJsonBytes(recorded.result) as T;
      }
    }

    const answer = await this.ledgerClient.begin({ callKey, toolName: name, argsDigest, idempotent }, traced);
    const call = answer.call;
    span.setAttribute(
      'aetheris.tool.decision',
      toolCallDecisionToJSON(answer.decision).replace('TOOL_CALL_DECISION_', '').toLowerCase(),
    );
    switch (answer.decision) {
      case ToolCallDecision.TOOL_CALL_DECISION_EXECUTE:
        return this.execute(callKey, name, call?.externalIdempotencyKey ?? '', fn, timeoutMs, traced);
      case ToolCallDecision.TOOL_CALL_DECISION_RECORDED:
        return this.recordedOutcome<T>(callKey, name, call);
      case ToolCallDecision.TOOL_CALL_DECISION_IN_DOUBT: {
        // Declared idempotent: the server re-armed the call for this lease, run it with the same key.
        if (idempotent) return this.execute(callKey, name, call?.externalIdempotencyKey ?? '', fn, timeoutMs, traced);
        const parked = new JobParkedError({ jobId: this.job.id, callKey, toolName: name });
        this.lease.halt(parked);
        this.log.warn({ callKey, tool: name }, 'tool call in doubt: the job is parked for a person');
        throw parked;
      }
      case ToolCallDecision.TOOL_CALL_DECISION_NONDETERMINISM:
        throw this.diverged(callKey, name, call?.toolName, answer.detail || 'the server reported a divergence');
      default:
        throw new Error(
          `job ${this.job.id}: BeginToolCall answered ${toolCallDecisionToJSON(answer.decision)} for call #${callKey}; ` +
            'this SDK does not know that decision (is the server newer than the SDK?)',
        );
    }
  }

  /**
   * A signal wait: answered from the ledger on replay, else by AwaitSignal, which consumes a
   * pending signal, records the timeout, or parks the job (this run then ends, writing nothing).
   */
  private waitForSignal<T>(name: string, timeoutMs: number | undefined): Promise<SignalResult<T>> {
    // Taken before any await, like a tool call's.
    const callKey = String(++this.counter);
    return this.traced(`wait ${name}`, { 'aetheris.signal.name': name, 'aetheris.call_key': callKey }, (span, traced) =>
      this.runWait<T>(callKey, name, timeoutMs, span, traced),
    );
  }

  private async runWait<T>(
    callKey: string,
    name: string,
    timeoutMs: number | undefined,
    span: Span,
    traced: Context,
  ): Promise<SignalResult<T>> {
    await this.lease.assertActive();
    if (this.lease.signal.aborted) throw this.lease.signal.reason;
    // What the server records as the wait's args digest: SHA-256 of canonical {"name":…}.
    const argsDigest = payloadDigest(canonicalize({ name }));

    const recorded = this.recorded.get(callKey);
    if (recorded) {
      if (recorded.toolName !== SIGNAL_TOOL) {
        throw this.diverged(
          callKey,
          SIGNAL_TOOL,
          recorded.toolName,
          `the handler waits for signal "${name}" where the history recorded tool "${recorded.toolName}"`,
        );
      }
      if (!argsDigest.equals(Buffer.from(recorded.argsDigest))) {
        throw this.diverged(callKey, SIGNAL_TOOL, recorded.toolName, `a wait for another signal name than "${name}"`);
      }
      if (recorded.state === ToolCallState.TOOL_CALL_STATE_SUCCEEDED) {
        span.setAttribute('aetheris.signal.outcome', 'replayed');
        return signalResult<T>(name, recorded.result);
      }
      // STARTED: the job parked here on an earlier run; ask the server what happened since.
    }

    const { clients } = this.lease;
    const request = AwaitSignalRequest.fromPartial({
      jobId: this.job.id,
      fencingToken: this.lease.fencingToken,
      callKey,
      signalName: name,
      timeout: timeoutMs === undefined ? undefined : durationFromMs(Math.ceil(timeoutMs)),
    });
    // Safe to retry: a repeated call for the same lease and key returns what the first recorded;
    // one that parked the job fenced this lease off, so a retry ends the run as LEASE_LOST.
    const answer = await this.lease.write('AwaitSignal', (options) =>
      unary(clients.runtime, clients.runtime.awaitSignal, request, this.lease.metadata(traced), options),
    );
    span.setAttribute(
      'aetheris.signal.outcome',
      awaitSignalOutcomeToJSON(answer.outcome).replace('AWAIT_SIGNAL_OUTCOME_', '').toLowerCase(),
    );
    switch (answer.outcome) {
      case AwaitSignalOutcome.AWAIT_SIGNAL_OUTCOME_RECEIVED:
      case AwaitSignalOutcome.AWAIT_SIGNAL_OUTCOME_TIMED_OUT:
        return signalResult<T>(name, answer.call?.result ?? Buffer.alloc(0));
      case AwaitSignalOutcome.AWAIT_SIGNAL_OUTCOME_PARKED: {
        const deadlineMs = msFromTimestamp(answer.deadline);
        const waiting = new JobWaitingError({
          jobId: this.job.id,
          callKey,
          signalName: name,
          ...(deadlineMs === undefined ? {} : { deadlineMs }),
        });
        this.lease.halt(waiting);
        this.log.info({ callKey, signal: name, deadlineMs }, 'waiting for a signal: the job is parked');
        throw waiting;
      }
      case AwaitSignalOutcome.AWAIT_SIGNAL_OUTCOME_NONDETERMINISM:
        throw this.diverged(callKey, SIGNAL_TOOL, undefined, answer.detail || 'the server reported a divergence');
      default:
        throw new Error(
          `job ${this.job.id}: AwaitSignal answered ${awaitSignalOutcomeToJSON(answer.outcome)} for call #${callKey}; ` +
            'this SDK does not know that outcome (is the server newer than the SDK?)',
        );
    }
  }

  /** Runs the tool with its own signal, aborted by the lease or by the step timeout. */
  private async withStepTimeout<T>(
    callKey: string,
    toolName: string,
    fn: ToolFn<T>,
    idempotencyKey: string,
    timeoutMs: number | undefined,
    traced: Context,
  ): Promise<T> {
    // The tool's own spans (HTTP clients...) nest under its span when a context manager is registered.
    if (timeoutMs === undefined) return context.with(traced, () => fn({ idempotencyKey, signal: this.lease.signal }));
    const timeout = new StepTimeoutError({ jobId: this.job.id, callKey, toolName, timeoutMs });
    const controller = new AbortController();
    const onLeaseAbort = (): void => controller.abort(this.lease.signal.reason);
    this.lease.signal.addEventListener('abort', onLeaseAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        context.with(traced, () => fn({ idempotencyKey, signal: controller.signal })),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            controller.abort(timeout);
            reject(timeout);
          }, timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      this.lease.signal.removeEventListener('abort', onLeaseAbort);
    }
  }

  private async execute<T>(
    callKey: string,
    toolName: string,
    idempotencyKey: string,
    fn: ToolFn<T>,
    timeoutMs: number | undefined,
    traced: Context,
  ): Promise<T> {
    let value: T;
    try {
      value = await this.withStepTimeout(callKey, toolName, fn, idempotencyKey, timeoutMs, traced);
    } catch (error) {
      // Timed out: the outcome is unknown, so nothing is recorded (in doubt on a later attempt).
      if (error instanceof StepTimeoutError) throw error;
      // After a lost lease nothing is recorded: the stop reason wins over the tool's error.
      await this.lease.assertActive();
      const { reason, message } = describeError(error, 'TOOL_ERROR');
      await this.ledgerClient.complete(callKey, { error: { reason, message } }, traced);
      throw new ToolFailedError({
        jobId: this.job.id,
        callKey,
        toolName,
        reason,
        toolMessage: message,
        nonRetryable: error instanceof NonRetryableError,
        cause: error,
      });
    }
    await this.lease.assertActive();
    let bytes: Buffer;
    try {
      bytes = canonicalJsonBytes(value, `the result of tool "${toolName}"`);
    } catch (error) {
      // The tool ran but its result cannot be recorded: leave the call STARTED (in doubt on a
      // later attempt) rather than record a failure that would let it run again.
      throw new ToolFailedError({
        jobId: this.job.id,
        callKey,
        toolName,
        reason: 'RESULT_NOT_JSON',
        toolMessage: (error as Error).message,
        nonRetryable: true,
        cause: error,
      });
    }
    await this.ledgerClient.complete(callKey, { result: bytes }, traced);
    // Return the JSON form, exactly what a replay would return.
    return parseJsonBytes(bytes) as T;
  }

  private recordedOutcome<T>(callKey: string, toolName: string, call: ToolCall | undefined): T {
    if (call?.error && call.state !== ToolCallState.TOOL_CALL_STATE_SUCCEEDED) {
      throw new ToolFailedError({
        jobId: this.job.id,
        callKey,
        toolName,
        reason: call.error.reason || 'TOOL_ERROR',
        toolMessage: call.error.message,
      });
    }
    return parseJsonBytes(call?.result ?? Buffer.alloc(0)) as T;
  }

  /**
   * Runs one durable call in a span, child of the attempt's; its context is what the call's
   * RPCs carry. Parking, waiting and releasing end the run on purpose: not errors.
   */
  private async traced<T>(
    name: string,
    attributes: Attributes,
    run: (span: Span, traced: Context) => Promise<T>,
  ): Promise<T> {
    const parent = this.lease.traceContext;
    const span = this.tracer.startSpan(name, { attributes: { 'aetheris.job_id': this.job.id, ...attributes } }, parent);
    try {
      return await run(span, trace.setSpan(parent, span));
    } catch (error) {
      const ended =
        error instanceof JobParkedError || error instanceof JobWaitingError || error instanceof JobReleasedError;
      if (!ended) span.setStatus({ code: SpanStatusCode.ERROR, message: errorName(error) });
      throw error;
    } finally {
      span.end();
    }
  }

  private diverged(callKey: string, requested: string, recorded: string | undefined, detail: string): Error {
    const error = new NondeterminismError({
      jobId: this.job.id,
      callKey,
      requestedTool: requested,
      ...(recorded === undefined ? {} : { recordedTool: recorded }),
      detail,
    });
    this.nondeterminism ??= error;
    return error;
  }

  private async sleep(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0)
      throw new RangeError(`ctx.sleep(ms): ms must be a finite number >= 0, got ${ms}`);
    const { wake_at_ms: wakeAtMs } = await this.call<{ wake_at_ms: number }>(
      'aetheris.sleep',
      { duration_ms: ms },
      async () => ({ wake_at_ms: Date.now() + ms }),
      true,
    );
    const remaining = wakeAtMs - Date.now();
    if (remaining <= 0) return;
    if (remaining > RELEASE_SLEEP_OVER_MS) await this.release(remaining, 'durable sleep');
    await delay(remaining, this.lease.signal);
  }

  /** Gives the lease back until `delayMs` from now and ends this run of the handler. */
  private async release(delayMs: number, why: string): Promise<never> {
    const { clients } = this.lease;
    const request = ReleaseJobRequest.fromPartial({
      jobId: this.job.id,
      fencingToken: this.lease.fencingToken,
      delay: durationFromMs(delayMs),
      reason: why,
    });
    await this.lease.write('ReleaseJob', (options) =>
      unary(clients.runtime, clients.runtime.releaseJob, request, this.lease.metadata(), options),
    );
    const released = new JobReleasedError({ jobId: this.job.id, delayMs, why });
    this.lease.halt(released);
    this.log.info({ delayMs, why }, 'lease released');
    throw released;
  }
}

/** The recorded result of a wait (`{"name","payload","signal_id"}` or `{"timed_out":true}`) as the SDK returns it. */
function signalResult<T>(name: string, bytes: Uint8Array): SignalResult<T> {
  const result = parseJsonBytes(bytes);
  if (typeof result !== 'object' || result === null || Array.isArray(result)) {
    throw new Error(`the recorded outcome of a wait for signal "${name}" is not an object: ${JSON.stringify(result)}`);
  }
  if (result.timed_out === true) return { timedOut: true, name };
  return {
    timedOut: false,
    name: typeof result.name === 'string' ? result.name : name,
    payload: (result.payload ?? null) as T,
    signalId: typeof result.signal_id === 'string' ? result.signal_id : '',
  };
}
