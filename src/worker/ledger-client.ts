import type { Context } from '@opentelemetry/api';
import type { JobError } from '../../gen/ts/aetheris/runtime/v1/job.js';
import {
  BeginToolCallRequest,
  type BeginToolCallResponse,
  CompleteToolCallRequest,
  type CompleteToolCallResponse,
} from '../../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { unary } from '../client/connect.js';
import type { LeaseGuard } from './lease.js';

/** The outcome of a tool call, as recorded. */
export type ToolOutcome = { result: Buffer } | { error: Pick<JobError, 'reason' | 'message'> };

/**
 * The tool call ledger as one attempt sees it. Both calls are idempotent for the same lease and
 * call key, so the lease guard may retry them after a transient failure; the tool function
 * itself is never re-run because an RPC failed.
 */
export class LedgerClient {
  constructor(private readonly lease: LeaseGuard) {}

  /**
   * Asks whether the call at `callKey` may run (EXECUTE), was recorded, is in doubt, or diverges.
   * `traceContext` (the tool's span) travels as `traceparent`.
   */
  begin(
    call: {
      callKey: string;
      toolName: string;
      argsDigest: Buffer;
      idempotent: boolean;
    },
    traceContext?: Context,
  ): Promise<BeginToolCallResponse> {
    const { clients } = this.lease;
    const request = BeginToolCallRequest.fromPartial({
      jobId: this.lease.jobId,
      fencingToken: this.lease.fencingToken,
      ...call,
    });
    return this.lease.write('BeginToolCall', (options) =>
      unary(clients.runtime, clients.runtime.beginToolCall, request, this.lease.metadata(traceContext), options),
    );
  }

  /** Records the outcome of a call that BeginToolCall allowed to run. */
  complete(callKey: string, outcome: ToolOutcome, traceContext?: Context): Promise<CompleteToolCallResponse> {
    const { clients } = this.lease;
    const request = CompleteToolCallRequest.fromPartial({
      jobId: this.lease.jobId,
      fencingToken: this.lease.fencingToken,
      callKey,
      outcome:
        'result' in outcome
          ? { $case: 'result', value: outcome.result }
          : { $case: 'error', value: { reason: outcome.error.reason, message: outcome.error.message } },
    });
    return this.lease.write('CompleteToolCall', (options) =>
      unary(clients.runtime, clients.runtime.completeToolCall, request, this.lease.metadata(traceContext), options),
    );
  }
}
