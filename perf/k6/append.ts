/**
 * append_1 and append_100 (perf/gate/scenarios.json): `concurrency` closed-loop VUs, each
 * appending `eventsPerCall` events per AppendEvents call to a job of its own, one scenario after
 * the other. Measures calls/s, events/s and the call latency over the window; checks the sequence
 * numbers for lost events (lib/appender.ts).
 *
 *   k6 run -e MODE=full -e AETHERIS_ADDRESS=127.0.0.1:50051 -e AETHERIS_API_KEY=… perf/k6/append.ts
 *   k6 run -e SCENARIOS=append_100 … perf/k6/append.ts
 *
 * Thresholds: append_100 eventsPerSecondMin → aetheris_append_events{scenario:append_100}
 * count>=limit·duration; append_1 ratioToReferenceMin (events/s ÷ pgbench one-row inserts/s)
 * only with -e REFERENCE_RATE_PGBENCH_INSERT_1=<inserts/s>.
 */
import { Counter, Trend } from 'k6/metrics';
import { appendOwn } from './lib/appender.ts';
import { buildPlan, type GateGroup, inWindow, numberOf, requireKeys } from './lib/config.ts';
import { runId } from './lib/grpc.ts';
import { type SummaryData, summarize } from './lib/summary.ts';

const CALLS = 'aetheris_append_calls';
const EVENTS = 'aetheris_append_events';
const LATENCY = 'aetheris_append_latency';

const calls = new Counter(CALLS);
const events = new Counter(EVENTS);
const latency = new Trend(LATENCY, true);

const group = (gate: string, exec: string): GateGroup => ({
  gate,
  scenarios: [{ name: gate, exec, vus: numberOf(gate, 'concurrency') }],
  metrics: { ops: CALLS, opsUnit: 'calls', events: EVENTS, latency: LATENCY, ratioOf: 'events' },
});

const plan = buildPlan([group('append_1', 'append1'), group('append_100', 'append100')]);
export const options = plan.options;

interface RunData {
  queue: string;
}

export function setup(): RunData {
  requireKeys();
  return { queue: `k6-append-${runId()}` };
}

function appendOnce(data: RunData, gate: string): void {
  const appended = appendOwn(data.queue, 'perf.k6.step', numberOf(gate, 'eventsPerCall'));
  if (appended.events === 0 || !inWindow()) return;
  calls.add(1);
  events.add(appended.events);
  latency.add(appended.ms);
}

export function append1(data: RunData): void {
  appendOnce(data, 'append_1');
}

export function append100(data: RunData): void {
  appendOnce(data, 'append_100');
}

export function handleSummary(data: SummaryData): Record<string, string> {
  return summarize('append', plan, data);
}
