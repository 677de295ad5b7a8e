import type { CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { JobState } from '../domain/job-state.js';
import type { JobRecord, Micros } from '../domain/records.js';
import { jobRow, toJobRecord } from './rows.js';
import { columns, sql } from './sql.js';
import { type ToolCallRecord, toolCallRow, toToolCallRecord } from './tool-call-rows.js';

/** A stored signal. */
export interface SignalRecord {
  jobId: string;
  signalId: string;
  name: string;
  /** Canonical JSON text. */
  payload: string;
  state: 'pending' | 'consumed';
  sender: string;
  sentAt: Micros;
  consumedAt: Micros | null;
  consumedBySeq: bigint | null;
}

const signalRow = z.object({
  job_id: z.string(),
  signal_id: z.string(),
  name: z.string(),
  payload: z.string(),
  state: z.custom<'pending' | 'consumed'>(),
  sender: z.string(),
  sent_at: z.bigint(),
  consumed_at: z.bigint().nullable(),
  consumed_by_seq: z.bigint().nullable(),
});
const SIGNAL_COLUMNS = [
  'job_id',
  'signal_id',
  'name',
  'payload',
  'state',
  'sender',
  'sent_at',
  'consumed_at',
  'consumed_by_seq',
] as const;

function toSignalRecord(row: z.infer<typeof signalRow>): SignalRecord {
  return {
    jobId: row.job_id,
    signalId: row.signal_id,
    name: row.name,
    payload: row.payload,
    state: row.state,
    sender: row.sender,
    sentAt: row.sent_at,
    consumedAt: row.consumed_at,
    consumedBySeq: row.consumed_by_seq,
  };
}

export type SendSignalOutcome =
  | { kind: 'sent' | 'duplicate'; signal: SignalRecord; jobState: JobState; resumedQueue: string | null }
  | { kind: 'conflict' | 'job_terminal'; jobState: JobState }
  | { kind: 'not_found' };

/** Stores a signal idempotently and resumes the job if it is parked waiting for that name. */
export async function sendSignal(
  db: CommonQueryMethods,
  params: {
    tenant: string;
    jobId: string;
    signalId: string;
    name: string;
    payload: string;
    digest: Buffer;
    actor: string;
  },
): Promise<SendSignalOutcome> {
  const row = await db.one(sql.type(
    signalRow
      .partial()
      .extend({ outcome: z.string(), job_state: z.custom<JobState>().nullable(), queue: z.string().nullable() }),
  )`
    select s.outcome, s.job_state, s.queue, (s.signal).* from aetheris.send_signal(
      ${params.tenant}, ${params.jobId}::uuid, ${params.signalId}::uuid, ${params.name}, ${params.payload},
      ${sql.binary(params.digest)}, ${params.actor}) s`);
  const jobState = row.job_state as JobState;
  switch (row.outcome) {
    case 'sent':
    case 'duplicate':
      return {
        kind: row.outcome,
        signal: toSignalRecord(row as z.infer<typeof signalRow>),
        jobState,
        resumedQueue: row.outcome === 'sent' && jobState === 'pending' ? row.queue : null,
      };
    case 'conflict':
    case 'job_terminal':
      return { kind: row.outcome, jobState };
    default:
      return { kind: 'not_found' };
  }
}

/** Signals of a job, oldest first, after a keyset cursor. */
export async function listSignals(
  db: CommonQueryMethods,
  params: {
    tenant: string;
    jobId: string;
    states: string[];
    name: string | null;
    after: { sentAt: Micros; signalId: string } | null;
    limit: number;
  },
): Promise<{ signals: SignalRecord[]; more: boolean }> {
  const conditions = [sql.fragment`s.tenant_id = ${params.tenant}`, sql.fragment`s.job_id = ${params.jobId}::uuid`];
  if (params.states.length > 0) conditions.push(sql.fragment`s.state = any(${sql.array(params.states, 'text')})`);
  if (params.name !== null) conditions.push(sql.fragment`s.name = ${params.name}`);
  if (params.after) {
    conditions.push(
      sql.fragment`(s.sent_at, s.signal_id) > (('epoch'::timestamptz + ${params.after.sentAt}::bigint * interval '1 microsecond'), ${params.after.signalId}::uuid)`,
    );
  }
  const rows = await db.any(sql.type(signalRow)`
    select ${columns('s', SIGNAL_COLUMNS)} from aetheris.signals s
     where ${sql.join(conditions, sql.fragment` and `)}
     order by s.sent_at, s.signal_id limit ${params.limit + 1}`);
  return { signals: rows.slice(0, params.limit).map(toSignalRecord), more: rows.length > params.limit };
}

export type AwaitSignalOutcome =
  | {
      kind: 'received' | 'timed_out' | 'parked';
      call: ToolCallRecord;
      deadline: Micros | null;
      /** When the consumed signal was sent; set only when this very call consumed it (not on a replay). */
      signalSentAt: Micros | null;
    }
  | { kind: 'nondeterminism'; detail: string }
  | { kind: 'not_found' | 'lease_lost' };

/** The wait at a handler position: consume, time out, or park. */
export async function awaitSignal(
  db: CommonQueryMethods,
  params: {
    tenant: string;
    jobId: string;
    fencingToken: bigint;
    callKey: string;
    name: string;
    timeoutMs: number;
    actor: string;
  },
): Promise<AwaitSignalOutcome> {
  const row = await db.one(sql.type(
    toolCallRow.partial().extend({
      outcome: z.string(),
      detail: z.string().nullable(),
      deadline: z.bigint().nullable(),
      signal_sent_at: z.bigint().nullable(),
    }),
  )`
    select a.outcome, a.detail, (a.ledger).*,
           -- For the signal-to-resume metric: the consumed signal's sent_at, only when this
           -- statement consumed it (a replay finished the call in an earlier statement).
           (select s.sent_at from aetheris.signals s
             where a.outcome = 'received' and (a.ledger).finished_at >= statement_timestamp()
               and s.tenant_id = ${params.tenant}
               and s.signal_id = ((a.ledger).result::jsonb ->> 'signal_id')::uuid) as signal_sent_at
      from aetheris.await_signal(
      ${params.tenant}, ${params.jobId}::uuid, ${params.fencingToken}, ${params.callKey}, ${params.name},
      ${params.timeoutMs}, ${params.actor}) a`);
  switch (row.outcome) {
    case 'received':
    case 'timed_out':
    case 'parked':
      return {
        kind: row.outcome,
        call: toToolCallRecord(row as z.infer<typeof toolCallRow>),
        deadline: row.deadline ?? null,
        signalSentAt: row.signal_sent_at ?? null,
      };
    case 'nondeterminism':
      return { kind: 'nondeterminism', detail: row.detail ?? '' };
    case 'not_found':
      return { kind: 'not_found' };
    default:
      return { kind: 'lease_lost' };
  }
}

/** Parked waits whose deadline passed, made runnable by this sweep. */
export async function wakeOverdueWaits(
  db: CommonQueryMethods,
  limit: number,
): Promise<{ tenant: string; queue: string }[]> {
  const rows = await db.any(sql.type(z.object({ tenant_id: z.string(), job_id: z.string(), queue: z.string() }))`
    select * from aetheris.wake_overdue_waits(${limit})`);
  return rows.map((row) => ({ tenant: row.tenant_id, queue: row.queue }));
}

/** A resolution of an in-doubt tool call, as stored. */
export interface ResolutionRecord {
  resolutionId: string;
  callKey: string;
  kind: 'retry' | 'skip' | 'fail';
  actor: string;
  note: string;
  resolvedAt: Micros;
  eventSeq: bigint;
}

export type ResolveOutcome =
  | { kind: 'resolved' | 'duplicate'; call: ToolCallRecord; job: JobRecord; resolution: ResolutionRecord }
  | { kind: 'not_found' | 'call_not_found' | 'not_in_doubt' | 'conflict' | 'job_terminal' };

/** Applies a person's decision on an in-doubt call of a parked job. */
export async function resolveInDoubt(
  db: CommonQueryMethods,
  params: {
    tenant: string;
    jobId: string;
    callKey: string;
    resolutionId: string;
    kind: 'retry' | 'skip' | 'fail';
    result: string | null;
    error: string | null;
    failJob: boolean;
    note: string;
    requestDigest: Buffer;
    actor: string;
  },
): Promise<ResolveOutcome> {
  const { rows } = await db.query(sql.type(z.object({ outcome: z.string() }))`
    select r.outcome from aetheris.resolve_in_doubt(
      ${params.tenant}, ${params.jobId}::uuid, ${params.callKey}, ${params.resolutionId}::uuid, ${params.kind},
      ${params.result}, ${params.error}, ${params.failJob}, ${params.note}, ${sql.binary(params.requestDigest)},
      ${params.actor}) r`);
  const outcome = rows[0]?.outcome;
  if (outcome !== 'resolved' && outcome !== 'duplicate') {
    return {
      kind: (outcome ?? 'not_found') as 'not_found' | 'call_not_found' | 'not_in_doubt' | 'conflict' | 'job_terminal',
    };
  }
  // The function committed with the statement; read the rows it wrote.
  const [call, job, resolution] = await Promise.all([
    db.one(sql.type(toolCallRow)`
      select ${columns('l', ['job_id', 'call_key', 'tool_name', 'args_digest', 'state', 'result', 'error', 'attempt', 'fencing_token', 'idempotent', 'external_key', 'started_at', 'finished_at'])}
        from aetheris.tool_calls l
       where l.tenant_id = ${params.tenant} and l.job_id = ${params.jobId}::uuid
         and l.call_key = (select call_key from aetheris.in_doubt_resolutions
                            where tenant_id = ${params.tenant} and job_id = ${params.jobId}::uuid
                              and resolution_id = ${params.resolutionId}::uuid)`),
    db.one(
      sql.type(
        jobRow,
      )`select * from aetheris.jobs where tenant_id = ${params.tenant} and job_id = ${params.jobId}::uuid`,
    ),
    db.one(sql.type(
      z.object({
        resolution_id: z.string(),
        call_key: z.string(),
        kind: z.custom<'retry' | 'skip' | 'fail'>(),
        actor: z.string(),
        note: z.string(),
        resolved_at: z.bigint(),
        event_seq: z.bigint(),
      }),
    )`
      select resolution_id, call_key, kind, actor, note, resolved_at, event_seq from aetheris.in_doubt_resolutions
       where tenant_id = ${params.tenant} and job_id = ${params.jobId}::uuid and resolution_id = ${params.resolutionId}::uuid`),
  ]);
  return {
    kind: outcome,
    call: toToolCallRecord(call),
    job: toJobRecord(job),
    resolution: {
      resolutionId: resolution.resolution_id,
      callKey: resolution.call_key,
      kind: resolution.kind,
      actor: resolution.actor,
      note: resolution.note,
      resolvedAt: resolution.resolved_at,
      eventSeq: resolution.event_seq,
    },
  };
}
