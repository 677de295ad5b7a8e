/**
 * OpenTelemetry for the server process: traces exported over OTLP when the standard
 * `OTEL_EXPORTER_OTLP_*` variables ask for it, metrics served to Prometheus on a port of their
 * own. With neither, nothing is set up at all: no provider, no span processor, no exporter.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  context,
  type Meter,
  type MeterProvider,
  propagation,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { detectResources, envDetector, type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider as SdkMeterProvider } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

/** The instrumentation scope of the server's spans and metrics. */
export const SCOPE = 'aetheris';

/** Options of {@link setupTelemetry}. */
export interface TelemetryOptions {
  /** `service.name` unless `OTEL_SERVICE_NAME`/`OTEL_RESOURCE_ATTRIBUTES` say otherwise; default `aetheris`. */
  serviceName?: string;
  serviceVersion?: string;
  /**
   * Span processors to use instead of the OTLP exporter (tests: `SimpleSpanProcessor` over an
   * `InMemorySpanExporter`). Given → tracing is on whatever the environment says.
   */
  spanProcessors?: SpanProcessor[];
  /** Serve `/metrics` for Prometheus here; absent → no metrics. Port 0 picks a free port. */
  metrics?: { host: string; port: number };
  /**
   * With tracing on, also register the tracer provider, the W3C propagator and an
   * AsyncLocalStorage context manager globally (default true), so spans of libraries that use
   * the global API — slonik's `slonik.executeQuery` SQL spans — join the RPC's trace.
   * {@link Telemetry.shutdown} unregisters them.
   */
  registerGlobal?: boolean;
  /** Where the standard variables are read (default `process.env`; the OTLP exporters always read `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
}

/** What {@link setupTelemetry} set up. */
export interface Telemetry {
  /** Undefined when tracing is off. */
  readonly tracerProvider: TracerProvider | undefined;
  /** Undefined when tracing is off: callers then create no span at all. */
  readonly tracer: Tracer | undefined;
  /** Undefined when metrics are off. */
  readonly meterProvider: MeterProvider | undefined;
  readonly meter: Meter | undefined;
  /** `host:port` of the Prometheus endpoint (`/metrics`), when metrics are on. */
  readonly metricsAddress: string | undefined;
  /** How spans leave the process: `off`, `otlp/grpc`, `otlp/http/protobuf` or `custom`. */
  readonly traceExport: TraceExport;
  /** Flushes pending spans, stops the metrics endpoint and unregisters globals. Idempotent. */
  shutdown(): Promise<void>;
}

export type TraceExport = 'off' | 'otlp/grpc' | 'otlp/http/protobuf' | 'custom';

/** Telemetry off: what servers get when nothing was set up. */
export const TELEMETRY_OFF: Telemetry = Object.freeze({
  tracerProvider: undefined,
  tracer: undefined,
  meterProvider: undefined,
  meter: undefined,
  metricsAddress: undefined,
  traceExport: 'off' as const,
  shutdown: async () => {},
});

/**
 * Decides from the standard variables whether traces are exported and how: on when
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` is set, unless
 * `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`. The protocol comes from
 * `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`/`OTEL_EXPORTER_OTLP_PROTOCOL`: `grpc` (the default here,
 * port 4317) or `http/protobuf` (port 4318).
 */
export function traceExportFromEnv(env: Readonly<Record<string, string | undefined>>): TraceExport {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return 'off';
  const exporters = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase();
  if (exporters === 'none') return 'off';
  if (exporters && exporters !== 'otlp') {
    throw new Error(`OTEL_TRACES_EXPORTER=${exporters} is not supported: use otlp (or none)`);
  }
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!endpoint) return 'off';
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'grpc')
    .trim()
    .toLowerCase();
  if (protocol === 'grpc') return 'otlp/grpc';
  if (protocol === 'http/protobuf') return 'otlp/http/protobuf';
  throw new Error(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported: use grpc or http/protobuf`);
}

/** Sets up tracing and metrics as `options` and the environment ask; see {@link TelemetryOptions}. */
export async function setupTelemetry(options: TelemetryOptions = {}): Promise<Telemetry> {
  const env = options.env ?? process.env;
  const traceExport: TraceExport = options.spanProcessors?.length ? 'custom' : traceExportFromEnv(env);
  if (traceExport === 'off' && !options.metrics) return TELEMETRY_OFF;
  const resource = await buildResource(options);
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    // In reverse order of setup: the metrics endpoint, then the spans (flushed), then the globals.
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  let tracerProvider: BasicTracerProvider | undefined;
  let meterProvider: SdkMeterProvider | undefined;
  let metricsAddress: string | undefined;
  try {
    if (traceExport !== 'off') {
      const spanProcessors = options.spanProcessors?.length
        ? options.spanProcessors
        : [new BatchSpanProcessor(await otlpExporter(traceExport))];
      tracerProvider = new BasicTracerProvider({ resource, spanProcessors });
      if (options.registerGlobal ?? true) {
        const contextManager = new AsyncLocalStorageContextManager().enable();
        context.setGlobalContextManager(contextManager);
        trace.setGlobalTracerProvider(tracerProvider);
        propagation.setGlobalPropagator(new W3CTraceContextPropagator());
        stops.push(async () => {
          trace.disable();
          propagation.disable();
          context.disable();
        });
      }
      const provider = tracerProvider;
      stops.push(() => provider.shutdown());
    }

    if (options.metrics) {
      const { PrometheusExporter } = await import('@opentelemetry/exporter-prometheus');
      const exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
      meterProvider = new SdkMeterProvider({ resource, readers: [exporter] });
      const endpoint = await serveMetrics(exporter, options.metrics);
      metricsAddress = endpoint.address;
      const provider = meterProvider;
      stops.push(async () => {
        await endpoint.close();
        await provider.shutdown();
      });
    }
  } catch (error) {
    await stopAll();
    throw error;
  }

  let stopping: Promise<void> | undefined;
  return {
    tracerProvider,
    tracer: tracerProvider?.getTracer(SCOPE, options.serviceVersion),
    meterProvider,
    meter: meterProvider?.getMeter(SCOPE, options.serviceVersion),
    metricsAddress,
    traceExport,
    shutdown: () => {
      stopping ??= stopAll();
      return stopping;
    },
  };
}

async function buildResource(options: TelemetryOptions): Promise<Resource> {
  const base = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: options.serviceName ?? 'aetheris',
    ...(options.serviceVersion ? { [ATTR_SERVICE_VERSION]: options.serviceVersion } : {}),
  });
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the defaults.
  const detected = detectResources({ detectors: [envDetector] });
  await detected.waitForAsyncAttributes?.();
  return base.merge(detected);
}

async function otlpExporter(kind: TraceExport) {
  // Loaded only when traces are exported: a server without a collector never loads them.
  if (kind === 'otlp/http/protobuf') {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
    return new OTLPTraceExporter();
  }
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-grpc');
  return new OTLPTraceExporter();
}

/** The Prometheus text endpoint: GET /metrics, everything else 404. */
async function serveMetrics(
  exporter: { getMetricsRequestHandler(request: http.IncomingMessage, response: http.ServerResponse): void },
  where: { host: string; port: number },
): Promise<{ address: string; close: () => Promise<void> }> {
  const server = http.createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (request.method === 'GET' && path === '/metrics') {
      exporter.getMetricsRequestHandler(request, response);
      return;
    }
    response.statusCode = 404;
    response.end('not found: metrics are served at /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(
              `metrics port ${where.host}:${where.port} is in use: set AETHERIS_METRICS_PORT (or --metrics-port) to a free port, or 0 to disable metrics`,
            )
          : error,
      );
    };
    server.once('error', onError);
    server.listen(where.port, where.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = where.host.includes(':') ? `[${where.host}]` : where.host;
  return {
    address: `${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
