/**
 * OpenTelemetry for Aetheris: {@link setupTelemetry} for the server process (OTLP traces when the
 * standard variables ask, a Prometheus endpoint), the server's instruments, and W3C trace context
 * over gRPC metadata for the server, the worker SDK and the CLI. See docs/observability.md.
 */
export { finishRpc, type RpcSpan, type ServerTelemetry, startRpcSpan } from './rpc-span.js';
export {
  JOB_STATES_TTL_MS,
  type JobStateCount,
  LIVE_JOB_STATES,
  NOOP_SERVER_METRICS,
  OtelServerMetrics,
  type ServerMetrics,
} from './server-metrics.js';
export {
  setupTelemetry,
  TELEMETRY_OFF,
  type Telemetry,
  type TelemetryOptions,
  type TraceExport,
  traceExportFromEnv,
} from './setup.js';
export {
  contextFromTraceparent,
  extractFromMetadata,
  injectIntoMetadata,
  traceparentOf,
  validTraceparent,
  WORKER_ID_METADATA,
} from './trace-context.js';
