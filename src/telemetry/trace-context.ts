/**
 * W3C trace context (`traceparent`/`tracestate`) over gRPC metadata. Used by the server (extract
 * per call, stored with a created job), the worker SDK (inject on every RPC of an attempt) and
 * the CLI. No global propagator is involved: these helpers work whether or not an application
 * registered one.
 */
import type { Metadata } from '@grpc/grpc-js';
import {
  type Context,
  isSpanContextValid,
  ROOT_CONTEXT,
  type TextMapGetter,
  type TextMapSetter,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

const propagator = new W3CTraceContextPropagator();

/** The metadata key the worker SDK sends its worker id in (AcquireJob also has it in the request). */
export const WORKER_ID_METADATA = 'aetheris-worker-id';

/** `version-traceid-parentid-flags`, lower-case hex, as W3C Trace Context level 1 writes it. */
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

const metadataGetter: TextMapGetter<Metadata> = {
  keys: (metadata) => Object.keys(metadata.getMap()),
  get: (metadata, key) => {
    const values = metadata.get(key);
    const first = values[0];
    return typeof first === 'string' ? first : undefined;
  },
};

const metadataSetter: TextMapSetter<Metadata> = {
  set: (metadata, key, value) => metadata.set(key, value),
};

const recordSetter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

const recordGetter: TextMapGetter<Record<string, string>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

/** The caller's trace context from incoming metadata (ROOT_CONTEXT when there is none). */
export function extractFromMetadata(metadata: Metadata): Context {
  return propagator.extract(ROOT_CONTEXT, metadata, metadataGetter);
}

/** Adds `traceparent` (and `tracestate`) of the span in `ctx` to outgoing metadata; no-op without one. */
export function injectIntoMetadata(ctx: Context, metadata: Metadata): void {
  propagator.inject(ctx, metadata, metadataSetter);
}

/** The `traceparent` of the span in `ctx`, or null when `ctx` holds no valid span context. */
export function traceparentOf(ctx: Context): string | null {
  const spanContext = trace.getSpanContext(ctx);
  if (!spanContext || !isSpanContextValid(spanContext)) return null;
  const carrier: Record<string, string> = {};
  propagator.inject(ctx, carrier, recordSetter);
  return carrier.traceparent ?? null;
}

/** A context whose (remote) parent is `traceparent`; ROOT_CONTEXT for an empty or malformed value. */
export function contextFromTraceparent(traceparent: string | null | undefined): Context {
  if (!traceparent) return ROOT_CONTEXT;
  return propagator.extract(ROOT_CONTEXT, { traceparent }, recordGetter);
}

/** The caller's `traceparent` header if it is well formed, else null (cheap: no context built). */
export function validTraceparent(metadata: Metadata): string | null {
  const value = metadata.get('traceparent')[0];
  return typeof value === 'string' && TRACEPARENT.test(value) && !/^00-0{32}-|-0{16}-/.test(value) ? value : null;
}
