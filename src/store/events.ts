import type { CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { JobState } from '../domain/job-state.js';
import type { EventRecord, GlobalPositionRecord } from '../domain/records.js';
import { type EventRow, eventRow, toEventRecord } from './rows.js';
import { arrayArguments, columns, EVENT_COLUMN_NAMES, sql } from './sql.js';

// recorded_at comes as int8 microseconds: parsing timestamptz text per row was the single
// largest cost of a replay after GC (perf/gate replay profile).
const eventColumns = sql.join(
  [
    columns(
      'e',
      EVENT_COLUMN_NAMES.filter((name) => name !== 'recorded_at'),
    ),
    sql.fragment`(extract(epoch from e.recorded_at) * 1000000)::int8 as recorded_at`,
  ],
  sql.fragment`, `,
);

/** A prepared event: canonical payload text and its digest, computed before the call. */
export interface PreparedEvent {
  /** Client-chosen UUID, or null for a server-generated one. */
  eventId: string | null;
  type: string;
  payload: string;
  digest: Buffer;
}

/** What {@link appendEvents} needs. */
export interface AppendParams {
  tenant: string;
  jobId: string;
  expectedSeq: bigint | null;
  fencingToken: bigint | null;
  events: PreparedEvent[];
  actor: string;
}

export type AppendOutcome =
  | { kind: 'appended' | 'duplicate'; firstSeq: bigint; lastSeq: bigint; lastHash: Buffer }
  | { kind: 'wrong_expected_seq'; actualSeq: bigint }
  | { kind: 'not_found' | 'idempotency_conflict' | 'lease_lost' | 'job_terminal' };

export const appendRow = z.object({
  outcome: z.string(),
  first_seq: z.bigint().nullable(),
  last_seq: z.bigint().nullable(),
  last_hash: z.custom<Buffer>().nullable(),
  actual_seq: z.bigint().nullable(),
});

/**
 * Appends a batch in one round trip: `aetheris.append_events` locks the job head, checks
 * idempotency, fencing, state and expected seq, chains and inserts, and moves the head.
 */
export async function appendEvents(db: CommonQueryMethods, params: AppendParams): Promise<AppendOutcome> {
  const { events } = params;
  const row = await db.one(sql.type(appendRow)`
    select * from aetheris.append_events(
      ${params.tenant}, ${params.jobId}::uuid, ${params.expectedSeq}, ${params.fencingToken},
      ${eventArrays(events)},
      ${params.actor})`);
  return toAppendOutcome(row);
}

/** The four per-event arrays of the append functions: ids, types, payloads, digests. */
export function eventArrays(events: readonly PreparedEvent[]) {
  return arrayArguments(events, [
    [(event) => event.eventId, 'uuid'],
    [(event) => event.type, 'text'],
    [(event) => event.payload, 'text'],
    [(event) => event.digest, 'bytea'],
  ]);
}

/** The outcome row of `aetheris.append_events` as a value. */
export function toAppendOutcome(row: z.infer<typeof appendRow>): AppendOutcome {
  switch (row.outcome) {
    case 'appended':
    case 'duplicate':
      return {
        kind: row.outcome,
        firstSeq: row.first_seq ?? 0n,
        lastSeq: row.last_seq ?? 0n,
        lastHash: row.last_hash ?? Buffer.alloc(0),
      };
    case 'wrong_expected_seq':
      return { kind: 'wrong_expected_seq', actualSeq: row.actual_seq ?? 0n };
    case 'not_found':
    case 'idempotency_conflict':
    case 'lease_lost':
    case 'job_terminal':
      return { kind: row.outcome };
    default:
      throw new Error(`unexpected append outcome ${row.outcome}`);
  }
}

/** Filters of a tenant subscription (see `EventFilter` in event.proto). */
export interface TenantEventFilter {
  exactTypes: string[];
  typePrefixes: string[];
  jobIds: string[];
  jobTypes: string[];
}

/** One read of the tenant log. */
export interface TenantEventsPage {
  events: EventRecord[];
  /**
   * A resume position covering everything below the visibility horizon when the read
   * exhausted it; null when the page was full (resume from the last event instead).
   */
  drainedTo: GlobalPositionRecord | null;
  /** True when committed events exist beyond the horizon (an older transaction is still open). */
  heldBack: boolean;
}

const pageRow = eventRow.partial().extend({ horizon: z.bigint(), held_back: z.boolean() });

/**
 * Reads the tenant's events after `after` in global order, only from transactions older than
 * the snapshot xmin: every transaction below it has finished, so a concurrent writer that
 * commits late still lands after the cursor and is never skipped. One round trip.
 */
export async function readTenantEvents(
  db: CommonQueryMethods,
  tenant: string,
  after: GlobalPositionRecord,
  filter: TenantEventFilter,
  limit: number,
): Promise<TenantEventsPage> {
  const afterCursor = sql.fragment`(${after.txId.toString()}::xid8, ${after.position}::bigint)`;
  const conditions = [
    sql.fragment`e.tenant_id = ${tenant}`,
    sql.fragment`(e.tx_id, e.position) > ${afterCursor}`,
    sql.fragment`e.tx_id < h.horizon`,
  ];
  const typeMatches = [];
  if (filter.exactTypes.length > 0)
    typeMatches.push(sql.fragment`e.type = any(${sql.array(filter.exactTypes, 'text')})`);
  for (const prefix of filter.typePrefixes) typeMatches.push(sql.fragment`starts_with(e.type, ${prefix})`);
  if (typeMatches.length > 0) conditions.push(sql.fragment`(${sql.join(typeMatches, sql.fragment` or `)})`);
  if (filter.jobIds.length > 0) conditions.push(sql.fragment`e.job_id = any(${sql.array(filter.jobIds, 'uuid')})`);
  if (filter.jobTypes.length > 0) {
    conditions.push(sql.fragment`exists (select 1 from aetheris.jobs j where j.tenant_id = e.tenant_id
      and j.job_id = e.job_id and j.job_type = any(${sql.array(filter.jobTypes, 'text')}))`);
  }
  const rows = await db.any(sql.type(pageRow)`
    with h as (select pg_snapshot_xmin(pg_current_snapshot()) as horizon)
    select h.horizon::text::bigint as horizon,
           exists (select 1 from aetheris.events e where e.tenant_id = ${tenant}
                     and e.tx_id >= h.horizon and (e.tx_id, e.position) > ${afterCursor}) as held_back,
           x.*
      from h left join lateral (
        select ${eventColumns} from aetheris.events e
         where ${sql.join(conditions, sql.fragment` and `)}
         order by e.tx_id, e.position
         limit ${limit}) x on true`);
  const first = rows[0];
  if (!first) throw new Error('tenant read returned no row');
  const events = first.seq == null ? [] : rows.map((row) => toEventRecord(row as EventRow));
  if (events.length === limit) return { events, drainedTo: null, heldBack: false };
  const drainedTo = { txId: first.horizon - 1n, position: MAX_POSITION };
  return { events, drainedTo: later(drainedTo, after) ? drainedTo : after, heldBack: first.held_back };
}

/** Largest position value: a checkpoint "(tx, MAX)" covers every event of transaction tx. */
export const MAX_POSITION = 9_223_372_036_854_775_807n;

/**
 * The log's end when a `from_end` subscription begins, as the call's snapshot sees it. Below
 * `position` (the horizon) every transaction has finished. Between it and `xmax` some had
 * committed — their events are behind the call even though the horizon has not passed them —
 * and the rest (`inProgress`) commit later, after the call, and are delivered.
 */
export interface LogEnd {
  position: GlobalPositionRecord;
  xmax: bigint;
  inProgress: ReadonlySet<bigint>;
}

/** True when transaction `txId` had committed before the call that took `end`. */
export function committedBefore(end: LogEnd, txId: bigint): boolean {
  return txId < end.xmax && !end.inProgress.has(txId);
}

export async function tenantLogEnd(db: CommonQueryMethods): Promise<LogEnd> {
  const row = await db.one(sql.type(z.object({ xmin: z.bigint(), xmax: z.bigint(), in_progress: z.array(z.string()) }))`
    select pg_snapshot_xmin(s)::text::bigint as xmin, pg_snapshot_xmax(s)::text::bigint as xmax,
           array(select x::text from pg_snapshot_xip(s) x) as in_progress
      from pg_current_snapshot() s`);
  return {
    position: { txId: row.xmin - 1n, position: MAX_POSITION },
    xmax: row.xmax,
    inProgress: new Set(row.in_progress.map((xid) => BigInt(xid))),
  };
}

function later(a: GlobalPositionRecord, b: GlobalPositionRecord): boolean {
  return a.txId > b.txId || (a.txId === b.txId && a.position > b.position);
}

// A job's page is the hot read of a replay (100,000 rows a second). Parsing text columns was most
// of the server's time there, so each row carries its fixed-size fields in one packed bytea —
// seq, tx_id, position, recorded_at (µs) as int8, then payload_digest, prev_hash and hash (32
// bytes each, held to that by the table's checks, migration 0011) — plus its four text columns,
// and no tenant_id or job_id (the caller knows them). The job's state and head come on the first
// row only.
const PACKED_BYTES = 4 * 8 + 3 * 32;
const jobPageRow = z.object({
  job_state: z.custom<JobState>().nullable(),
  head_seq_now: z.bigint().nullable(),
  packed: z.custom<Buffer>().nullable(),
  event_id: z.string().nullable(),
  type: z.string().nullable(),
  payload: z.string().nullable(),
  actor: z.string().nullable(),
});

/** A job's events after `afterSeq` together with its state and head, in one round trip. */
export async function readJobEventsWithHead(
  db: CommonQueryMethods,
  tenant: string,
  jobId: string,
  afterSeq: bigint,
  limit: number,
): Promise<{ state: JobState; headSeq: bigint; events: EventRecord[] } | null> {
  const rows = await db.any(sql.type(jobPageRow)`
    select case when x.seq is null or x.seq - 1 = ${afterSeq} then j.state end as job_state,
           case when x.seq is null or x.seq - 1 = ${afterSeq} then j.head_seq end as head_seq_now,
           x.packed, x.event_id, x.type, x.payload, x.actor
      from aetheris.jobs j left join lateral (
        select e.seq,
               int8send(e.seq) || int8send(e.tx_id::text::int8) || int8send(e.position)
                 || int8send((extract(epoch from e.recorded_at) * 1000000)::int8)
                 || e.payload_digest || e.prev_hash || e.hash as packed,
               e.event_id, e.type, e.payload, e.actor
          from aetheris.events e
         where e.tenant_id = j.tenant_id and e.job_id = j.job_id and e.seq > ${afterSeq}
         order by e.seq limit ${limit}) x on true
     where j.tenant_id = ${tenant} and j.job_id = ${jobId}::uuid`);
  const first = rows[0];
  if (!first) return null;
  if (first.job_state === null || first.head_seq_now === null)
    throw new Error(`events of job ${jobId} after seq ${afterSeq} do not start at seq ${afterSeq + 1n}`);
  const events = first.packed === null ? [] : rows.map((row) => unpackJobEvent(row, tenant, jobId));
  return { state: first.job_state, headSeq: first.head_seq_now, events };
}

function unpackJobEvent(row: z.infer<typeof jobPageRow>, tenant: string, jobId: string): EventRecord {
  const packed = row.packed;
  if (
    packed?.length !== PACKED_BYTES ||
    row.event_id === null ||
    row.type === null ||
    row.payload === null ||
    row.actor === null
  )
    throw new Error(`malformed event row of job ${jobId}`);
  return {
    tenant,
    jobId,
    seq: packed.readBigInt64BE(0),
    txId: packed.readBigInt64BE(8),
    position: packed.readBigInt64BE(16),
    eventId: row.event_id,
    type: row.type,
    payload: row.payload,
    payloadDigest: packed.subarray(32, 64),
    actor: row.actor,
    recordedAt: packed.readBigInt64BE(24),
    prevHash: packed.subarray(64, 96),
    hash: packed.subarray(96, 128),
  };
}

/** The next transaction id at this moment: every transaction that exists now is below it. */
export async function snapshotXmax(db: CommonQueryMethods): Promise<bigint> {
  return db.oneFirst(sql.type(z.object({ xmax: z.bigint() }))`
    select pg_snapshot_xmax(pg_current_snapshot())::text::bigint as xmax`);
}
