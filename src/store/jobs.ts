import type { CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { JobState } from '../domain/job-state.js';
import type { JobRecord, Micros, RetryPolicyRecord } from '../domain/records.js';
import { jobRow, toJobRecord } from './rows.js';
import { arrayArguments, columns, JOB_COLUMN_NAMES, sql } from './sql.js';

const jobColumns = columns('j', JOB_COLUMN_NAMES);
const outcomeJobRow = jobRow.extend({ outcome: z.string() });

/** Everything `aetheris.create_job` needs; payloads are canonical JSON text. */
export interface CreateJobParams {
  tenant: string;
  jobId: string;
  jobType: string;
  queue: string;
  input: string;
  priority: number;
  retryPolicy: RetryPolicyRecord;
  labels: Record<string, string>;
  idempotencyKey: string | null;
  requestDigest: Buffer;
  runAt: Micros | null;
  attemptTimeoutUs: bigint;
  event: { eventId: string; payload: string; digest: Buffer };
  actor: string;
  requiredCapabilities: string[];
  /** W3C traceparent of the creating call, handed to the worker with the lease; null when none. */
  traceParent: string | null;
}

export type CreateJobOutcome =
  | { kind: 'created'; job: JobRecord }
  | { kind: 'existing'; job: JobRecord }
  | { kind: 'idempotency_conflict'; job: JobRecord };

/** Creates a job and its `aetheris.job.created` event in one statement. */
export async function createJob(db: CommonQueryMethods, params: CreateJobParams): Promise<CreateJobOutcome> {
  const row = await db.one(sql.type(outcomeJobRow)`
    select c.outcome, (c.job).* from aetheris.create_job(
      ${params.tenant}, ${params.jobId}::uuid, ${params.jobType}, ${params.queue}, ${params.input},
      ${params.priority}, ${params.retryPolicy.maxAttempts}, ${sql.jsonb({ ...params.retryPolicy })},
      ${sql.jsonb(params.labels)}, ${params.idempotencyKey}, ${sql.binary(params.requestDigest)},
      ${params.runAt === null ? null : usToTimestamp(params.runAt)},
      ${params.attemptTimeoutUs}, ${params.event.eventId}::uuid, ${params.event.payload},
      ${sql.binary(params.event.digest)}, ${params.actor}, ${sql.array(params.requiredCapabilities, 'text')},
      ${params.traceParent}) c`);
  return toCreateJobOutcome(row);
}

const createBatchRow = outcomeJobRow.extend({ ord: z.number() });
export type CreateJobBatchRow = z.infer<typeof createBatchRow>;

/**
 * Creates many jobs in one statement and one transaction (group commit), one row per request in
 * request order; each row becomes its outcome through {@link toCreateJobOutcome}.
 */
export function createJobs(
  db: CommonQueryMethods,
  all: readonly CreateJobParams[],
): Promise<readonly CreateJobBatchRow[]> {
  return db.any(sql.type(createBatchRow)`
    select c.ord, c.outcome, (c.job).* from aetheris.create_job_batch(
      ${arrayArguments(all, [
        [(p) => p.tenant, 'text'],
        [(p) => p.jobId, 'uuid'],
        [(p) => p.jobType, 'text'],
        [(p) => p.queue, 'text'],
        [(p) => p.input, 'text'],
        [(p) => p.priority, 'int4'],
        [(p) => p.retryPolicy.maxAttempts, 'int4'],
        [(p) => JSON.stringify(p.retryPolicy), 'text'],
        [(p) => JSON.stringify(p.labels), 'text'],
        [(p) => p.idempotencyKey, 'text'],
        [(p) => p.requestDigest, 'bytea'],
        [(p) => p.runAt, 'int8'],
        [(p) => p.attemptTimeoutUs, 'int8'],
        [(p) => p.event.eventId, 'uuid'],
        [(p) => p.event.payload, 'text'],
        [(p) => p.event.digest, 'bytea'],
        [(p) => p.actor, 'text'],
        [(p) => JSON.stringify(p.requiredCapabilities), 'text'],
        [(p) => p.traceParent, 'text'],
      ])}) c order by c.ord`);
}

/** A created (or found) job row as CreateJob's outcome. */
export function toCreateJobOutcome(row: z.infer<typeof outcomeJobRow>): CreateJobOutcome {
  return { kind: row.outcome as CreateJobOutcome['kind'], job: toJobRecord(row) };
}

/** One job of the tenant, or null. */
export async function getJob(db: CommonQueryMethods, tenant: string, jobId: string): Promise<JobRecord | null> {
  const row = await db.maybeOne(sql.type(jobRow)`
    select ${jobColumns} from aetheris.jobs j where j.tenant_id = ${tenant} and j.job_id = ${jobId}::uuid`);
  return row ? toJobRecord(row) : null;
}

const orderedJobRow = jobRow.partial().extend({ ord: z.number() });

/** Many jobs in one query, in request order (null where a job does not exist in that tenant). */
export async function getJobs(
  db: CommonQueryMethods,
  keys: readonly { tenant: string; jobId: string }[],
): Promise<(JobRecord | null)[]> {
  const rows = await db.any(sql.type(orderedJobRow)`
    select x.ord::int4 as ord, ${jobColumns}
      from unnest(${arrayArguments(keys, [
        [(k) => k.tenant, 'text'],
        [(k) => k.jobId, 'uuid'],
      ])}) with ordinality as x(tenant_id, job_id, ord)
      left join aetheris.jobs j on j.tenant_id = x.tenant_id and j.job_id = x.job_id
     order by x.ord`);
  return rows.map((row) => (row.job_id ? toJobRecord(row as z.infer<typeof jobRow>) : null));
}

/** Filters of {@link listJobs}. */
export interface ListJobsFilter {
  states: JobState[];
  jobType: string | null;
  queue: string | null;
  createdAfter: Micros | null;
  createdBefore: Micros | null;
  labels: Record<string, string>;
}

/** Keyset cursor: the last row of the previous page. */
export interface JobCursor {
  createdAt: Micros;
  jobId: string;
}

/** A page of jobs, and whether more follow it. */
export interface JobPage {
  jobs: JobRecord[];
  more: boolean;
}

/** Filters that select every job: {@link listJobPages} serves such pages in batches. */
export const NO_JOB_FILTER: ListJobsFilter = {
  states: [],
  jobType: null,
  queue: null,
  createdAfter: null,
  createdBefore: null,
  labels: {},
};

/** Whether `filter` selects every job of the tenant. */
export function isUnfiltered(filter: ListJobsFilter): boolean {
  return (
    filter.states.length === 0 &&
    filter.jobType === null &&
    filter.queue === null &&
    filter.createdAfter === null &&
    filter.createdBefore === null &&
    Object.keys(filter.labels).length === 0
  );
}

/** A page of the tenant's jobs, newest first; fetches one extra row to know if more exist. */
export async function listJobs(
  db: CommonQueryMethods,
  tenant: string,
  filter: ListJobsFilter,
  cursor: JobCursor | null,
  limit: number,
): Promise<JobPage> {
  const conditions = [sql.fragment`j.tenant_id = ${tenant}`];
  if (filter.states.length > 0) conditions.push(sql.fragment`j.state = any(${sql.array(filter.states, 'text')})`);
  if (filter.jobType !== null) conditions.push(sql.fragment`j.job_type = ${filter.jobType}`);
  if (filter.queue !== null) conditions.push(sql.fragment`j.queue = ${filter.queue}`);
  if (filter.createdAfter !== null)
    conditions.push(sql.fragment`j.created_at >= ${usToTimestamp(filter.createdAfter)}`);
  if (filter.createdBefore !== null)
    conditions.push(sql.fragment`j.created_at < ${usToTimestamp(filter.createdBefore)}`);
  if (Object.keys(filter.labels).length > 0) conditions.push(sql.fragment`j.labels @> ${sql.jsonb(filter.labels)}`);
  if (cursor) {
    conditions.push(
      sql.fragment`(j.created_at, j.job_id) < (${usToTimestamp(cursor.createdAt)}, ${cursor.jobId}::uuid)`,
    );
  }
  const rows = await db.any(sql.type(jobRow)`
    select ${jobColumns} from aetheris.jobs j
     where ${sql.join(conditions, sql.fragment` and `)}
     order by j.created_at desc, j.job_id desc
     limit ${limit + 1}`);
  return { jobs: rows.slice(0, limit).map(toJobRecord), more: rows.length > limit };
}

/** A page of a tenant's jobs with no filter: newest first, after `cursor`, `limit` of them. */
export interface JobPageKey {
  tenant: string;
  cursor: JobCursor | null;
  limit: number;
}

/** The greatest job id: with `'infinity'` it is the cursor of a first page. */
const LAST_JOB_ID = 'ffffffff-ffff-ffff-ffff-ffffffffffff';

/**
 * Many unfiltered pages in one query, one per key and in key order: each key's page is its own
 * index walk of `jobs_by_created` (its tenant only), below its cursor — the same rows
 * {@link listJobs} returns for that page without filters.
 */
export async function listJobPages(db: CommonQueryMethods, keys: readonly JobPageKey[]): Promise<JobPage[]> {
  const rows = await db.any(sql.type(orderedJobRow)`
    select x.ord::int4 as ord, ${jobColumns}
      from unnest(${arrayArguments(keys, [
        [(k) => k.tenant, 'text'],
        [(k) => (k.cursor ? k.cursor.createdAt : null), 'int8'],
        [(k) => k.cursor?.jobId ?? LAST_JOB_ID, 'uuid'],
        [(k) => k.limit + 1, 'int4'],
      ])}) with ordinality as x(tenant_id, after_us, after_id, rows, ord)
      cross join lateral (
        select * from aetheris.jobs p
         where p.tenant_id = x.tenant_id
           and (p.created_at, p.job_id) < (coalesce('epoch'::timestamptz + x.after_us * interval '1 microsecond',
                                                   'infinity'::timestamptz), x.after_id)
         order by p.created_at desc, p.job_id desc
         limit x.rows) j
     order by x.ord, j.created_at desc, j.job_id desc`);
  const pages = keys.map((): JobPage => ({ jobs: [], more: false }));
  for (const row of rows) {
    const index = row.ord - 1;
    const page = pages[index];
    const key = keys[index];
    if (!page || !key) continue;
    if (page.jobs.length < key.limit) page.jobs.push(toJobRecord(row as z.infer<typeof jobRow>));
    else page.more = true;
  }
  return pages;
}

export type CancelJobOutcome =
  | { kind: 'not_found' }
  | { kind: 'cancelled' | 'already_cancelled' | 'job_terminal'; job: JobRecord };

/** Cancels a job with its `aetheris.job.cancelled` event in one statement. */
export async function cancelJob(
  db: CommonQueryMethods,
  params: { tenant: string; jobId: string; event: { eventId: string; payload: string; digest: Buffer }; actor: string },
): Promise<CancelJobOutcome> {
  const row = await db.one(sql.type(outcomeJobRow)`
    select c.outcome, (c.job).* from aetheris.cancel_job(
      ${params.tenant}, ${params.jobId}::uuid, ${params.event.eventId}::uuid, ${params.event.payload},
      ${sql.binary(params.event.digest)}, ${params.actor}) c`);
  if (row.outcome === 'not_found') return { kind: 'not_found' };
  return { kind: row.outcome as 'cancelled', job: toJobRecord(row) };
}

/** Exact microsecond timestamp literal (Date would drop microseconds). */
export function usToTimestamp(us: Micros): ReturnType<typeof sql.fragment> {
  return sql.fragment`('epoch'::timestamptz + ${us}::bigint * interval '1 microsecond')`;
}
