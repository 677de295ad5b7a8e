/**
 * signal_resume (perf/gate/scenarios.json): signal-to-resume latency, from just before SendSignal
 * until the worker holds the job again. Each of `senders` VUs loops, alone on a queue of its own:
 *
 *   CreateJob → AcquireJob → AwaitSignal (no signal yet: PARKED, lease released)
 *   → AcquireJob long poll in flight (asyncInvoke) → SendSignal → the long poll returns the job
 *   → CompleteJob
 *
 * The latency is SendSignal's start → the long poll's response (both async, so each callback runs
 * when its response arrives). A resume that never comes (the long poll returns empty) is a lost
 * job. k6 VUs cannot hand jobs to each other, so each VU is its own worker: the driver's separate
 * `workers` count has no k6 counterpart; the number of resumes in flight is `senders`, as there.
 *
 *   k6 run -e MODE=full -e AETHERIS_API_KEY=… -e AETHERIS_WORKER_KEY=… perf/k6/signal_resume.ts
 *
 * Thresholds: p99MsMax → aetheris_signal_resume_latency{scenario:signal_resume} p(99)<=limit.
 */
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import { setTimeout } from 'k6/timers';
import {
  type AwaitSignalResponse,
  acquireJob,
  acquireJobAsync,
  completeJob,
  createJob,
  sendSignalAsync,
} from './lib/aetheris.ts';
import { buildPlan, inWindow, numberOf, readWholeNumber, requireKeys } from './lib/config.ts';
import { call, fail, lost, RUNTIME, runId, uuidv4 } from './lib/grpc.ts';
import { type SummaryData, summarize } from './lib/summary.ts';

const GATE = 'signal_resume';
const RESUMES = 'aetheris_signal_resumes';
const LATENCY = 'aetheris_signal_resume_latency';
const SIGNAL = 'approval';
/** Pause between starting the long poll and sending, so the poll is parked at the server. */
const POLL_SETTLE_MS = readWholeNumber('POLL_SETTLE_MS', 20);

const resumes = new Counter(RESUMES);
const latency = new Trend(LATENCY, true);

const plan = buildPlan([
  {
    gate: GATE,
    scenarios: [{ name: GATE, exec: 'resume', vus: numberOf(GATE, 'senders') }],
    metrics: { ops: RESUMES, opsUnit: 'resumes', latency: LATENCY },
  },
]);
export const options = plan.options;

interface RunData {
  run: string;
}

export function setup(): RunData {
  requireKeys();
  return { run: runId() };
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function resume(data: RunData): Promise<void> {
  const queue = `k6-signal-${data.run}-${exec.vu.idInTest}`;
  const workerId = `k6-${data.run}-${exec.vu.idInTest}`;
  const job = createJob('perf.k6.signal', queue, { approval: true });
  if (!job) return;

  // First run of the handler: it waits for the signal, which is not there yet, so the job parks.
  const first = acquireJob(workerId, queue, '5s')?.lease;
  if (!first) {
    fail('AcquireJob', 'no lease', `job ${job.id} was not leased on its own queue`);
    return;
  }
  const waited = call<AwaitSignalResponse>(
    `${RUNTIME}/AwaitSignal`,
    { jobId: first.jobId, fencingToken: first.fencingToken, callKey: '1', signalName: SIGNAL },
    'worker',
  );
  if (!waited) return;
  if (waited.outcome !== 'AWAIT_SIGNAL_OUTCOME_PARKED') {
    fail('AwaitSignal', waited.outcome, `job ${job.id}: expected PARKED ${waited.detail}`);
    return;
  }

  // The worker's long poll, then the signal that wakes it.
  let resumedAt = 0;
  const polling = acquireJobAsync(workerId, queue, '10s').then((response) => {
    resumedAt = Date.now();
    return response;
  });
  await pause(POLL_SETTLE_MS);
  const sentAt = Date.now();
  const sent = await sendSignalAsync(job.id, SIGNAL, { approved: true }, uuidv4());
  if (sent && sent.jobState !== 'JOB_STATE_PENDING') {
    fail('SendSignal', sent.jobState, `job ${job.id}: the signal did not wake the parked job`);
  }
  const acquired = await polling;
  if (!sent || !acquired) return; // counted as an error (an unsignalled job is not a lost one)
  const lease = acquired.lease;
  if (!lease) {
    lost.add(1, { rpc: 'AcquireJob' });
    fail('AcquireJob', 'not resumed', `job ${job.id}: not runnable within the long poll after SendSignal`);
    return;
  }
  if (lease.jobId !== job.id) {
    fail('AcquireJob', 'wrong job', `leased ${lease.jobId} instead of ${job.id}`);
    return;
  }
  if (inWindow(resumedAt)) {
    resumes.add(1);
    latency.add(resumedAt - sentAt);
  }
  // The replay answers the wait from the ledger the lease brought; the handler then returns.
  completeJob(lease, { approved: true });
}

export function handleSummary(data: SummaryData): Record<string, string> {
  return summarize(GATE, plan, data);
}
