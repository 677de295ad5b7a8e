import type { CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { JobState } from '../domain/job-state.js';
import type { JobRecord, Micros, WaitRecord } from '../domain/records.js';
import { usToTimestamp } from './jobs.js';
import { jobRow, toJobRecord } from './rows.js';
import { columns, JOB_COLUMN_NAMES, sql } from './sql.js';

// Operational views of one tenant (docs/operations.md). Every statement filters on the tenant
// first: there is no cross-tenant view here. Times come from the database clock, read once per
// statement, so ages and windows are consistent with the rows they describe.

const jobColumns = columns('j', JOB_COLUMN_NAMES);

/** How many parked waits a summary lists (nearest deadline first). */
export const SUMMARY_PARKED_WAITS = 50;

/** A parked job and what it waits for. */
export interface ParkedWaitRecord {
  jobId: string;
  queue: string;
  waitingFor: WaitRecord | null;
  deadline: Micros | null;
  parkedAt: Micros | null;
}

/** The numbers behind GetSummary. */
export interface SummaryRecord {
  now: Micros;
  counts: { queue: string; state: JobState; count: bigint }[];
  runnableBacklog: bigint;
  /** next_run_at of the longest-waiting runnable job. */
  oldestRunnableAt: Micros | null;
  activeWorkers: number;
  parked: bigint;
  parkedWaits: ParkedWaitRecord[];
  completedInWindow: bigint;
  failedInWindow: bigint;
  cancelledInWindow: bigint;
}

const summaryRow = z.object({
  now: z.bigint(),
  counts: z.array(z.object({ queue: z.string(), state: z.custom<JobState>(), count: z.number() })),
  runnable_backlog: z.bigint(),
  oldest_runnable_at: z.bigint().nullable(),
  active_workers: z.bigint(),
  parked: z.bigint(),
  parked_waits: z.array(
    z.object({
      job_id: z.string(),
      queue: z.string(),
      waiting_for: z.custom<WaitRecord>().nullable(),
      deadline_us: z.string().nullable(),
      parked_at_us: z.string().nullable(),
    }),
  ),
  completed_in_window: z.bigint(),
  failed_in_window: z.bigint(),
  cancelled_in_window: z.bigint(),
});

/**
 * One tenant's summary in one statement: counts by queue and state (with the terminal counts of
 * the window in the same pass), the runnable backlog and its oldest job (the `jobs_runnable_in_order`
 * index), live leases (`jobs_live_leases`), and the nearest parked waits.
 */
export async function getSummary(db: CommonQueryMethods, tenant: string, windowMs: number): Promise<SummaryRecord> {
  const row = await db.one(sql.type(summaryRow)`
    with clock as (select clock_timestamp() as now),
    grouped as (
      select j.queue, j.state, count(*) as n,
             count(*) filter (where j.finished_at >= c.now - ${windowMs} * interval '1 millisecond') as in_window
        from aetheris.jobs j, clock c
       where j.tenant_id = ${tenant}
       group by j.queue, j.state
    ),
    runnable as (
      select count(*) as backlog, min(j.next_run_at) as oldest
        from aetheris.jobs j, clock c
       where j.tenant_id = ${tenant} and j.state in ('pending', 'retrying') and j.next_run_at <= c.now
    ),
    waits as (
      select j.job_id, j.queue, j.waiting_for, j.wait_deadline, j.updated_at
        from aetheris.jobs j
       where j.tenant_id = ${tenant} and j.state = 'parked'
       order by j.wait_deadline asc nulls last, j.updated_at, j.job_id
       limit ${SUMMARY_PARKED_WAITS}
    )
    select c.now,
           (select coalesce(jsonb_agg(jsonb_build_object('queue', g.queue, 'state', g.state, 'count', g.n)
                                      order by g.queue, g.state), '[]'::jsonb)
              from grouped g) as counts,
           r.backlog as runnable_backlog,
           r.oldest as oldest_runnable_at,
           (select count(distinct j.lease_owner) from aetheris.jobs j
             where j.tenant_id = ${tenant} and j.state = 'running' and j.lease_expires_at > c.now) as active_workers,
           (select coalesce(sum(g.n), 0)::bigint from grouped g where g.state = 'parked') as parked,
           (select coalesce(jsonb_agg(jsonb_build_object(
                     'job_id', w.job_id, 'queue', w.queue, 'waiting_for', w.waiting_for,
                     'deadline_us', aetheris.to_us(w.wait_deadline)::text,
                     'parked_at_us', aetheris.to_us(p.recorded_at)::text)
                   order by w.wait_deadline asc nulls last, w.updated_at, w.job_id), '[]'::jsonb)
              from waits w
              left join lateral (
                select e.recorded_at from aetheris.events e
                 where e.tenant_id = ${tenant} and e.job_id = w.job_id and e.type = 'aetheris.job.parked'
                 order by e.seq desc limit 1) p on true) as parked_waits,
           (select coalesce(sum(g.in_window), 0)::bigint from grouped g where g.state = 'completed')
             as completed_in_window,
           (select coalesce(sum(g.in_window), 0)::bigint from grouped g where g.state = 'failed') as failed_in_window,
           (select coalesce(sum(g.in_window), 0)::bigint from grouped g where g.state = 'cancelled')
             as cancelled_in_window
      from clock c, runnable r`);
  return {
    now: row.now,
    counts: row.counts.map((entry) => ({ queue: entry.queue, state: entry.state, count: BigInt(entry.count) })),
    runnableBacklog: row.runnable_backlog,
    oldestRunnableAt: row.oldest_runnable_at,
    activeWorkers: Number(row.active_workers),
    parked: row.parked,
    parkedWaits: row.parked_waits.map((wait) => ({
      jobId: wait.job_id,
      queue: wait.queue,
      waitingFor: wait.waiting_for,
      deadline: wait.deadline_us === null ? null : BigInt(wait.deadline_us),
      parkedAt: wait.parked_at_us === null ? null : BigInt(wait.parked_at_us),
    })),
    completedInWindow: row.completed_in_window,
    failedInWindow: row.failed_in_window,
    cancelledInWindow: row.cancelled_in_window,
  };
}

/** Why a job is stuck, as the store names it. */
export type StuckKind = 'lease_expired' | 'no_heartbeat' | 'retry_loop' | 'tool_call_in_doubt' | 'wait_overdue';

/** A stuck job with what its detail line needs. */
export interface StuckJobRecord {
  kind: StuckKind;
  job: JobRecord;
  /** When the condition began; stuck for `now - since`. */
  since: Micros;
  /** For in-doubt calls: the tool and the attempt that started it. */
  toolName: string | null;
  toolCallAttempt: number | null;
}

/** Keyset cursor of {@link listStuckJobs}: longest stuck first is `since` ascending. */
export interface StuckCursor {
  since: Micros;
  jobId: string;
}

const stuckRow = jobRow.extend({
  kind: z.custom<StuckKind>(),
  since: z.bigint(),
  now: z.bigint(),
  tool_name: z.string().nullable(),
  tool_call_attempt: z.number().nullable(),
});

/**
 * One page of the tenant's stuck jobs, longest stuck first, in one statement. Each job has at
 * most one reason (they are exclusive by state and condition). The rules are those of
 * docs/operations.md; keep the two in step. `now` is the statement's clock (null on an empty page).
 */
export async function listStuckJobs(
  db: CommonQueryMethods,
  params: {
    tenant: string;
    heartbeatThresholdMs: number;
    retryLoopAttempts: number;
    cursor: StuckCursor | null;
    limit: number;
  },
): Promise<{ now: Micros | null; stuck: StuckJobRecord[]; more: boolean }> {
  const { tenant } = params;
  const after = params.cursor
    ? sql.fragment`and (s.since, s.job_id) > (${usToTimestamp(params.cursor.since)}, ${params.cursor.jobId}::uuid)`
    : sql.fragment``;
  const rows = await db.any(sql.type(stuckRow)`
    with clock as (select clock_timestamp() as now),
    stuck as (
      -- The sweeper returns an expired lease within about a second: one that stays is a stalled sweeper.
      select j.job_id, 'lease_expired' as kind, j.lease_expires_at as since
        from aetheris.jobs j, clock c
       where j.tenant_id = ${tenant} and j.state = 'running' and j.lease_expires_at < c.now
      union all
      -- A live lease whose worker went quiet: only leases longer than the threshold get here.
      select j.job_id, 'no_heartbeat', coalesce(j.heartbeat_at, j.attempt_started_at)
        from aetheris.jobs j, clock c
       where j.tenant_id = ${tenant} and j.state = 'running' and j.lease_expires_at >= c.now
         and coalesce(j.heartbeat_at, j.attempt_started_at)
             < c.now - ${params.heartbeatThresholdMs} * interval '1 millisecond'
      union all
      -- Stuck since the job's first failed attempt.
      select j.job_id, 'retry_loop', coalesce(f.first_failed_at, j.updated_at)
        from aetheris.jobs j
        left join lateral (
          select min(e.recorded_at) as first_failed_at from aetheris.events e
           where e.tenant_id = j.tenant_id and e.job_id = j.job_id and e.type = 'aetheris.attempt.failed') f on true
       where j.tenant_id = ${tenant} and j.state = 'retrying' and j.attempt >= ${params.retryLoopAttempts}
      union all
      -- Stuck since it was parked on the call.
      select j.job_id, 'tool_call_in_doubt', coalesce(p.parked_at, j.updated_at)
        from aetheris.jobs j
        left join lateral (
          select e.recorded_at as parked_at from aetheris.events e
           where e.tenant_id = j.tenant_id and e.job_id = j.job_id and e.type = 'aetheris.job.parked'
           order by e.seq desc limit 1) p on true
       where j.tenant_id = ${tenant} and j.state = 'parked' and j.waiting_for ? 'toolCallKey'
      union all
      -- The sweeper resumes an overdue wait within about a second, like an expired lease.
      select j.job_id, 'wait_overdue', j.wait_deadline
        from aetheris.jobs j, clock c
       where j.tenant_id = ${tenant} and j.state = 'parked' and j.wait_deadline < c.now
         and not j.waiting_for ? 'toolCallKey'
    )
    select s.kind, s.since, c.now, t.tool_name, t.attempt as tool_call_attempt, ${jobColumns}
      from stuck s
      cross join clock c
      join aetheris.jobs j on j.tenant_id = ${tenant} and j.job_id = s.job_id
      left join aetheris.tool_calls t
        on s.kind = 'tool_call_in_doubt' and t.tenant_id = ${tenant} and t.job_id = s.job_id
       and t.call_key = j.waiting_for ->> 'toolCallKey'
     where true ${after}
     order by s.since, s.job_id
     limit ${params.limit + 1}`);
  return {
    now: rows[0]?.now ?? null,
    stuck: rows.slice(0, params.limit).map((row) => ({
      kind: row.kind,
      job: toJobRecord(row),
      since: row.since,
      toolName: row.tool_name,
      toolCallAttempt: row.tool_call_attempt,
    })),
    more: rows.length > params.limit,
  };
}
