/**
 * replay (perf/gate/scenarios.json): setup() appends the mode's `replayEvents` events to one job
 * in AppendEvents calls of `batch` events; then `readers` VUs replay it over and over with
 * StreamEvents (from the start, no follow, `batch` events per message). Measures events/s (the
 * events of the messages received in the window) and the duration of one whole replay.
 *
 * Each replay must deliver the whole history (the job's head seq, `aetheris.job.created`
 * included); what is missing from a replay that ended normally counts as lost.
 *
 * k6 turns every received event into a JS object: at high rates the k6 VU, not the server, can
 * be the limit; the driver gate (Go) is the reference measurement.
 *
 *   k6 run -e MODE=full -e AETHERIS_API_KEY=… perf/k6/replay.ts
 *
 * Thresholds: eventsPerSecondMin → aetheris_replay_events{scenario:replay} count>=limit·duration.
 */
import { Counter, Trend } from 'k6/metrics';
import { type AppendEventsResponse, createJob, type StreamEventsResponse } from './lib/aetheris.ts';
import { buildPlan, inWindow, numberOf, requireKeys, timing } from './lib/config.ts';
import { call, codeName, fail, int64, jsonBytes, lost, RUNTIME, runId, serverStream } from './lib/grpc.ts';
import { type SummaryData, summarize } from './lib/summary.ts';

const GATE = 'replay';
const REPLAYS = 'aetheris_replays';
const EVENTS = 'aetheris_replay_events';
const DURATION = 'aetheris_replay_duration';

const replays = new Counter(REPLAYS);
const events = new Counter(EVENTS);
const duration = new Trend(DURATION, true);

const plan = buildPlan([
  {
    gate: GATE,
    scenarios: [{ name: GATE, exec: 'replay', vus: numberOf(GATE, 'readers') }],
    metrics: { ops: REPLAYS, opsUnit: 'replays', events: EVENTS, latency: DURATION },
  },
]);
export const options = plan.options;

interface RunData {
  jobId: string;
  /** The job's head seq: every replay must deliver this many events. */
  head: number;
}

export function setup(): RunData {
  requireKeys();
  const job = createJob('perf.k6.replay', `k6-replay-${runId()}`, { events: timing.replayEvents });
  if (!job) throw new Error('setup: CreateJob failed; see the errors above');
  const batch = numberOf(GATE, 'batch');
  let head = int64(job.headSeq);
  for (let written = 0; written < timing.replayEvents; ) {
    const size = Math.min(batch, timing.replayEvents - written);
    const list = Array.from({ length: size }, (_, i) => ({
      type: 'perf.k6.replay',
      payload: jsonBytes({ i: written + i }),
    }));
    const appended = call<AppendEventsResponse>(`${RUNTIME}/AppendEvents`, { jobId: job.id, events: list }, 'admin');
    if (!appended) throw new Error('setup: AppendEvents failed; see the errors above');
    head = int64(appended.lastSeq);
    written += size;
  }
  return { jobId: job.id, head };
}

export async function replay(data: RunData): Promise<void> {
  let received = 0;
  const started = Date.now();
  const end = await serverStream<StreamEventsResponse>(
    `${RUNTIME}/StreamEvents`,
    { jobId: data.jobId, afterSeq: '0', follow: false, maxBatch: numberOf(GATE, 'batch') },
    'admin',
    (message) => {
      const n = message.events.length;
      received += n;
      if (inWindow()) events.add(n);
    },
    { timeout: '120s' },
  );
  const done = Date.now();
  if (end.code !== 0) {
    fail('StreamEvents', codeName(end.code), end.message);
    return;
  }
  if (received < data.head) {
    lost.add(data.head - received, { rpc: 'StreamEvents' });
    fail('StreamEvents', 'short replay', `${received} events of ${data.head}`);
    return;
  }
  if (received > data.head) fail('StreamEvents', 'long replay', `${received} events, the history has ${data.head}`);
  if (inWindow(done)) {
    replays.add(1);
    duration.add(done - started);
  }
}

export function handleSummary(data: SummaryData): Record<string, string> {
  return summarize(GATE, plan, data);
}
