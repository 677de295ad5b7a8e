import type { Metadata } from '@grpc/grpc-js';
import { type Context, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import { ATTR_RPC_METHOD, ATTR_RPC_STATUS_CODE, ATTR_RPC_SYSTEM_NAME } from '@opentelemetry/semantic-conventions';
import type { ServerMetrics } from './server-metrics.js';
import { statusName } from './server-metrics.js';
import { extractFromMetadata, WORKER_ID_METADATA } from './trace-context.js';

/** What the handler wrappers need from telemetry. */
export interface ServerTelemetry {
  /** Undefined when tracing is off: no span is created and no context is touched. */
  readonly tracer: Tracer | undefined;
  readonly metrics: ServerMetrics;
}

/** Codes that are the server's fault: the span status becomes ERROR (others stay UNSET). */
const SERVER_FAULTS = new Set([2, 4, 12, 13, 14, 15]); // UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS

/** A server span and the context that holds it (the parent of everything the handler does). */
export interface RpcSpan {
  readonly span: Span;
  readonly context: Context;
}

/**
 * Starts the SERVER span of one RPC as a child of the caller's `traceparent`, named after the
 * full method (`aetheris.runtime.v1.RuntimeService/CreateJob`). Ids come from the request only
 * (never payloads): `aetheris.job_id` when it has a `job_id`, `aetheris.worker_id` for workers.
 */
export function startRpcSpan(tracer: Tracer, method: string, metadata: Metadata, request: unknown): RpcSpan {
  const parent = extractFromMetadata(metadata);
  const span = tracer.startSpan(
    method,
    {
      kind: SpanKind.SERVER,
      attributes: {
        'rpc.system': 'grpc',
        [ATTR_RPC_SYSTEM_NAME]: 'grpc',
        [ATTR_RPC_METHOD]: method,
      },
    },
    parent,
  );
  if (span.isRecording()) {
    const fields = request as { jobId?: unknown; workerId?: unknown } | null | undefined;
    if (typeof fields?.jobId === 'string' && fields.jobId !== '') span.setAttribute('aetheris.job_id', fields.jobId);
    const workerId =
      typeof fields?.workerId === 'string' && fields.workerId !== ''
        ? fields.workerId
        : metadata.get(WORKER_ID_METADATA)[0];
    if (typeof workerId === 'string' && workerId !== '')
      span.setAttribute('aetheris.worker_id', workerId.slice(0, 128));
  }
  return { span, context: trace.setSpan(parent, span) };
}

/**
 * Ends an RPC span with its gRPC status. A failure is recorded as an `exception` event with the
 * error's reason and the message sent to the caller: never a payload, a stack or a cause.
 */
export function endRpcSpan(
  span: Span,
  code: number,
  response?: unknown,
  failure?: { reason: string; message: string },
): void {
  if (span.isRecording()) {
    span.setAttribute(ATTR_RPC_STATUS_CODE, statusName(code));
    span.setAttribute('rpc.grpc.status_code', code);
    const jobId = (response as { job?: { id?: unknown } } | null | undefined)?.job?.id;
    // CreateJob learns its job id only from the response.
    if (typeof jobId === 'string' && jobId !== '') span.setAttribute('aetheris.job_id', jobId);
    if (failure) {
      span.addEvent('exception', { 'exception.type': failure.reason, 'exception.message': failure.message });
      if (SERVER_FAULTS.has(code)) span.setStatus({ code: SpanStatusCode.ERROR, message: failure.message });
    }
  }
  span.end();
}

/** Records the RPC's metrics and ends its span, if any. */
export function finishRpc(
  telemetry: ServerTelemetry,
  method: string,
  started: number,
  rpcSpan: RpcSpan | undefined,
  code: number,
  response?: unknown,
  failure?: { reason: string; message: string },
): void {
  telemetry.metrics.rpcFinished(method, code, (performance.now() - started) / 1000);
  if (rpcSpan) endRpcSpan(rpcSpan.span, code, response, failure);
}
