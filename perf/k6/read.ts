/**
 * read_get and read_list (perf/gate/scenarios.json), one after the other: `concurrency`
 * closed-loop VUs calling GetJob over `jobs` jobs made by setup (round robin), then ListJobs with
 * `pageSize` (no filter: the tenant's newest jobs, as the ghz gate asks). Measures calls/s and the
 * call latency over the window.
 *
 *   k6 run -e MODE=full -e AETHERIS_API_KEY=… -e REFERENCE_RATE_ECHO=<echo calls/s> perf/k6/read.ts
 *
 * Thresholds: ratioToReferenceMin (calls/s ÷ the echo server's calls/s at the same concurrency)
 * needs REFERENCE_RATE_ECHO (or REFERENCE_RATE); without it only errors and progress are checked.
 */
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import { createJob, type JobJson, type ListJobsResponse } from './lib/aetheris.ts';
import { buildPlan, type GateGroup, inWindow, numberOf, requireKeys } from './lib/config.ts';
import { call, fail, RUNTIME, runId } from './lib/grpc.ts';
import { type SummaryData, summarize } from './lib/summary.ts';

const CALLS = 'aetheris_read_calls';
const LATENCY = 'aetheris_read_latency';

const calls = new Counter(CALLS);
const latency = new Trend(LATENCY, true);

const group = (gate: string, exec: string): GateGroup => ({
  gate,
  scenarios: [{ name: gate, exec, vus: numberOf(gate, 'concurrency') }],
  metrics: { ops: CALLS, opsUnit: 'calls', latency: LATENCY, ratioOf: 'ops' },
});

const plan = buildPlan([group('read_get', 'readGet'), group('read_list', 'readList')]);
export const options = plan.options;

interface RunData {
  jobIds: string[];
}

export function setup(): RunData {
  requireKeys();
  const queue = `k6-read-${runId()}`; // no worker polls it: the jobs stay PENDING
  const jobIds: string[] = [];
  for (let i = 0; i < numberOf('read_get', 'jobs'); i++) {
    const job = createJob('perf.k6.read', queue, { i });
    if (!job) throw new Error('setup: CreateJob failed; see the errors above');
    jobIds.push(job.id);
  }
  return { jobIds };
}

function timed<T>(method: string, request: object): T | undefined {
  const started = Date.now();
  const response = call<T>(`${RUNTIME}/${method}`, request, 'admin');
  const done = Date.now();
  if (response !== undefined && inWindow(done)) {
    calls.add(1);
    latency.add(done - started);
  }
  return response;
}

export function readGet(data: RunData): void {
  const jobId = data.jobIds[exec.scenario.iterationInTest % data.jobIds.length] ?? '';
  const response = timed<{ job: JobJson | null }>('GetJob', { jobId });
  if (response && response.job?.id !== jobId) fail('GetJob', 'wrong job', `asked ${jobId}, got ${response.job?.id}`);
}

export function readList(): void {
  const pageSize = numberOf('read_list', 'pageSize');
  const response = timed<ListJobsResponse>('ListJobs', { pageSize });
  if (response && response.jobs.length === 0) fail('ListJobs', 'empty', 'the tenant has jobs but the page is empty');
}

export function handleSummary(data: SummaryData): Record<string, string> {
  return summarize('read', plan, data);
}
