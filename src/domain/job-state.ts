/** Job states as stored (lower case) and their relations. Pure. */
export const JobState = {
  PENDING: 'pending',
  RUNNING: 'running',
  PARKED: 'parked',
  RETRYING: 'retrying',
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
} as const;
export type JobState = (typeof JobState)[keyof typeof JobState];

export const ALL_JOB_STATES: readonly JobState[] = Object.values(JobState);

const TERMINAL: ReadonlySet<JobState> = new Set([JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED]);

/** A terminal job never changes again. */
export function isTerminal(state: JobState): boolean {
  return TERMINAL.has(state);
}

/** Event types written by the runtime itself; clients cannot append the `aetheris.` prefix. */
export const SystemEventType = {
  JOB_CREATED: 'aetheris.job.created',
  JOB_CANCELLED: 'aetheris.job.cancelled',
} as const;

export const SYSTEM_EVENT_PREFIX = 'aetheris.';
