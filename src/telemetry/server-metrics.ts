import { status } from '@grpc/grpc-js';
import type { Attributes, Counter, Histogram, Meter, ObservableGauge, ObservableResult } from '@opentelemetry/api';

/** Live job states counted by the `aetheris_jobs` gauge (terminal states only grow: see GetSummary). */
export const LIVE_JOB_STATES = ['pending', 'running', 'parked', 'retrying'] as const;

/** One row of the jobs-by-state gauge. */
export interface JobStateCount {
  tenant: string;
  state: string;
  count: number;
}

/** Reads the live job counts; called at most every {@link JOB_STATES_TTL_MS}, only when scraped. */
export type JobStateReader = () => Promise<JobStateCount[]>;

/** The jobs-by-state query runs at most this often, however often the endpoint is scraped. */
export const JOB_STATES_TTL_MS = 15_000;

/**
 * What the server measures. {@link NOOP_SERVER_METRICS} when metrics are off: every call is an
 * empty function, so the hot paths pay nothing for it.
 */
export interface ServerMetrics {
  /** One finished RPC (unary or stream), with its gRPC status code. */
  rpcFinished(method: string, code: number, seconds: number): void;
  /** One AppendEvents store call; `appended` events were new (0 for a duplicate or a refusal). */
  appendFinished(outcome: string, appended: number, seconds: number): void;
  /** A lease (or attempt timeout) the sweeper expired; `outcome` is `retrying` or `failed`. */
  leaseExpired(outcome: string): void;
  /** A BeginToolCall answer: `execute`, `recorded`, `in_doubt`, `nondeterminism`, `lease_lost`... */
  toolCallBegun(decision: string): void;
  /** A CompleteToolCall outcome: `succeeded`, `failed`, `duplicate`, `conflict`, `lease_lost`... */
  toolCallCompleted(outcome: string): void;
  /** A signal consumed by a wait: seconds from SendSignal (`sent_at`) to its consumption. */
  signalConsumed(seconds: number): void;
  /** Events handed to a SubscribeEvents reader: lag from each event's `recordedAt` (µs) to now. */
  eventsDelivered(events: readonly { recordedAt: bigint }[]): void;
  /** Starts the jobs-by-state gauge; returns its unregister function. */
  observeJobStates(read: JobStateReader): () => void;
}

const nothing = (): void => {};

/** Metrics off. */
export const NOOP_SERVER_METRICS: ServerMetrics = {
  rpcFinished: nothing,
  appendFinished: nothing,
  leaseExpired: nothing,
  toolCallBegun: nothing,
  toolCallCompleted: nothing,
  signalConsumed: nothing,
  eventsDelivered: nothing,
  observeJobStates: () => nothing,
};

/** Seconds buckets from 0.5 ms to 60 s: RPCs, appends, signal resumes and subscriber lag alike. */
const SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** gRPC status names by code, e.g. 5 → NOT_FOUND (the `rpc.status_code` convention). */
export function statusName(code: number): string {
  return status[code] ?? String(code);
}

/** Instruments on an OpenTelemetry meter. Names are Prometheus-ready (counters gain `_total`). */
export class OtelServerMetrics implements ServerMetrics {
  private readonly rpcDuration: Histogram;
  private readonly rpcErrors: Counter;
  private readonly appendDuration: Histogram;
  private readonly eventsAppended: Counter;
  private readonly leaseExpirations: Counter;
  private readonly toolCallBegins: Counter;
  private readonly toolCallCompletions: Counter;
  private readonly signalResume: Histogram;
  private readonly subscribeLag: Histogram;
  private readonly jobs: ObservableGauge;
  /** Attribute objects per (method, code): one allocation per pair instead of per call. */
  private readonly rpcAttributes = new Map<string, Attributes>();

  constructor(meter: Meter) {
    const seconds = (description: string) => ({
      description,
      unit: 's',
      advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
    });
    this.rpcDuration = meter.createHistogram(
      'aetheris_rpc_server_duration_seconds',
      seconds('Server-side duration of RPCs (streams: their whole life), by method and status code'),
    );
    this.rpcErrors = meter.createCounter('aetheris_rpc_server_errors', {
      description: 'RPCs that ended with a status other than OK, by method and status code',
    });
    this.appendDuration = meter.createHistogram(
      'aetheris_events_append_duration_seconds',
      seconds('Duration of the AppendEvents transaction (fencing check, chain, insert), by outcome'),
    );
    this.eventsAppended = meter.createCounter('aetheris_events_appended', {
      description: 'Events appended through AppendEvents (duplicates of earlier appends not counted)',
    });
    this.leaseExpirations = meter.createCounter('aetheris_lease_expirations', {
      description: 'Leases and attempt timeouts expired by the sweeper, by outcome (retrying or failed)',
    });
    this.toolCallBegins = meter.createCounter('aetheris_tool_call_begins', {
      description: 'BeginToolCall answers by decision (execute, recorded, in_doubt, nondeterminism, ...)',
    });
    this.toolCallCompletions = meter.createCounter('aetheris_tool_call_completions', {
      description: 'CompleteToolCall outcomes (succeeded, failed, duplicate, ...)',
    });
    this.signalResume = meter.createHistogram(
      'aetheris_signal_resume_latency_seconds',
      seconds('From SendSignal (the signal sent_at) to the wait that consumed it'),
    );
    this.subscribeLag = meter.createHistogram(
      'aetheris_subscribe_lag_seconds',
      seconds('SubscribeEvents: from an event being recorded to its delivery to the reader'),
    );
    this.jobs = meter.createObservableGauge('aetheris_jobs', {
      description: `Jobs in a live state (${LIVE_JOB_STATES.join(', ')}) by tenant; refreshed at most every 15 s`,
    });
  }

  rpcFinished(method: string, code: number, seconds: number): void {
    const key = `${method}#${code}`;
    let attributes = this.rpcAttributes.get(key);
    if (!attributes) {
      attributes = { 'rpc.method': method, 'rpc.status_code': statusName(code) };
      this.rpcAttributes.set(key, attributes);
    }
    this.rpcDuration.record(seconds, attributes);
    if (code !== status.OK) this.rpcErrors.add(1, attributes);
  }

  appendFinished(outcome: string, appended: number, seconds: number): void {
    this.appendDuration.record(seconds, { outcome });
    if (appended > 0) this.eventsAppended.add(appended);
  }

  leaseExpired(outcome: string): void {
    this.leaseExpirations.add(1, { outcome });
  }

  toolCallBegun(decision: string): void {
    this.toolCallBegins.add(1, { decision });
  }

  toolCallCompleted(outcome: string): void {
    this.toolCallCompletions.add(1, { outcome });
  }

  signalConsumed(seconds: number): void {
    this.signalResume.record(Math.max(0, seconds));
  }

  eventsDelivered(events: readonly { recordedAt: bigint }[]): void {
    if (events.length === 0) return;
    const nowUs = Date.now() * 1000;
    for (const event of events) this.subscribeLag.record(Math.max(0, (nowUs - Number(event.recordedAt)) / 1e6));
  }

  observeJobStates(read: JobStateReader): () => void {
    let cached: JobStateCount[] = [];
    let readAt = Number.NEGATIVE_INFINITY;
    let inFlight: Promise<void> | undefined;
    // A tenant keeps reporting 0 once its jobs are gone, instead of its series going stale.
    const seen = new Set<string>();
    const refresh = (): Promise<void> => {
      inFlight ??= read()
        .then(
          (rows) => {
            cached = rows;
          },
          // A failed read keeps the last values; the next scrape after the TTL tries again.
          () => undefined,
        )
        .finally(() => {
          readAt = Date.now();
          inFlight = undefined;
        });
      return inFlight;
    };
    const callback = async (result: ObservableResult): Promise<void> => {
      if (Date.now() - readAt >= JOB_STATES_TTL_MS) await refresh();
      const counts = new Map<string, number>();
      for (const row of cached) {
        seen.add(row.tenant);
        counts.set(`${row.tenant}\u0000${row.state}`, row.count);
      }
      for (const tenant of seen) {
        for (const state of LIVE_JOB_STATES)
          result.observe(counts.get(`${tenant}\u0000${state}`) ?? 0, { tenant, state });
      }
    };
    this.jobs.addCallback(callback);
    return () => this.jobs.removeCallback(callback);
  }
}
