import type { CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { EventRecord, JobRecord, Micros } from '../domain/records.js';
import { type EventRow, eventRow, jobEventRecord, jobRow, toJobRecord } from './rows.js';
import { arrayArguments, sql } from './sql.js';
import { TOOL_CALL_STATES, type ToolCallRecord, toolCallRow, toToolCallRecord } from './tool-call-rows.js';

// Each worker write is one statement calling a plpgsql function of migrations/0002 that locks
// the job, checks the fencing token, updates the projection and appends the lifecycle event.

/** The outcomes every leased write can have besides its own. */
export type LeaseFailure = { kind: 'not_found' } | { kind: 'lease_lost'; state: string | null };

const outcomeJob = jobRow.partial().extend({ outcome: z.string() });

function jobOutcome<K extends string>(
  row: z.infer<typeof outcomeJob>,
  ok: readonly K[],
): { kind: K; job: JobRecord } | LeaseFailure {
  if ((ok as readonly string[]).includes(row.outcome)) {
    return { kind: row.outcome as K, job: toJobRecord(row as z.infer<typeof jobRow>) };
  }
  if (row.outcome === 'not_found') return { kind: 'not_found' };
  return { kind: 'lease_lost', state: row.state ?? null };
}

/**
 * `traceParent`: the W3C traceparent of the call that created the job, if it had one.
 * `history`: the job's events from the first, up to `historyLimit`, read in the same statement.
 * `toolCalls`: the job's tool call ledger, read in the same statement too.
 * `othersRunnable`: due jobs remain in the queues that this call did not lease (when it leased
 * one: any; when it found none: ones it may not take — other job types or capabilities).
 */
export type AcquireOutcome =
  | {
      kind: 'acquired';
      job: JobRecord;
      history: EventRecord[];
      toolCalls: ToolCallRecord[];
      traceParent: string | null;
      othersRunnable: boolean;
    }
  | { kind: 'none'; nextDue: Micros | null; othersRunnable: boolean };

const acquireRow = outcomeJob
  .extend({
    next_due: z.bigint().nullable(),
    others_runnable: z.boolean().nullable(),
    trace_parent: z.string().nullable().optional(),
  })
  // The history columns carry the event row's names (none is a jobs column).
  .merge(eventRow.omit({ tenant_id: true, job_id: true }).partial())
  .extend({ ledger: z.unknown().optional() });

// The ledger as AcquireJob's statement returns it (migrations/0012): the row's fields, with int8
// values and microsecond times as strings and the digest as hex, so nothing loses precision in JSON.
const acquiredLedger = z.array(
  toolCallRow
    .omit({ job_id: true, args_digest: true, fencing_token: true, started_at: true, finished_at: true })
    .extend({
      state: z.enum(TOOL_CALL_STATES),
      args_digest: z.string(),
      fencing_token: z.string(),
      started_us: z.string(),
      finished_us: z.string().nullable(),
    }),
);

function toolCallsOf(ledger: unknown, jobId: string): ToolCallRecord[] {
  if (ledger === null || ledger === undefined) return [];
  return acquiredLedger.parse(ledger).map(({ args_digest, fencing_token, started_us, finished_us, ...call }) =>
    toToolCallRecord({
      ...call,
      job_id: jobId,
      args_digest: Buffer.from(args_digest, 'hex'),
      fencing_token: BigInt(fencing_token),
      started_at: BigInt(started_us),
      finished_at: finished_us === null ? null : BigInt(finished_us),
    }),
  );
}

/** Leases the best runnable job of the queues with its history, or says when the next one is due. */
export async function acquireJob(
  db: CommonQueryMethods,
  params: {
    tenant: string;
    workerId: string;
    queues: string[];
    jobTypes: string[];
    capabilities: string[];
    leaseMs: number;
    actor: string;
    historyLimit: number;
  },
): Promise<AcquireOutcome> {
  // One row per history event, the job's columns and its ledger on the first only (see
  // migrations/0010 and 0012).
  const rows = await db.many(sql.type(acquireRow)`
    select a.outcome, a.next_due, a.others_runnable, (a.job).*, a.ev_seq as seq, a.ev_tx_id as tx_id,
           a.ev_position as position, a.ev_event_id as event_id, a.ev_type as type, a.ev_payload as payload,
           a.ev_payload_digest as payload_digest, a.ev_actor as actor, a.ev_recorded_at as recorded_at,
           a.ev_prev_hash as prev_hash, a.ev_hash as hash, a.ledger
      from aetheris.acquire_job_with_history(
             ${params.tenant}, ${params.workerId}, ${sql.array(params.queues, 'text')},
             ${sql.array(params.jobTypes, 'text')}, ${sql.array(params.capabilities, 'text')},
             ${params.leaseMs}, ${params.actor}, ${params.historyLimit}) a
     order by a.ev_seq`);
  const first = rows[0];
  if (!first) throw new Error('acquire_job returned no row');
  if (first.outcome !== 'acquired') {
    return { kind: 'none', nextDue: first.next_due, othersRunnable: first.others_runnable === true };
  }
  const job = toJobRecord(first as z.infer<typeof jobRow>);
  return {
    kind: 'acquired',
    job,
    history: rows.map((row) => jobEventRecord(row as Omit<EventRow, 'tenant_id' | 'job_id'>, job.tenant, job.id)),
    toolCalls: toolCallsOf(first.ledger, job.id),
    traceParent: first.trace_parent ?? null,
    othersRunnable: first.others_runnable === true,
  };
}

const heartbeatRow = z.object({ outcome: z.string(), lease_expires_at: z.bigint().nullable() });

/** Extends the lease of the current token. */
export async function heartbeat(
  db: CommonQueryMethods,
  params: { tenant: string; jobId: string; fencingToken: bigint; leaseMs: number | null },
): Promise<{ kind: 'ok'; leaseExpiresAt: Micros } | { kind: 'not_found' | 'lease_lost' }> {
  const row = await db.one(sql.type(heartbeatRow)`
    select * from aetheris.heartbeat(${params.tenant}, ${params.jobId}::uuid, ${params.fencingToken}, ${params.leaseMs})`);
  if (row.outcome === 'ok' && row.lease_expires_at !== null)
    return { kind: 'ok', leaseExpiresAt: row.lease_expires_at };
  return { kind: row.outcome === 'not_found' ? 'not_found' : 'lease_lost' };
}

/** Completes the job with its output (canonical JSON text). */
export async function completeJob(
  db: CommonQueryMethods,
  params: { tenant: string; jobId: string; fencingToken: bigint; output: string; actor: string },
) {
  const row = await db.one(sql.type(outcomeJob)`
    select c.outcome, (c.job).* from aetheris.complete_job(
      ${params.tenant}, ${params.jobId}::uuid, ${params.fencingToken}, ${params.output}, ${params.actor}) c`);
  return completeJobOutcome(row);
}

export type CompleteJobParams = Parameters<typeof completeJob>[1];
export type CompleteJobOutcome = ReturnType<typeof completeJobOutcome>;

export function completeJobOutcome(row: z.infer<typeof outcomeJob>) {
  return jobOutcome(row, ['completed'] as const);
}

const outcomeJobBatchRow = outcomeJob.extend({ ord: z.number() });

/** CompleteJob for many jobs in one statement (requests sorted by job; see group-commit.ts). */
export function completeJobBatch(db: CommonQueryMethods, all: CompleteJobParams[]) {
  return db.any(sql.type(outcomeJobBatchRow)`
    select c.ord, c.outcome, (c.job).* from aetheris.complete_job_batch(
      ${arrayArguments(all, [
        [(p) => p.tenant, 'text'],
        [(p) => p.jobId, 'uuid'],
        [(p) => p.fencingToken, 'int8'],
        [(p) => p.output, 'text'],
        [(p) => p.actor, 'text'],
      ])}) c order by c.ord`);
}

/** Fails the attempt: retry with backoff, or fail the job (permanent or attempts spent). */
export async function failJob(
  db: CommonQueryMethods,
  params: { tenant: string; jobId: string; fencingToken: bigint; error: string; nonRetryable: boolean; actor: string },
) {
  const row = await db.one(sql.type(outcomeJob)`
    select f.outcome, (f.job).* from aetheris.fail_job(
      ${params.tenant}, ${params.jobId}::uuid, ${params.fencingToken}, ${params.error}, ${params.nonRetryable},
      ${params.actor}) f`);
  return jobOutcome(row, ['failed', 'retrying'] as const);
}

/** Gives the lease back without spending the attempt. */
export async function releaseJob(
  db: CommonQueryMethods,
  params: { tenant: string; jobId: string; fencingToken: bigint; delayMs: number; reason: string; actor: string },
) {
  const row = await db.one(sql.type(outcomeJob)`
    select r.outcome, (r.job).* from aetheris.release_job(
      ${params.tenant}, ${params.jobId}::uuid, ${params.fencingToken}, ${params.delayMs}, ${params.reason},
      ${params.actor}) r`);
  return jobOutcome(row, ['released'] as const);
}

const ledgerOutcome = toolCallRow.partial().extend({ outcome: z.string(), detail: z.string().nullable() });
// Row schemas are built once: a zod schema per call was 1% of the server's CPU in job_e2e.
const completionRow = ledgerOutcome.omit({ detail: true });
const completionBatchRow = completionRow.extend({ ord: z.number() });

export type BeginToolCallOutcome =
  | { kind: 'execute' | 'recorded' | 'in_doubt'; call: ToolCallRecord }
  | { kind: 'nondeterminism'; detail: string }
  | { kind: 'not_found' | 'lease_lost' };

/** Asks the ledger whether a tool call may run (see ToolCallDecision). */
export interface BeginToolCallParams {
  tenant: string;
  jobId: string;
  fencingToken: bigint;
  callKey: string;
  toolName: string;
  argsDigest: Buffer;
  idempotent: boolean;
  actor: string;
}

export async function beginToolCall(
  db: CommonQueryMethods,
  params: BeginToolCallParams,
): Promise<BeginToolCallOutcome> {
  const row = await db.one(sql.type(ledgerOutcome)`
    select b.outcome, b.detail, (b.ledger).* from aetheris.begin_tool_call(
      ${params.tenant}, ${params.jobId}::uuid, ${params.fencingToken}, ${params.callKey}, ${params.toolName},
      ${sql.binary(params.argsDigest)}, ${params.idempotent}, ${params.actor}) b`);
  return beginToolCallOutcome(row);
}

const ledgerOutcomeBatchRow = ledgerOutcome.extend({ ord: z.number() });

/** BeginToolCall for many jobs in one statement (requests sorted by job; see group-commit.ts). */
export function beginToolCallBatch(db: CommonQueryMethods, all: BeginToolCallParams[]) {
  return db.any(sql.type(ledgerOutcomeBatchRow)`
    select b.ord, b.outcome, b.detail, (b.ledger).* from aetheris.begin_tool_call_batch(
      ${arrayArguments(all, [
        [(p) => p.tenant, 'text'],
        [(p) => p.jobId, 'uuid'],
        [(p) => p.fencingToken, 'int8'],
        [(p) => p.callKey, 'text'],
        [(p) => p.toolName, 'text'],
        [(p) => p.argsDigest, 'bytea'],
        [(p) => p.idempotent, 'bool'],
        [(p) => p.actor, 'text'],
      ])}) b order by b.ord`);
}

export function beginToolCallOutcome(row: z.infer<typeof ledgerOutcome>): BeginToolCallOutcome {
  switch (row.outcome) {
    case 'execute':
    case 'recorded':
    case 'in_doubt':
      return { kind: row.outcome, call: toToolCallRecord(row as z.infer<typeof toolCallRow>) };
    case 'nondeterminism':
      return { kind: 'nondeterminism', detail: row.detail ?? '' };
    case 'not_found':
      return { kind: 'not_found' };
    default:
      return { kind: 'lease_lost' };
  }
}

export type CompleteToolCallOutcome =
  | { kind: 'completed' | 'duplicate'; call: ToolCallRecord }
  | { kind: 'not_started' | 'conflict' | 'not_found' | 'lease_lost' };

/** Records a tool call's outcome: `result` (canonical JSON) or `error` (canonical JSON). */
export interface CompleteToolCallParams {
  tenant: string;
  jobId: string;
  fencingToken: bigint;
  callKey: string;
  result: string | null;
  error: string | null;
  actor: string;
}

export async function completeToolCall(
  db: CommonQueryMethods,
  params: CompleteToolCallParams,
): Promise<CompleteToolCallOutcome> {
  const row = await db.one(sql.type(completionRow)`
    select c.outcome, (c.ledger).* from aetheris.complete_tool_call(
      ${params.tenant}, ${params.jobId}::uuid, ${params.fencingToken}, ${params.callKey}, ${params.result},
      ${params.error}, ${params.actor}) c`);
  return completeToolCallOutcome(row);
}

/** CompleteToolCall for many jobs in one statement (requests sorted by job; see group-commit.ts). */
export function completeToolCallBatch(db: CommonQueryMethods, all: CompleteToolCallParams[]) {
  return db.any(sql.type(completionBatchRow)`
    select c.ord, c.outcome, (c.ledger).* from aetheris.complete_tool_call_batch(
      ${arrayArguments(all, [
        [(p) => p.tenant, 'text'],
        [(p) => p.jobId, 'uuid'],
        [(p) => p.fencingToken, 'int8'],
        [(p) => p.callKey, 'text'],
        [(p) => p.result, 'text'],
        [(p) => p.error, 'text'],
        [(p) => p.actor, 'text'],
      ])}) c order by c.ord`);
}

export function completeToolCallOutcome(row: z.infer<typeof completionRow>): CompleteToolCallOutcome {
  switch (row.outcome) {
    case 'completed':
    case 'duplicate':
      return { kind: row.outcome, call: toToolCallRecord(row as z.infer<typeof toolCallRow>) };
    case 'not_started':
    case 'conflict':
    case 'not_found':
      return { kind: row.outcome };
    default:
      return { kind: 'lease_lost' };
  }
}

/** Jobs whose lease or attempt timed out, moved to retry or failure by this sweep. */
export async function expireLeases(
  db: CommonQueryMethods,
  limit: number,
): Promise<{ tenant: string; jobId: string; queue: string; outcome: string }[]> {
  const rows = await db.any(
    sql.type(z.object({ tenant_id: z.string(), job_id: z.string(), queue: z.string(), outcome: z.string() }))`
      select * from aetheris.expire_leases(${limit})`,
  );
  return rows.map((row) => ({ tenant: row.tenant_id, jobId: row.job_id, queue: row.queue, outcome: row.outcome }));
}
