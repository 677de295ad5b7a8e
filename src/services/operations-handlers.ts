import {
  type GetSummaryRequest,
  type GetSummaryResponse,
  type ListStuckJobsRequest,
  type ListStuckJobsResponse,
  type ParkedWait,
  type StuckJob,
  StuckReason,
} from '../../gen/ts/aetheris/runtime/v1/runtime_service.js';
import type { Duration } from '../../gen/ts/google/protobuf/duration.js';
import { canonicalize } from '../domain/canonical-json.js';
import { formatDuration } from '../domain/durations.js';
import { invalidField } from '../domain/errors.js';
import type { Micros } from '../domain/records.js';
import { requireRange } from '../domain/validation.js';
import type { CallContext } from '../server/handlers.js';
import {
  getSummary,
  listStuckJobs,
  type ParkedWaitRecord,
  type StuckJobRecord,
  type StuckKind,
} from '../store/operations.js';
import type { ServiceDeps } from './deps.js';
import {
  durationFromMs,
  durationFromUs,
  jobStateToProto,
  jobToProto,
  msFromDuration,
  timestampFromUs,
} from './mappers.js';
import { decodeStuckPageToken, encodeStuckPageToken } from './page-token.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const DEFAULT_WINDOW_MS = HOUR_MS;
const MAX_WINDOW_MS = 30 * DAY_MS;
const DEFAULT_HEARTBEAT_THRESHOLD_MS = 2 * 60_000;
const MAX_HEARTBEAT_THRESHOLD_MS = 7 * DAY_MS;
const DEFAULT_RETRY_LOOP_ATTEMPTS = 3;

export async function handleGetSummary(
  deps: ServiceDeps,
  request: GetSummaryRequest,
  ctx: CallContext,
): Promise<GetSummaryResponse> {
  const windowMs = durationField('window', request.window, DEFAULT_WINDOW_MS, MAX_WINDOW_MS);
  // Always the caller's tenant: a cluster-wide view is deliberately not offered (docs/operations.md).
  const summary = await getSummary(deps.pool, ctx.principal.tenant, windowMs);
  const finished = summary.completedInWindow + summary.failedInWindow + summary.cancelledInWindow;
  return {
    counts: summary.counts.map((entry) => ({
      queue: entry.queue,
      state: jobStateToProto(entry.state),
      count: entry.count,
    })),
    oldestPendingAge:
      summary.oldestRunnableAt === null ? undefined : durationFromUs(summary.now - summary.oldestRunnableAt),
    runnableBacklog: summary.runnableBacklog,
    activeWorkers: summary.activeWorkers,
    failureRate: finished === 0n ? 0 : Number(summary.failedInWindow) / Number(finished),
    parked: summary.parked,
    parkedWaits: summary.parkedWaits.map(parkedWaitToProto),
    window: durationFromMs(windowMs),
    completedInWindow: summary.completedInWindow,
    failedInWindow: summary.failedInWindow,
    cancelledInWindow: summary.cancelledInWindow,
    asOf: timestampFromUs(summary.now),
  };
}

function parkedWaitToProto(wait: ParkedWaitRecord): ParkedWait {
  return {
    jobId: wait.jobId,
    queue: wait.queue,
    signalName: wait.waitingFor?.signalName ?? '',
    toolCallKey: wait.waitingFor?.toolCallKey ?? '',
    deadline: wait.deadline === null ? undefined : timestampFromUs(wait.deadline),
    parkedAt: wait.parkedAt === null ? undefined : timestampFromUs(wait.parkedAt),
  };
}

export async function handleListStuckJobs(
  deps: ServiceDeps,
  request: ListStuckJobsRequest,
  ctx: CallContext,
): Promise<ListStuckJobsResponse> {
  const heartbeatThresholdMs = durationField(
    'heartbeat_threshold',
    request.heartbeatThreshold,
    DEFAULT_HEARTBEAT_THRESHOLD_MS,
    MAX_HEARTBEAT_THRESHOLD_MS,
  );
  const retryLoopAttempts =
    request.retryLoopAttempts === 0
      ? DEFAULT_RETRY_LOOP_ATTEMPTS
      : requireRange('retry_loop_attempts', request.retryLoopAttempts, 1, 1000);
  const pageSize = request.pageSize === 0 ? 50 : requireRange('page_size', request.pageSize, 1, 500);
  // The thresholds decide which jobs are listed, so a token is only valid with the same ones.
  const filterKey = canonicalize({ heartbeatThresholdMs, retryLoopAttempts });
  const cursor = decodeStuckPageToken(request.pageToken, filterKey);
  const page = await listStuckJobs(deps.pool, {
    tenant: ctx.principal.tenant,
    heartbeatThresholdMs,
    retryLoopAttempts,
    cursor,
    limit: pageSize,
  });
  const now = page.now ?? 0n;
  const last = page.stuck.at(-1);
  return {
    stuckJobs: page.stuck.map((stuck) => stuckJobToProto(stuck, now, heartbeatThresholdMs)),
    nextPageToken: page.more && last ? encodeStuckPageToken({ since: last.since, jobId: last.job.id }, filterKey) : '',
  };
}

const TO_PROTO_REASON: Record<StuckKind, StuckReason> = {
  lease_expired: StuckReason.STUCK_REASON_LEASE_EXPIRED,
  no_heartbeat: StuckReason.STUCK_REASON_NO_HEARTBEAT,
  retry_loop: StuckReason.STUCK_REASON_RETRY_LOOP,
  tool_call_in_doubt: StuckReason.STUCK_REASON_TOOL_CALL_IN_DOUBT,
  wait_overdue: StuckReason.STUCK_REASON_WAIT_OVERDUE,
};

function stuckJobToProto(stuck: StuckJobRecord, now: Micros, heartbeatThresholdMs: number): StuckJob {
  const stuckForUs = now - stuck.since;
  return {
    job: jobToProto(stuck.job),
    reason: TO_PROTO_REASON[stuck.kind],
    stuckFor: durationFromUs(stuckForUs),
    detail: stuckDetail(stuck, now, heartbeatThresholdMs),
    stuckSince: timestampFromUs(stuck.since),
  };
}

/** The one line an operator reads: what is wrong, since when, and what to do. */
function stuckDetail(stuck: StuckJobRecord, now: Micros, heartbeatThresholdMs: number): string {
  const { job } = stuck;
  const ago = formatDuration(Number((now - stuck.since) / 1000n));
  const worker = job.leaseOwner ?? 'unknown';
  switch (stuck.kind) {
    case 'lease_expired':
      return (
        `the lease of worker ${worker} on attempt ${job.attempt} expired ${ago} ago without a heartbeat, and no ` +
        'lease sweeper has returned the job to the retry path: check that an aetheris server is running'
      );
    case 'no_heartbeat':
      return (
        `worker ${worker} has not heartbeated attempt ${job.attempt} for ${ago} (threshold ` +
        `${formatDuration(heartbeatThresholdMs)}); its lease runs until ${iso(job.leaseExpiresAt)}, then the sweeper ends the attempt`
      );
    case 'retry_loop': {
      const error = job.lastError ? `${job.lastError.reason}: ${job.lastError.message}` : 'no error recorded';
      const next =
        job.nextRunAt > now
          ? `next attempt at ${iso(job.nextRunAt)}`
          : `due again since ${formatDuration(Number((now - job.nextRunAt) / 1000n))} ago, waiting for a worker`;
      return `attempt ${job.attempt} of ${job.maxAttempts} failed (${error}); the first failure was ${ago} ago; ${next}`;
    }
    case 'tool_call_in_doubt': {
      const key = job.waitingFor?.toolCallKey ?? '';
      const tool = stuck.toolName ?? 'unknown tool';
      const started = stuck.toolCallAttempt === null ? '' : ` started by attempt ${stuck.toolCallAttempt}`;
      return (
        `tool call ${JSON.stringify(key)} (${tool})${started} may or may not have run; parked ${ago} ago until a ` +
        `person decides: aetheris signal resolve ${job.id} ${key} --retry | --skip <json> | --fail <message>`
      );
    }
    case 'wait_overdue':
      return (
        `the wait for signal ${JSON.stringify(job.waitingFor?.signalName ?? '')} passed its deadline ${ago} ago ` +
        'and no lease sweeper has resumed the job: check that an aetheris server is running'
      );
  }
}

function iso(us: Micros | null): string {
  return us === null ? 'unknown' : new Date(Number(us / 1000n)).toISOString();
}

/** An optional Duration field in ms: unset or zero means the default; negative or too long is rejected. */
function durationField(field: string, value: Duration | undefined, defaultMs: number, maxMs: number): number {
  if (!value || (value.seconds === 0n && value.nanos === 0)) return defaultMs;
  const ms = msFromDuration(value);
  if (value.seconds < 0n || value.nanos < 0 || ms <= 0 || ms > maxMs) {
    throw invalidField(field, `must be between 1ms and ${formatDuration(maxMs)}`);
  }
  return ms;
}
