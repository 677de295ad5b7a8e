/**
 * subscribe (perf/gate/scenarios.json): one VU holds a tenant SubscribeEvents stream (from the
 * end, follow) for the whole scenario while the load of the scenario named by `during`
 * (append_1: `concurrency` VUs, `eventsPerCall` events per call, each to a job of its own) runs.
 * Lag = receipt time − the event's `recorded_at` (the database's clock when the event was
 * appended, before its commit), so the k6 machine and the database must share a clock (same host,
 * or NTP-synchronised hosts: the skew adds to every sample).
 *
 * The stream is filtered on this run's event type, so other traffic of the tenant is not
 * measured. Events of one job arrive in seq order: a gap in a job's seqs is a lost event.
 *
 *   k6 run -e MODE=full -e AETHERIS_API_KEY=… perf/k6/subscribe.ts
 *
 * Thresholds: p99MsMax → aetheris_subscribe_lag{scenario:subscribe} p(99)<=limit (ms).
 */
import { Counter, Trend } from 'k6/metrics';
import { StatusDeadlineExceeded } from 'k6/net/grpc';
import type { SubscribeEventsResponse } from './lib/aetheris.ts';
import { appendOwn } from './lib/appender.ts';
import { buildPlan, definition, inWindow, numberOf, requireKeys, timing } from './lib/config.ts';
import { codeName, fail, int64, lost, RUNTIME, runId, serverStream, timestampMs } from './lib/grpc.ts';
import { type SummaryData, summarize } from './lib/summary.ts';

const GATE = 'subscribe';
const EVENTS = 'aetheris_subscribe_events';
const LAG = 'aetheris_subscribe_lag';

const received = new Counter(EVENTS);
const lag = new Trend(LAG, true);

/** The scenario whose load runs under the subscription (append_1). */
const during = definition(GATE).during ?? '';
if (!during) throw new Error('perf/gate/scenarios.json: subscribe.during must name the scenario to run under it');

const plan = buildPlan([
  {
    gate: GATE,
    scenarios: [
      // One long iteration: the stream is held until its deadline, the end of the window.
      { name: GATE, exec: 'subscribe', vus: 1, single: true },
      { name: `${GATE}_appenders`, exec: 'append', vus: numberOf(during, 'concurrency') },
    ],
    metrics: { ops: EVENTS, opsUnit: 'events', events: EVENTS, latency: LAG },
  },
]);
export const options = plan.options;

interface RunData {
  queue: string;
  eventType: string;
}

export function setup(): RunData {
  requireKeys();
  const run = runId();
  return { queue: `k6-subscribe-${run}`, eventType: `perf.k6.subscribe.${run}` };
}

export function append(data: RunData): void {
  appendOwn(data.queue, data.eventType, numberOf(during, 'eventsPerCall'));
}

export async function subscribe(data: RunData): Promise<void> {
  const lastSeq = new Map<string, number>();
  // The stream ends itself at the end of the window (DEADLINE_EXCEEDED, expected), within the
  // iteration's maxDuration (the window plus the graceful stop).
  const seconds = timing.warmupSeconds + timing.durationSeconds;
  const end = await serverStream<SubscribeEventsResponse>(
    `${RUNTIME}/SubscribeEvents`,
    { fromEnd: true, follow: true, filter: { eventTypes: [data.eventType] } },
    'admin',
    (message) => {
      const now = Date.now();
      const counting = inWindow(now);
      for (const event of message.events) {
        const seq = int64(event.seq);
        const previous = lastSeq.get(event.jobId);
        if (previous !== undefined && seq > previous + 1) {
          lost.add(seq - previous - 1, { rpc: 'SubscribeEvents' });
          fail('SubscribeEvents', 'gap', `job ${event.jobId}: seq ${seq} after ${previous}`);
        }
        lastSeq.set(event.jobId, seq);
        if (!counting) continue;
        const recordedAt = timestampMs(event.recordedAt);
        if (!Number.isFinite(recordedAt)) {
          fail('SubscribeEvents', 'recorded_at', `event ${event.jobId}/${event.seq} without a valid recorded_at`);
          continue;
        }
        received.add(1);
        lag.add(now - recordedAt);
      }
    },
    { timeout: `${seconds}s` },
  );
  if (end.code !== 0 && end.code !== StatusDeadlineExceeded) {
    fail('SubscribeEvents', codeName(end.code), end.message);
  }
}

export function handleSummary(data: SummaryData): Record<string, string> {
  return summarize(GATE, plan, data);
}
