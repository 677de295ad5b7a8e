/**
 * job_e2e (perf/gate/scenarios.json): `producers` closed-loop VUs call CreateJob with the creation
 * time (ms since the epoch) in the job's input; `workers` VUs run the worker protocol on the same
 * queue: AcquireJob (long poll) → `toolCalls` × (BeginToolCall, which must answer EXECUTE, +
 * CompleteToolCall) → CompleteJob. Measures jobs/s (completions in the window) and the
 * create-to-complete latency (completion time − the creation time carried in the input; producer
 * and worker VUs share k6's clock).
 *
 * The producers keep at most about BACKLOG_MAX jobs waiting (default: twice the workers, as the
 * driver) and stop at the end of the window; the workers go on for DRAIN_SECONDS (default 15, as
 * the driver) to finish the backlog. teardown() then lists the run's jobs that are not COMPLETED:
 * each one is a lost job.
 *
 *   k6 run -e MODE=full -e AETHERIS_API_KEY=… -e AETHERIS_WORKER_KEY=… perf/k6/job_e2e.ts
 *
 * Thresholds: jobsPerSecondMin → aetheris_jobs_completed{scenario:job_e2e} count>=limit·duration.
 */
import { sleep } from 'k6';
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import {
  type AcquireJobResponse,
  acquireJob,
  type BeginToolCallResponse,
  completeJob,
  countJobs,
  createJob,
  type ListJobsResponse,
  NOT_COMPLETED,
} from './lib/aetheris.ts';
import { buildPlan, env, inWindow, numberOf, pastWindow, readWholeNumber, requireKeys } from './lib/config.ts';
import { call, fail, jsonBytes, lost, parseJsonBytes, RUNTIME, runId, sha256Bytes } from './lib/grpc.ts';
import { type SummaryData, summarize } from './lib/summary.ts';

const GATE = 'job_e2e';
const COMPLETED = 'aetheris_jobs_completed';
const LATENCY = 'aetheris_job_e2e_latency';

const created = new Counter('aetheris_jobs_created');
const completed = new Counter(COMPLETED);
const latency = new Trend(LATENCY, true);

const plan = buildPlan([
  {
    gate: GATE,
    scenarios: [
      // Named like the gate scenario: its samples are the ones the thresholds select.
      { name: GATE, exec: 'work', vus: numberOf(GATE, 'workers'), extraSeconds: env.drainSeconds },
      { name: `${GATE}_producers`, exec: 'produce', vus: numberOf(GATE, 'producers') },
    ],
    metrics: { ops: COMPLETED, opsUnit: 'jobs', latency: LATENCY },
  },
]);
export const options = plan.options;

interface RunData {
  run: string;
  queue: string;
}

export function setup(): RunData {
  requireKeys();
  const run = runId();
  return { run, queue: `k6-e2e-${run}` };
}

/**
 * The producers pause while the queue holds BACKLOG_MAX runnable jobs (default: twice the
 * workers), so the workers never starve yet the latency measures the system, not an ever-growing
 * queue, and the drain can finish. Checked with ListJobs at most every BACKLOG_CHECK_MS per
 * producer: the bound is soft by what the producers create in between. BACKLOG_MAX=0: no bound.
 */
const BACKLOG_MAX = readWholeNumber('BACKLOG_MAX', 2 * numberOf(GATE, 'workers'));
const BACKLOG_CHECK_MS = 50;
let nextBacklogCheck = 0;

function backlogFull(queue: string): boolean {
  if (BACKLOG_MAX === 0 || Date.now() < nextBacklogCheck) return false;
  nextBacklogCheck = Date.now() + BACKLOG_CHECK_MS;
  const request = { queue, states: ['JOB_STATE_PENDING'], pageSize: Math.min(BACKLOG_MAX, 500) };
  const page = call<ListJobsResponse>(`${RUNTIME}/ListJobs`, request, 'admin');
  return page !== undefined && page.jobs.length >= Math.min(BACKLOG_MAX, 500);
}

export function produce(data: RunData): void {
  if (pastWindow()) return; // graceful stop: create nothing the window will not see
  if (backlogFull(data.queue)) {
    sleep(BACKLOG_CHECK_MS / 1000);
    return;
  }
  const job = createJob('perf.k6.e2e', data.queue, { createdAtMs: Date.now() });
  if (job) created.add(1);
}

const TOOL = 'perf.k6.tool';
const digests: string[] = [];

/** The args digest of tool call `n` (1-based): SHA-256 of its canonical arguments `{"n":n}`. */
function digestOf(n: number): string {
  let digest = digests[n];
  if (digest === undefined) {
    digest = sha256Bytes(JSON.stringify({ n }));
    digests[n] = digest;
  }
  return digest;
}

function createdAtOf(acquired: AcquireJobResponse): number {
  try {
    const input = parseJsonBytes(acquired.job?.input ?? '') as { createdAtMs?: unknown } | null;
    return typeof input?.createdAtMs === 'number' ? input.createdAtMs : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

export function work(data: RunData): void {
  const acquired = acquireJob(`k6-${data.run}-${exec.vu.idInTest}`, data.queue, '2s');
  const lease = acquired?.lease;
  if (!acquired || !lease) return; // nothing runnable within the long poll
  const { jobId, fencingToken } = lease;
  for (let n = 1; n <= numberOf(GATE, 'toolCalls'); n++) {
    const callKey = String(n);
    const begun = call<BeginToolCallResponse>(
      `${RUNTIME}/BeginToolCall`,
      { jobId, fencingToken, callKey, toolName: TOOL, argsDigest: digestOf(n), idempotent: false },
      'worker',
    );
    if (!begun) return;
    if (begun.decision !== 'TOOL_CALL_DECISION_EXECUTE') {
      fail('BeginToolCall', begun.decision, `job ${jobId} call ${callKey}: ${begun.detail}`);
      return;
    }
    const result = { jobId, fencingToken, callKey, result: jsonBytes({ n }) };
    if (!call<object>(`${RUNTIME}/CompleteToolCall`, result, 'worker')) return;
  }
  if (!completeJob(lease, { ok: true })) return;
  const done = Date.now();
  if (!inWindow(done)) return;
  completed.add(1);
  const createdAt = createdAtOf(acquired);
  if (Number.isFinite(createdAt)) latency.add(done - createdAt);
  else fail('AcquireJob', 'input', `job ${jobId}: no createdAtMs in its input`);
}

export function teardown(data: RunData): void {
  const unfinished = countJobs(data.queue, NOT_COMPLETED);
  if (unfinished === undefined) return; // counted as an error
  if (unfinished > 0) {
    lost.add(unfinished, { rpc: 'ListJobs' });
    console.error(
      `${unfinished} jobs of ${data.queue} not COMPLETED after the drain (DRAIN_SECONDS=${env.drainSeconds})`,
    );
  }
}

export function handleSummary(data: SummaryData): Record<string, string> {
  return summarize(GATE, plan, data);
}
