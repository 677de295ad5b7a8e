/**
 * The Aetheris calls the scripts make, with the JSON shapes k6 gives their responses (field names
 * in lowerCamelCase, unset messages as null, 64-bit integers and bytes as strings, enums as
 * names). Only the fields the scripts read are declared.
 */
import { call, callAsync, fail, jsonBytes, RUNTIME, SIGNALS } from './grpc.ts';

export interface JobJson {
  id: string;
  queue: string;
  state: string;
  /** base64 of the canonical JSON input. */
  input: string;
  headSeq: string;
}

export interface LeaseJson {
  jobId: string;
  fencingToken: string;
  attempt: number;
}

export interface EventJson {
  jobId: string;
  seq: string;
  type: string;
  recordedAt: string | null;
}

export interface CreateJobResponse {
  job: JobJson | null;
  created: boolean;
}

export interface AcquireJobResponse {
  lease: LeaseJson | null;
  job: JobJson | null;
}

export interface AppendEventsResponse {
  firstSeq: string;
  lastSeq: string;
  duplicate: boolean;
}

export interface BeginToolCallResponse {
  decision: string;
  detail: string;
}

export interface AwaitSignalResponse {
  outcome: string;
  detail: string;
}

export interface SendSignalResponse {
  signal: { id: string; state: string } | null;
  duplicate: boolean;
  jobState: string;
}

export interface ListJobsResponse {
  jobs: JobJson[];
  nextPageToken: string;
}

export interface StreamEventsResponse {
  events: EventJson[];
  caughtUp: boolean;
  jobState: string;
}

export interface SubscribeEventsResponse {
  events: EventJson[];
  caughtUp: boolean;
}

/** The states of a job that is not finished, or finished otherwise than COMPLETED. */
export const NOT_COMPLETED = [
  'JOB_STATE_PENDING',
  'JOB_STATE_RUNNING',
  'JOB_STATE_PARKED',
  'JOB_STATE_RETRYING',
  'JOB_STATE_FAILED',
  'JOB_STATE_CANCELLED',
];

/** CreateJob with a JSON input; the job, or undefined after counting the error. */
export function createJob(jobType: string, queue: string, input: unknown): JobJson | undefined {
  const response = call<CreateJobResponse>(
    `${RUNTIME}/CreateJob`,
    { jobType, queue, input: jsonBytes(input) },
    'admin',
  );
  if (response && !response.job) fail('CreateJob', 'no job', 'the response carries no job');
  return response?.job ?? undefined;
}

/** The AcquireJob request of a worker polling one queue. */
export const acquireRequest = (workerId: string, queue: string, wait: string) => ({
  workerId,
  queues: [queue],
  wait,
  // Long enough that no scenario needs heartbeats.
  leaseDuration: '60s',
});

/** AcquireJob: the response (lease null when nothing became runnable in time), or undefined on error. */
export function acquireJob(workerId: string, queue: string, wait: string): AcquireJobResponse | undefined {
  return call<AcquireJobResponse>(`${RUNTIME}/AcquireJob`, acquireRequest(workerId, queue, wait), 'worker');
}

/** AcquireJob without blocking the VU. */
export function acquireJobAsync(
  workerId: string,
  queue: string,
  wait: string,
): Promise<AcquireJobResponse | undefined> {
  return callAsync<AcquireJobResponse>(`${RUNTIME}/AcquireJob`, acquireRequest(workerId, queue, wait), 'worker');
}

/** CompleteJob with a JSON output; true when it succeeded. */
export function completeJob(lease: LeaseJson, output: unknown): boolean {
  const request = { jobId: lease.jobId, fencingToken: lease.fencingToken, output: jsonBytes(output) };
  return call<object>(`${RUNTIME}/CompleteJob`, request, 'worker') !== undefined;
}

/** SendSignal without blocking the VU. */
export function sendSignalAsync(
  jobId: string,
  name: string,
  payload: unknown,
  signalId: string,
): Promise<SendSignalResponse | undefined> {
  const request = { jobId, name, payload: jsonBytes(payload), signalId };
  return callAsync<SendSignalResponse>(`${SIGNALS}/SendSignal`, request, 'admin');
}

/** Counts the jobs of `queue` in `states` (all pages of ListJobs). */
export function countJobs(queue: string, states: string[]): number | undefined {
  let total = 0;
  let pageToken = '';
  for (;;) {
    const page = call<ListJobsResponse>(`${RUNTIME}/ListJobs`, { queue, states, pageSize: 500, pageToken }, 'admin');
    if (!page) return undefined;
    total += page.jobs.length;
    if (!page.nextPageToken) return total;
    pageToken = page.nextPageToken;
  }
}
