/**
 * OpenTelemetry end to end: one trace from a client through the server to the worker and its
 * tool (spans collected in memory), the Prometheus endpoint scraped over HTTP, and telemetry
 * off leaving nothing behind.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobState } from '../gen/ts/aetheris/runtime/v1/job.js';
import {
  AcquireJobRequest,
  AppendEventsRequest,
  AwaitSignalOutcome,
  AwaitSignalRequest,
  CreateJobRequest,
  GetJobRequest,
  SubscribeEventsRequest,
} from '../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { type AetherisClients, connect, messages, unary } from '../src/client/connect.js';
import { createLogger } from '../src/server/logger.js';
import { type RunningServer, startServer } from '../src/server/server.js';
import { setupTelemetry, TELEMETRY_OFF, type Telemetry, traceExportFromEnv } from '../src/telemetry/setup.js';
import { traceparentOf } from '../src/telemetry/trace-context.js';
import { Worker } from '../src/worker/index.js';
import { createKey, createTestDatabase } from './helpers/harness.js';
import { sendSignal } from './signals/signal-helpers.js';
import { captureLogger, createJob, waitForState } from './worker/worker-helpers.js';

const RUNTIME = 'aetheris.runtime.v1.RuntimeService';
/** Appears in a job's input and a tool's result: it must never reach a span. */
const SECRET = `secret-${randomBytes(4).toString('hex')}`;

interface Stack {
  server: RunningServer;
  url: string;
  admin: AetherisClients;
  workerKey: string;
  close(): Promise<void>;
}

async function startStack(telemetry?: Telemetry): Promise<Stack> {
  const database = await createTestDatabase();
  const server = await startServer({
    databaseUrl: database.url,
    host: '127.0.0.1',
    port: 0,
    logger: createLogger(process.env.AETHERIS_TEST_LOG ?? 'silent'),
    shutdownGraceMs: 2000,
    ...(telemetry ? { telemetry } : {}),
  });
  const admin = connect({ address: server.address, apiKey: await createKey(database.url, 'acme', 'admin') });
  const workerKey = await createKey(database.url, 'acme', 'worker');
  return {
    server,
    url: database.url,
    admin,
    workerKey,
    async close() {
      admin.close();
      await server.shutdown();
      await database.drop();
    },
  };
}

/** Runs one `traced` job (one tool call) to completion on a worker tracing into `tracerProvider`. */
async function runTracedJob(
  stack: Stack,
  creator: AetherisClients,
  tracerProvider: NonNullable<Telemetry['tracerProvider']>,
): Promise<{ jobId: string; workerId: string }> {
  const workerId = `telemetry-worker-${randomBytes(3).toString('hex')}`;
  const worker = new Worker({
    address: stack.server.address,
    apiKey: stack.workerKey,
    taskQueue: 'traced',
    workerId,
    pollWaitMs: 2_000,
    logger: captureLogger(),
    tracerProvider,
  });
  worker.register('traced', async (ctx, input) => {
    const looked = await ctx.tool('lookup', { order: 7 }, async () => ({ found: true, echo: input }));
    return { looked };
  });
  const jobId = await createJob(creator, 'traced', { secret: SECRET }, { queue: 'traced' });
  await worker.runUntil(() => waitForState(stack.admin, jobId, [JobState.JOB_STATE_COMPLETED]));
  return { jobId, workerId };
}

describe('telemetry on: traces and metrics', () => {
  const exporter = new InMemorySpanExporter();
  let telemetry: Telemetry;
  let stack: Stack;

  beforeAll(async () => {
    telemetry = await setupTelemetry({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
      metrics: { host: '127.0.0.1', port: 0 },
      env: {},
    });
    stack = await startStack(telemetry);
  });

  afterAll(async () => {
    await stack?.close();
    await telemetry?.shutdown();
  });

  it('links client → CreateJob → worker job run → tool → BeginToolCall in one trace', async () => {
    const tracerProvider = telemetry.tracerProvider;
    if (!tracerProvider) throw new Error('tracing should be on');
    // The "client": a span of its own, sent as `traceparent` with the call.
    const clientSpan = tracerProvider
      .getTracer('test-client')
      .startSpan('client: create job', { kind: SpanKind.CLIENT });
    const traceparent = traceparentOf(trace.setSpan(ROOT_CONTEXT, clientSpan));
    if (!traceparent) throw new Error('the client span has no traceparent');
    const creator = connect({
      address: stack.server.address,
      apiKey: await createKey(stack.url, 'acme', 'operator'),
      metadata: { traceparent },
    });
    let jobId: string;
    let workerId: string;
    try {
      ({ jobId, workerId } = await runTracedJob(stack, creator, tracerProvider));
    } finally {
      clientSpan.end();
      creator.close();
    }

    const { traceId, spanId: clientSpanId } = clientSpan.spanContext();
    const spans = exporter.getFinishedSpans();
    const inTrace = spans.filter((span) => span.spanContext().traceId === traceId);
    const one = (name: string, parent?: ReadableSpan): ReadableSpan => {
      const found = inTrace.filter(
        (span) => span.name === name && (!parent || parentOf(span) === parent.spanContext().spanId),
      );
      expect(found, `${name} (in the client's trace${parent ? `, child of ${parent.name}` : ''})`).toHaveLength(1);
      return found[0] as ReadableSpan;
    };

    const create = one(`${RUNTIME}/CreateJob`);
    expect(parentOf(create)).toBe(clientSpanId);
    expect(create.kind).toBe(SpanKind.SERVER);
    expect(create.attributes).toMatchObject({
      'rpc.system': 'grpc',
      'rpc.system.name': 'grpc',
      'rpc.method': `${RUNTIME}/CreateJob`,
      'rpc.status_code': 'OK',
      'aetheris.tenant': 'acme',
      'aetheris.job_id': jobId,
    });

    const run = one('run traced', create);
    expect(run.attributes).toMatchObject({
      'aetheris.job_id': jobId,
      'aetheris.attempt': 1,
      'aetheris.worker_id': workerId,
      'aetheris.attempt.final_write': 'CompleteJob',
    });
    const tool = one('tool lookup', run);
    expect(tool.attributes).toMatchObject({ 'aetheris.call_key': '1', 'aetheris.tool.decision': 'execute' });

    const begin = one(`${RUNTIME}/BeginToolCall`, tool);
    expect(begin.kind).toBe(SpanKind.SERVER);
    expect(begin.attributes).toMatchObject({
      'aetheris.job_id': jobId,
      'aetheris.worker_id': workerId,
      'aetheris.tenant': 'acme',
    });
    one(`${RUNTIME}/CompleteToolCall`, tool);
    one(`${RUNTIME}/CompleteJob`, run);

    // slonik's SQL spans join the RPC that ran them: statement text, never parameters.
    const sqlUnderCreate = inTrace.filter(
      (span) => span.name === 'slonik.executeQuery' && descendsFrom(span, create, inTrace),
    );
    expect(sqlUnderCreate.length).toBeGreaterThan(0);
    expect(sqlUnderCreate.some((span) => String(span.attributes.sql).includes('aetheris.create_job'))).toBe(true);

    // No payload anywhere: not the job's input, not the tool's result.
    for (const span of spans) {
      expect(JSON.stringify([span.attributes, span.events]), span.name).not.toContain(SECRET);
    }
  });

  it('records failures on the server span without payloads', async () => {
    exporter.reset();
    const missing = randomUUID();
    await expect(
      unary(
        stack.admin.runtime,
        stack.admin.runtime.getJob,
        GetJobRequest.fromPartial({ jobId: missing }),
        stack.admin.metadata(),
      ),
    ).rejects.toMatchObject({ code: 5 });
    const [span] = exporter.getFinishedSpans().filter((s) => s.name === `${RUNTIME}/GetJob`);
    expect(span?.attributes).toMatchObject({ 'rpc.status_code': 'NOT_FOUND', 'aetheris.job_id': missing });
    // A caller's mistake is not the server's error: the status stays UNSET, the event says why.
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
    expect(span?.events.map((event) => [event.name, event.attributes?.['exception.type']])).toEqual([
      ['exception', 'NOT_FOUND'],
    ]);
  });

  it('serves RPC, ledger, append, sweeper, signal and subscriber metrics to Prometheus', async () => {
    const { admin } = stack;
    // A job nobody works on: pending in the jobs gauge (read at the first scrape, then cached 15 s).
    const idle = await createJob(admin, 'idle', null, { queue: 'nobody' });
    const before = await scrape(telemetry);

    expect(before.types.get('aetheris_rpc_server_duration_seconds')).toBe('histogram');
    expect(before.types.get('aetheris_rpc_server_errors_total')).toBe('counter');
    expect(before.types.get('aetheris_jobs')).toBe('gauge');
    expect(before.value('aetheris_jobs', { tenant: 'acme', state: 'pending' })).toBeGreaterThanOrEqual(1);
    expect(before.value('aetheris_jobs', { tenant: 'acme', state: 'parked' })).toBe(0);
    // The traced job of the first test: one EXECUTE answer, one successful completion.
    expect(before.value('aetheris_tool_call_begins_total', { decision: 'execute' })).toBeGreaterThanOrEqual(1);
    expect(before.value('aetheris_tool_call_completions_total', { outcome: 'succeeded' })).toBeGreaterThanOrEqual(1);

    // Known calls: 3 GetJob OK, 2 GetJob NOT_FOUND.
    const getJob = (jobId: string) =>
      unary(admin.runtime, admin.runtime.getJob, GetJobRequest.fromPartial({ jobId }), admin.metadata());
    for (let i = 0; i < 3; i++) await getJob(idle);
    for (let i = 0; i < 2; i++) await getJob(randomUUID()).catch(() => undefined);

    // An append of 2 events.
    await unary(
      admin.runtime,
      admin.runtime.appendEvents,
      AppendEventsRequest.fromPartial({
        jobId: idle,
        events: [
          { type: 'test.note', payload: Buffer.from('{"n":1}') },
          { type: 'test.note', payload: Buffer.from('{"n":2}') },
        ],
      }),
      admin.metadata(),
    );

    // A subscriber reading the tenant's history: one lag sample per delivered event.
    let delivered = 0;
    const stream = admin.runtime.subscribeEvents(
      SubscribeEventsRequest.fromPartial({ follow: false }),
      admin.metadata(),
    );
    for await (const message of messages(stream)) delivered += message.events.length;
    expect(delivered).toBeGreaterThan(0);

    // A signal sent before the wait, consumed by AwaitSignal; the retried AwaitSignal replays it.
    const worker = connect({ address: stack.server.address, apiKey: stack.workerKey });
    try {
      const waiting = await createJob(admin, 'waits', null, { queue: 'signals' });
      await sendSignal(admin, waiting, 'go', { ok: true });
      const { lease } = await unary(
        worker.runtime,
        worker.runtime.acquireJob,
        AcquireJobRequest.fromPartial({ workerId: 'raw', queues: ['signals'], jobTypes: ['waits'] }),
        worker.metadata(),
      );
      if (!lease) throw new Error('no lease');
      const awaitSignal = AwaitSignalRequest.fromPartial({
        jobId: waiting,
        fencingToken: lease.fencingToken,
        callKey: '1',
        signalName: 'go',
      });
      for (let i = 0; i < 2; i++) {
        const answer = await unary(worker.runtime, worker.runtime.awaitSignal, awaitSignal, worker.metadata());
        expect(answer.outcome).toBe(AwaitSignalOutcome.AWAIT_SIGNAL_OUTCOME_RECEIVED);
      }

      // A lease of 1 s that nobody extends: the sweeper expires it.
      const expiring = await createJob(admin, 'expires', null, { queue: 'expiring' });
      const expiringLease = await unary(
        worker.runtime,
        worker.runtime.acquireJob,
        AcquireJobRequest.fromPartial({
          workerId: 'raw',
          queues: ['expiring'],
          jobTypes: ['expires'],
          leaseDuration: { seconds: 1n, nanos: 0 },
        }),
        worker.metadata(),
      );
      expect(expiringLease.lease?.jobId).toBe(expiring);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await stack.server.sweeper.sweepOnce();
    } finally {
      worker.close();
    }

    // The background sweeper may have taken the expired lease first: wait for its count.
    let after = await scrape(telemetry);
    const expired = (s: Scrape) => s.value('aetheris_lease_expirations_total', { outcome: 'retrying' });
    for (let i = 0; i < 50 && expired(after) === expired(before); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = await scrape(telemetry);
    }
    const delta = (name: string, labels: Record<string, string> = {}) =>
      after.value(name, labels) - before.value(name, labels);
    const getJobOk = { rpc_method: `${RUNTIME}/GetJob`, rpc_status_code: 'OK' };
    const getJobMissing = { rpc_method: `${RUNTIME}/GetJob`, rpc_status_code: 'NOT_FOUND' };
    expect(delta('aetheris_rpc_server_duration_seconds_count', getJobOk)).toBe(3);
    expect(delta('aetheris_rpc_server_duration_seconds_count', getJobMissing)).toBe(2);
    expect(delta('aetheris_rpc_server_errors_total', getJobMissing)).toBe(2);
    expect(after.value('aetheris_rpc_server_errors_total', getJobOk)).toBe(0);
    // Buckets are cumulative: +Inf holds every call.
    expect(delta('aetheris_rpc_server_duration_seconds_bucket', { ...getJobOk, le: '+Inf' })).toBe(3);
    expect(after.value('aetheris_rpc_server_duration_seconds_sum', getJobOk)).toBeGreaterThan(0);

    expect(delta('aetheris_events_appended_total')).toBe(2);
    expect(delta('aetheris_events_append_duration_seconds_count', { outcome: 'appended' })).toBe(1);
    expect(delta('aetheris_subscribe_lag_seconds_count')).toBe(delivered);
    expect(delta('aetheris_signal_resume_latency_seconds_count')).toBe(1);
    expect(delta('aetheris_lease_expirations_total', { outcome: 'retrying' })).toBe(1);
  });

  it('answers 404 outside /metrics', async () => {
    const response = await fetch(`http://${telemetry.metricsAddress}/`);
    expect(response.status).toBe(404);
    await response.body?.cancel();
  });
});

describe('telemetry off', () => {
  it('sets nothing up without OTLP variables or a metrics port', async () => {
    expect(await setupTelemetry({ env: {} })).toBe(TELEMETRY_OFF);
    expect(await setupTelemetry({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: '' } })).toBe(TELEMETRY_OFF);
    expect(TELEMETRY_OFF.tracerProvider).toBeUndefined();
    expect(TELEMETRY_OFF.meterProvider).toBeUndefined();
    expect(TELEMETRY_OFF.metricsAddress).toBeUndefined();
    // The first suite's shutdown unregistered its globals: the API is back to its no-op.
    expect(trace.getTracer('probe').startSpan('probe').isRecording()).toBe(false);
  });

  it('reads the standard variables', () => {
    const endpoint = 'http://127.0.0.1:4317';
    expect(traceExportFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint })).toBe('otlp/grpc');
    expect(traceExportFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpoint })).toBe('otlp/grpc');
    expect(
      traceExportFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }),
    ).toBe('otlp/http/protobuf');
    expect(traceExportFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SDK_DISABLED: 'true' })).toBe('off');
    expect(traceExportFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_EXPORTER: 'none' })).toBe('off');
    expect(() =>
      traceExportFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }),
    ).toThrow(/not supported/);
  });

  it('creates no server span, yet hands the caller traceparent on to the worker', async () => {
    const stack = await startStack();
    // Only the worker traces (into memory); the server has no tracer at all.
    const workerExporter = new InMemorySpanExporter();
    const worker = await setupTelemetry({
      spanProcessors: [new SimpleSpanProcessor(workerExporter)],
      registerGlobal: false,
    });
    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    const creator = connect({
      address: stack.server.address,
      apiKey: await createKey(stack.url, 'acme', 'operator'),
      metadata: { traceparent: `00-${traceId}-${callerSpanId}-01` },
    });
    try {
      if (!worker.tracerProvider) throw new Error('worker tracing should be on');
      await runTracedJob(stack, creator, worker.tracerProvider);
      const spans = workerExporter.getFinishedSpans();
      expect(spans.filter((span) => span.name.includes('Service/'))).toEqual([]);
      const run = spans.find((span) => span.name === 'run traced');
      expect(run?.spanContext().traceId).toBe(traceId);
      expect(run && parentOf(run)).toBe(callerSpanId);
    } finally {
      creator.close();
      await worker.shutdown();
      await stack.close();
    }
  });

  it('stores no traceparent for a caller without one', async () => {
    const stack = await startStack();
    try {
      const { job } = await unary(
        stack.admin.runtime,
        stack.admin.runtime.createJob,
        CreateJobRequest.fromPartial({ jobType: 'plain', queue: 'plain', input: Buffer.from('{}') }),
        stack.admin.metadata(),
      );
      const worker = connect({ address: stack.server.address, apiKey: stack.workerKey });
      try {
        const acquired = await unary(
          worker.runtime,
          worker.runtime.acquireJob,
          AcquireJobRequest.fromPartial({ workerId: 'raw', queues: ['plain'], jobTypes: ['plain'] }),
          worker.metadata(),
        );
        expect(acquired.lease?.jobId).toBe(job?.id);
        expect(acquired.traceParent).toBe('');
      } finally {
        worker.close();
      }
    } finally {
      await stack.close();
    }
  });
});

function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

function descendsFrom(span: ReadableSpan, ancestor: ReadableSpan, all: readonly ReadableSpan[]): boolean {
  const byId = new Map(all.map((s) => [s.spanContext().spanId, s]));
  let current: ReadableSpan | undefined = span;
  for (let depth = 0; current && depth < 20; depth++) {
    const parentId = parentOf(current);
    if (parentId === ancestor.spanContext().spanId) return true;
    current = parentId ? byId.get(parentId) : undefined;
  }
  return false;
}

interface Scrape {
  /** `# TYPE` of each metric family. */
  types: Map<string, string>;
  /** Sum of the samples of `name` whose labels include `labels` (0 when none). */
  value(name: string, labels?: Record<string, string>): number;
}

/** GET /metrics and parse the Prometheus text format (0.0.4). */
async function scrape(telemetry: Telemetry): Promise<Scrape> {
  const response = await fetch(`http://${telemetry.metricsAddress}/metrics`);
  expect(response.status).toBe(200);
  const text = await response.text();
  const types = new Map<string, string>();
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type?.[1] && type[2]) types.set(type[1], type[2]);
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match?.[1] || !match[3]) throw new Error(`not a Prometheus sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      if (pair[1]) labels[pair[1]] = (pair[2] ?? '').replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: match[1], labels, value: match[3] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[3]) });
  }
  return {
    types,
    value: (name, labels = {}) =>
      samples
        .filter((s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value))
        .reduce((sum, s) => sum + s.value, 0),
  };
}
