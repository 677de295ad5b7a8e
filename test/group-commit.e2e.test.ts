/**
 * Group commit (src/store/group-commit.ts) for AppendEvents and the worker's hot writes: batched
 * writes must be indistinguishable from single ones — per-request outcomes, per-job order,
 * intact chains, fencing — and one broken request must not take the rest of its batch down.
 */
import { createHash, randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import pg from 'pg';
import type { DatabasePool } from 'slonik';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventInput } from '../gen/ts/aetheris/runtime/v1/event.js';
import {
  AcquireJobRequest,
  AppendEventsRequest,
  CancelJobRequest,
} from '../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { type AetherisClients, unary } from '../src/client/connect.js';
import { toRpcError } from '../src/client/errors.js';
import { verifyEventChain } from '../src/client/verify-chain.js';
import { payloadDigest } from '../src/domain/hash-chain.js';
import { newTimeOrderedId } from '../src/domain/ids.js';
import { AppendBatcher } from '../src/store/append-batcher.js';
import type { AppendParams } from '../src/store/events.js';
import {
  type CreateJobParams,
  createJob as createJobRow,
  createJobs,
  getJobs,
  toCreateJobOutcome,
} from '../src/store/jobs.js';
import { createDatabasePool } from '../src/store/pool.js';
import { WorkerWrites } from '../src/store/worker-writes.js';
import { query, startTestEnv, type TestEnv } from './helpers/harness.js';
import { createJob, readEvents } from './worker/worker-helpers.js';

let env: TestEnv;
let admin: AetherisClients;
let pool: DatabasePool;

beforeAll(async () => {
  env = await startTestEnv();
  admin = await env.clients('admin', 'acme');
  pool = await createDatabasePool({ connectionString: env.url, maximumPoolSize: 4 });
});
afterAll(async () => {
  await pool?.end();
  await env?.close();
});

/** Distinct writing transactions in the event log so far. */
async function transactions(): Promise<number> {
  const rows = await query<{ n: string }>(env.url, 'select count(distinct tx_id)::text as n from aetheris.events');
  return Number(rows[0]?.n ?? 0);
}

/**
 * Runs one statement in a transaction of its own and counts the job row versions it wrote
 * (the backend's not yet flushed statistics, read before and after inside the transaction).
 */
async function withJobUpdates<T extends pg.QueryResultRow>(
  text: string,
  values: unknown[],
): Promise<{ rows: T[]; jobUpdates: number }> {
  const client = new pg.Client({ connectionString: env.url });
  await client.connect();
  const updates = async (): Promise<number> =>
    Number(
      (
        await client.query<{ n: string }>(
          `select n_tup_upd::text as n from pg_stat_xact_user_tables where schemaname = 'aetheris' and relname = 'jobs'`,
        )
      ).rows[0]?.n ?? 0,
    );
  try {
    await client.query('begin');
    const before = await updates();
    const { rows } = await client.query<T>(text, values);
    const jobUpdates = (await updates()) - before;
    await client.query('commit');
    return { rows, jobUpdates };
  } finally {
    await client.end();
  }
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

type AppendInput = Omit<Partial<AppendEventsRequest>, 'events'> & { events: Partial<EventInput>[] };

function append(request: AppendInput) {
  return unary(admin.runtime, admin.runtime.appendEvents, AppendEventsRequest.fromPartial(request), admin.metadata());
}

/** Two jobs on a queue nobody serves: one live, one cancelled (its history closed). */
async function liveAndCancelledJobs(): Promise<{ live: string; cancelled: string }> {
  const live = await createJob(admin, 'batch', {}, { queue: 'none' });
  const cancelled = await createJob(admin, 'batch', {}, { queue: 'none' });
  await unary(
    admin.runtime,
    admin.runtime.cancelJob,
    CancelJobRequest.fromPartial({ jobId: cancelled }),
    admin.metadata(),
  );
  return { live, cancelled };
}

function params(jobId: string, n: number, extra: Partial<AppendParams> = {}): AppendParams {
  const payload = JSON.stringify({ n });
  return {
    tenant: 'acme',
    jobId,
    expectedSeq: null,
    fencingToken: null,
    actor: 'key:test',
    events: [{ eventId: null, type: 'step', payload, digest: payloadDigest(payload) }],
    ...extra,
  };
}

describe('AppendEvents under group commit', () => {
  it('keeps per-job order and chains intact for hundreds of concurrent appends', async () => {
    const jobs = await Promise.all(Array.from({ length: 8 }, () => createJob(admin, 'batch', {}, { queue: 'none' })));
    const responses = await Promise.all(
      Array.from({ length: 240 }, (_, i) => {
        const jobId = jobs[i % jobs.length] ?? '';
        return append({ jobId, events: [{ type: 'step', payload: json({ i }) }] }).then((r) => ({ jobId, r }));
      }),
    );
    for (const jobId of jobs) {
      const seqs = responses.filter((x) => x.jobId === jobId).map((x) => x.r.firstSeq);
      // Each append got its own seq: 2..31 (seq 1 is the job's creation), no gaps, no repeats.
      expect([...seqs].sort((a, b) => Number(a - b))).toEqual(Array.from({ length: 30 }, (_, k) => BigInt(k + 2)));
      const events = await readEvents(admin, jobId);
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 31 }, (_, k) => BigInt(k + 1)));
      expect(verifyEventChain('acme', events)).toEqual([]);
    }
  });

  it('answers each request of a mixed batch with its own outcome', async () => {
    const { live, cancelled } = await liveAndCancelledJobs();
    const eventId = randomUUID();
    const first = await append({ jobId: live, events: [{ eventId, type: 'once', payload: json(1) }] });
    const outcomes = await Promise.all(
      [
        append({ jobId: live, events: [{ eventId, type: 'once', payload: json(1) }] }), // retry → duplicate
        append({ jobId: live, events: [{ eventId, type: 'once', payload: json(2) }] }), // same id, other payload
        append({ jobId: live, expectedSeq: 1n, events: [{ type: 'stale', payload: json(3) }] }), // head is 2
        append({ jobId: randomUUID(), events: [{ type: 'x', payload: json(4) }] }),
        append({ jobId: cancelled, events: [{ type: 'late', payload: json(5) }] }),
        append({ jobId: live, events: [{ type: 'fine', payload: json(6) }] }),
      ].map((p) =>
        p.then(
          (r) => ({ ok: r }),
          (e: unknown) => ({ error: toRpcError(e) as { code: number; reason: string } }),
        ),
      ),
    );
    const summary = outcomes.map((o) =>
      'ok' in o ? `ok duplicate=${o.ok.duplicate}` : `${o.error.code} ${o.error.reason}`,
    );
    expect(summary).toEqual([
      'ok duplicate=true',
      `${status.FAILED_PRECONDITION} IDEMPOTENCY_CONFLICT`,
      `${status.ABORTED} WRONG_EXPECTED_SEQ`,
      `${status.NOT_FOUND} NOT_FOUND`,
      `${status.FAILED_PRECONDITION} JOB_TERMINAL`,
      'ok duplicate=false',
    ]);
    const retried = outcomes[0];
    expect(retried && 'ok' in retried && retried.ok.firstSeq).toBe(first.firstSeq);
    const types = (await readEvents(admin, live)).map((e) => e.type);
    expect(types).toEqual(['aetheris.job.created', 'once', 'fine']);
  });

  it('writes a queued burst as one batch, and survives a request that breaks the batch', async () => {
    const jobA = await createJob(admin, 'batch', {}, { queue: 'none' });
    const jobB = await createJob(admin, 'batch', {}, { queue: 'none' });
    const batcher = new AppendBatcher(pool, { maxInFlight: 1 });
    const before = await transactions();
    // Requests of one event-loop turn go out together: 21 appends, one transaction.
    const results = await Promise.all(
      Array.from({ length: 21 }, (_, i) => batcher.append(params(i % 2 ? jobA : jobB, i))),
    );
    expect(results.every((r) => r.kind === 'appended')).toBe(true);
    expect((await transactions()) - before).toBe(1);

    // A request the database rejects (not a UUID: the server validates this before, so only a
    // direct caller can send it) aborts its batch; the others are retried alone and succeed.
    const alone = batcher.append(params(jobB, 98));
    const broken = batcher.append(params('not-a-uuid', 99));
    const burst = await Promise.allSettled([
      alone,
      broken,
      ...Array.from({ length: 6 }, (_, i) => batcher.append(params(jobA, 100 + i))),
    ]);
    expect(burst.map((r) => r.status)).toEqual(['fulfilled', 'rejected', ...Array(6).fill('fulfilled')]);
    expect(burst.slice(2).map((r) => r.status === 'fulfilled' && r.value.kind)).toEqual(Array(6).fill('appended'));
    const events = await readEvents(admin, jobA);
    expect(verifyEventChain('acme', events)).toEqual([]);
    expect(events).toHaveLength(1 + 10 + 6);
  });
});

describe('the append batch statement', () => {
  // One statement of append_events_batch as the server sends it, each request with one outcome
  // row. A job's consecutive requests carry its head forward in memory; a request naming its own
  // event ids goes the one-call way after what is pending is written.
  it("carries a job's head across its requests, through client-chosen ids, with one outcome each", async () => {
    const { live, cancelled } = await liveAndCancelledJobs();
    const chosen = randomUUID();
    // [job, expected seq, fencing token, events: [client id, type]]
    const requests: [string, number | null, number | null, [string | null, string][]][] = [
      [
        live,
        1,
        null,
        [
          [null, 'a'],
          [null, 'b'],
        ],
      ], // appended 2..3
      [live, 3, null, [[null, 'c']]], // appended 4 (the head carried from the request before)
      [live, 4, null, [[chosen, 'd']]], // client id: appended 5 through append_events
      [live, 5, null, [[null, 'e']]], // appended 6 (the head append_events left)
      [live, 2, null, [[null, 'stale']]], // wrong_expected_seq, actual 6
      [live, null, null, [[chosen, 'd']]], // the retry of the third: duplicate of 5
      [live, null, 1, [[null, 'fenced']]], // lease_lost: the job is not running
      [randomUUID(), null, null, [[null, 'x']]], // not_found
      [cancelled, null, null, [[null, 'late']]], // job_terminal, actual 2
    ];
    const events = requests.flatMap(([, , , list]) => list);
    const payload = (type: string): string => JSON.stringify({ type });
    const rows = await query<{
      ord: number;
      outcome: string;
      first_seq: string | null;
      last_seq: string | null;
      actual_seq: string | null;
    }>(
      env.url,
      `select ord, outcome, first_seq::text, last_seq::text, actual_seq::text
         from aetheris.append_events_batch($1::text[], $2::uuid[], $3::int8[], $4::int8[], $5::text[], $6::int4[],
                                           $7::uuid[], $8::text[], $9::text[], $10::bytea[])
        order by ord`,
      [
        requests.map(() => 'acme'),
        requests.map(([job]) => job),
        requests.map(([, expected]) => expected),
        requests.map(([, , token]) => token),
        requests.map(() => 'key:test'),
        requests.map(([, , , list]) => list.length),
        events.map(([id]) => id),
        events.map(([, type]) => type),
        events.map(([, type]) => payload(type)),
        events.map(([, type]) => payloadDigest(payload(type))),
      ],
    );
    expect(rows.map((row) => [row.outcome, row.first_seq, row.last_seq, row.actual_seq])).toEqual([
      ['appended', '2', '3', '1'],
      ['appended', '4', '4', '3'],
      ['appended', '5', '5', '4'],
      ['appended', '6', '6', '5'],
      ['wrong_expected_seq', null, null, '6'],
      ['duplicate', '5', '5', '6'],
      ['lease_lost', null, null, '6'],
      ['not_found', null, null, null],
      ['job_terminal', null, null, '2'], // created, cancelled
    ]);
    const stored = await readEvents(admin, live);
    expect(stored.map((e) => e.type)).toEqual(['aetheris.job.created', 'a', 'b', 'c', 'd', 'e']);
    expect(stored[4]?.eventId).toBe(chosen);
    expect(verifyEventChain('acme', stored)).toEqual([]);
    const [head] = await query<{ head_seq: string; head_hash: Buffer }>(
      env.url,
      'select head_seq::text, head_hash from aetheris.jobs where tenant_id = $1 and job_id = $2',
      ['acme', live],
    );
    expect(head?.head_seq).toBe('6');
    expect(Buffer.from(head?.head_hash ?? []).equals(Buffer.from(stored[5]?.hash ?? []))).toBe(true);
  });
  it("moves a job's head once for all its requests in a batch: one row version, not one per request", async () => {
    const job = await createJob(admin, 'batch', {}, { queue: 'none' });
    const types = ['a', 'b', 'c', 'd'];
    const { rows, jobUpdates } = await withJobUpdates<{ outcome: string }>(
      `select outcome from aetheris.append_events_batch($1::text[], $2::uuid[], $3::int8[], $4::int8[], $5::text[],
                $6::int4[], $7::uuid[], $8::text[], $9::text[], $10::bytea[]) order by ord`,
      [
        types.map(() => 'acme'),
        types.map(() => job),
        types.map(() => null),
        types.map(() => null),
        types.map(() => 'key:test'),
        types.map(() => 1),
        types.map(() => null),
        types,
        types.map((type) => JSON.stringify({ type })),
        types.map((type) => payloadDigest(JSON.stringify({ type }))),
      ],
    );
    expect(rows.map((row) => row.outcome)).toEqual(['appended', 'appended', 'appended', 'appended']);
    expect(jobUpdates).toBe(1);
    const stored = await readEvents(admin, job);
    expect(stored.map((e) => e.type)).toEqual(['aetheris.job.created', 'a', 'b', 'c', 'd']);
    expect(verifyEventChain('acme', stored)).toEqual([]);
  });
});

describe('worker writes under group commit', () => {
  it('batches BeginToolCall, CompleteToolCall and CompleteJob with per-request outcomes and fencing', async () => {
    const worker = await env.clients('worker', 'acme');
    const leases: { jobId: string; token: bigint }[] = [];
    for (let i = 0; i < 6; i++) {
      await createJob(admin, 'batched', { i }, { queue: 'gc-worker' });
      const got = await unary(
        worker.runtime,
        worker.runtime.acquireJob,
        AcquireJobRequest.fromPartial({ workerId: `w${i}`, queues: ['gc-worker'] }),
        worker.metadata(),
      );
      if (!got.lease) throw new Error('no lease');
      leases.push({ jobId: got.lease.jobId, token: got.lease.fencingToken });
    }
    const writes = new WorkerWrites(pool, 1);
    const base = { tenant: 'acme', actor: 'key:test' };
    const before = await transactions();
    const [first, ...rest] = leases;
    if (!first) throw new Error('no jobs');
    const begins = await Promise.all([
      writes.beginToolCall({
        ...base,
        ...lease(first),
        callKey: '1',
        toolName: 't',
        argsDigest: payloadDigest('{}'),
        idempotent: false,
      }),
      ...rest.map((l) =>
        writes.beginToolCall({
          ...base,
          ...lease(l),
          callKey: '1',
          toolName: 't',
          argsDigest: payloadDigest('{}'),
          idempotent: false,
        }),
      ),
      // A zombie with a stale token in the same batch is fenced, the others are not affected.
      writes.beginToolCall({
        ...base,
        jobId: first.jobId,
        fencingToken: first.token - 1n,
        callKey: '2',
        toolName: 't',
        argsDigest: payloadDigest('{}'),
        idempotent: false,
      }),
    ]);
    expect(begins.map((b) => b.kind)).toEqual([...Array(6).fill('execute'), 'lease_lost']);
    expect((await transactions()) - before).toBe(1); // the seven requests of one turn as one batch
    const completes = await Promise.all(
      leases.map((l) =>
        writes.completeToolCall({ ...base, ...lease(l), callKey: '1', result: '{"ok":true}', error: null }),
      ),
    );
    expect(completes.map((c) => c.kind)).toEqual(Array(6).fill('completed'));
    const done = await Promise.all(
      leases.map((l) => writes.completeJob({ ...base, ...lease(l), output: '{"done":true}' })),
    );
    expect(done.map((d) => d.kind)).toEqual(Array(6).fill('completed'));
    for (const l of leases) {
      const events = await readEvents(admin, l.jobId);
      expect(verifyEventChain('acme', events)).toEqual([]);
      expect(events.at(-1)?.type).toBe('aetheris.job.completed');
    }
  });
});

function lease(l: { jobId: string; token: bigint }) {
  return { jobId: l.jobId, fencingToken: l.token };
}

let leasingWorker: AetherisClients | undefined;

/** A new job on `queue`, leased by a worker: its id and fencing token (as text, for SQL). */
async function leasedJob(queue: string): Promise<{ jobId: string; token: string }> {
  leasingWorker ??= await env.clients('worker', 'acme');
  const worker = leasingWorker;
  await createJob(admin, 'batched', {}, { queue });
  const got = await unary(
    worker.runtime,
    worker.runtime.acquireJob,
    AcquireJobRequest.fromPartial({ workerId: 'w', queues: [queue] }),
    worker.metadata(),
  );
  if (!got.lease) throw new Error('no lease');
  return { jobId: got.lease.jobId, token: got.lease.fencingToken.toString() };
}

describe('the CompleteToolCall batch statement', () => {
  it("finishes started calls set-wise with one outcome each, and moves each job's head once", async () => {
    const a = await leasedJob('gc-complete-a');
    const b = await leasedJob('gc-complete-b');
    const begin = (l: { jobId: string; token: string }, key: string) =>
      query(
        env.url,
        `select outcome from aetheris.begin_tool_call('acme', $1, $2, $3, 't', sha256('x'), false, 'key:test')`,
        [l.jobId, l.token, key],
      );
    for (const key of ['1', '2', '3']) await begin(a, key);
    await begin(b, '1');
    await query(
      env.url,
      `select outcome from aetheris.complete_tool_call('acme', $1, $2, '3', '{"r":3}', null, 'key:test')`,
      [a.jobId, a.token],
    );
    const stale = (BigInt(a.token) - 1n).toString();
    // [job, token, call key, result]
    const requests: [string, string, string, string][] = [
      [a.jobId, a.token, '1', '{"r":1}'], // completed
      [a.jobId, a.token, '2', '{"r":2}'], // completed, chained after the one before
      [a.jobId, a.token, '3', '{"r":3}'], // finished before the batch, same result: duplicate
      [a.jobId, a.token, '3', '{"r":4}'], // another result: conflict
      [a.jobId, a.token, '9', '{}'], // never started: not_started
      [a.jobId, stale, '1', '{"r":1}'], // a zombie's token: lease_lost
      [b.jobId, b.token, '1', '{"r":1}'], // completed
      [randomUUID(), '1', '1', '{}'], // not_found
    ];
    const { rows, jobUpdates } = await withJobUpdates<{ outcome: string; state: string | null }>(
      `select c.outcome, (c.ledger).state from aetheris.complete_tool_call_batch($1::text[], $2::uuid[], $3::int8[],
                $4::text[], $5::text[], $6::text[], $7::text[]) c order by c.ord`,
      [
        requests.map(() => 'acme'),
        requests.map(([job]) => job),
        requests.map(([, token]) => token),
        requests.map(([, , key]) => key),
        requests.map(([, , , result]) => result),
        requests.map(() => null),
        requests.map(() => 'key:test'),
      ],
    );
    const outcomes = rows.map((row) => `${row.outcome} ${row.state}`);
    expect(outcomes).toEqual([
      'completed succeeded',
      'completed succeeded',
      'duplicate succeeded',
      'conflict succeeded',
      'not_started null',
      'lease_lost null',
      'completed succeeded',
      'not_found null',
    ]);
    expect(jobUpdates).toBe(2); // one head move per job, not one per finished call
    const eventsA = await readEvents(admin, a.jobId);
    expect(eventsA.map((e) => e.type).slice(2)).toEqual([
      'aetheris.tool_call.started',
      'aetheris.tool_call.started',
      'aetheris.tool_call.started',
      'aetheris.tool_call.finished',
      'aetheris.tool_call.finished',
      'aetheris.tool_call.finished',
    ]);
    expect(JSON.parse(Buffer.from(eventsA[6]?.payload ?? []).toString()).call_key).toBe('1');
    expect(JSON.parse(Buffer.from(eventsA[7]?.payload ?? []).toString()).call_key).toBe('2');
    const eventsB = await readEvents(admin, b.jobId);
    for (const events of [eventsA, eventsB]) expect(verifyEventChain('acme', events)).toEqual([]);
    const heads = await query<{ job_id: string; head_seq: string }>(
      env.url,
      'select job_id, head_seq::text from aetheris.jobs where tenant_id = $1 and job_id = any($2::uuid[])',
      ['acme', [a.jobId, b.jobId]],
    );
    expect(Object.fromEntries(heads.map((h) => [h.job_id, h.head_seq]))).toEqual({
      [a.jobId]: String(eventsA.length),
      [b.jobId]: String(eventsB.length),
    });
  });
});

describe('the BeginToolCall batch statement', () => {
  it('starts new calls set-wise, sends a job with a call already in its ledger the one-call way, one outcome each', async () => {
    const [a, b, c, d] = [
      await leasedJob('gc-begin-a'),
      await leasedJob('gc-begin-b'),
      await leasedJob('gc-begin-c'),
      await leasedJob('gc-begin-d'),
    ];
    if (!a || !b || !c || !d) throw new Error('no leases');
    const sql = (text: string, l: { jobId: string; token: string }) => query(env.url, text, [l.jobId, l.token]);
    await sql(`select aetheris.begin_tool_call('acme', $1, $2, '1', 't', sha256('x'), false, 'key:test')`, b);
    await sql(`select aetheris.begin_tool_call('acme', $1, $2, '1', 't', sha256('x'), false, 'key:test')`, d);
    await sql(`select aetheris.complete_tool_call('acme', $1, $2, '1', '{}', null, 'key:test')`, d);
    const stale = { ...c, token: (BigInt(c.token) - 1n).toString() };
    // [lease, call key, tool]
    const requests: [{ jobId: string; token: string }, string, string][] = [
      [a, '1', 't'], // execute
      [a, '2', 't'], // execute, chained after the one before
      [b, '1', 't'], // started before by this lease: execute again (one-call path)
      [b, '2', 't'], // new, but its job takes the one-call path: execute
      [stale, '1', 't'], // a zombie's token: lease_lost
      [d, '1', 't'], // succeeded before: recorded
      [d, '1', 'other'], // recorded under another tool: nondeterminism
      [{ jobId: randomUUID(), token: '1' }, '1', 't'], // not_found
    ];
    const { rows, jobUpdates } = await withJobUpdates<{ outcome: string; state: string | null; detail: string | null }>(
      `select b.outcome, (b.ledger).state, b.detail from aetheris.begin_tool_call_batch($1::text[], $2::uuid[],
                $3::int8[], $4::text[], $5::text[], $6::bytea[], $7::bool[], $8::text[]) b order by b.ord`,
      [
        requests.map(() => 'acme'),
        requests.map(([l]) => l.jobId),
        requests.map(([l]) => l.token),
        requests.map(([, key]) => key),
        requests.map(([, , tool]) => tool),
        requests.map(() => createHash('sha256').update('x').digest()),
        requests.map(() => false),
        requests.map(() => 'key:test'),
      ],
    );
    const outcomes = rows.map((row) => `${row.outcome} ${row.state}${row.detail ? ' (detail)' : ''}`);
    expect(outcomes).toEqual([
      'execute started',
      'execute started',
      'execute started',
      'execute started',
      'lease_lost null',
      'recorded succeeded',
      'nondeterminism succeeded (detail)',
      'not_found null',
    ]);
    expect(jobUpdates).toBe(2); // job a's head once for its two calls, job b's by its one-call path
    for (const l of [a, b]) {
      const events = await readEvents(admin, l.jobId);
      expect(events.map((e) => e.type).slice(2)).toEqual(['aetheris.tool_call.started', 'aetheris.tool_call.started']);
      expect(verifyEventChain('acme', events)).toEqual([]);
      const [head] = await query<{ head_seq: string }>(
        env.url,
        'select head_seq::text from aetheris.jobs where tenant_id = $1 and job_id = $2',
        ['acme', l.jobId],
      );
      expect(head?.head_seq).toBe(String(events.length));
    }
    const ledger = await query<{ call_key: string; attempt: number; fencing_token: string; external_key: string }>(
      env.url,
      'select call_key, attempt, fencing_token::text, external_key from aetheris.tool_calls where job_id = $1 order by call_key',
      [a.jobId],
    );
    expect(ledger).toEqual(
      ['1', '2'].map((key) => ({
        call_key: key,
        attempt: 1,
        fencing_token: a.token,
        external_key: `${a.jobId}:${key}`,
      })),
    );
  });
});

describe('GetJob batched', () => {
  it('answers each key of one query in order: the job, or null when missing or of another tenant', async () => {
    const jobId = await createJob(admin, 'batched-read', {}, { queue: 'none' });
    const jobs = await getJobs(pool, [
      { tenant: 'acme', jobId },
      { tenant: 'acme', jobId: randomUUID() },
      { tenant: 'globex', jobId },
      { tenant: 'acme', jobId },
    ]);
    expect(jobs.map((job) => job?.id ?? null)).toEqual([jobId, null, null, jobId]);
    expect(jobs[0]?.tenant).toBe('acme');
  });
});

describe('CreateJob batched', () => {
  const request = (n: number, extra: Partial<CreateJobParams> = {}): CreateJobParams => {
    const payload = JSON.stringify({ n });
    return {
      tenant: 'acme',
      jobId: newTimeOrderedId(),
      jobType: 'batched-create',
      queue: 'gc-create',
      input: payload,
      priority: n,
      retryPolicy: { maxAttempts: 3, initialBackoffMs: 100, backoffCoefficient: 2, maxBackoffMs: 1000 },
      labels: {},
      idempotencyKey: null,
      requestDigest: payloadDigest(payload),
      runAt: null,
      attemptTimeoutUs: 0n,
      event: { eventId: newTimeOrderedId(), payload, digest: payloadDigest(payload) },
      actor: 'key:test',
      requiredCapabilities: [],
      traceParent: null,
      ...extra,
    };
  };

  it('creates each job of one statement as CreateJob alone would, idempotency keys included', async () => {
    const key = `k-${randomUUID()}`;
    const runAt = 1_900_000_000_123_456n;
    const first = request(1, { idempotencyKey: key });
    const all = [
      first,
      { ...request(1, { idempotencyKey: key }), requestDigest: first.requestDigest }, // the same request again
      request(2, { idempotencyKey: key }), // another request under the same key
      request(3, {
        runAt,
        labels: { team: 'payments' },
        requiredCapabilities: ['gpu', 'eu'],
        attemptTimeoutUs: 5_000_000n,
        traceParent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      }),
    ];
    const before = await transactions();
    const outcomes = (await createJobs(pool, all)).map(toCreateJobOutcome);
    expect(outcomes.map((o) => o.kind)).toEqual(['created', 'existing', 'idempotency_conflict', 'created']);
    expect(outcomes[1]?.job.id).toBe(first.jobId);
    expect(outcomes[2]?.job.id).toBe(first.jobId);
    expect((await transactions()) - before).toBe(1); // both created events in one transaction

    // The fourth job, field by field, against the same request created alone.
    const alone = await createJobRow(pool, {
      ...all[3],
      jobId: newTimeOrderedId(),
      event: request(3).event,
    } as CreateJobParams);
    const batched = outcomes[3]?.job;
    expect(batched?.nextRunAt).toBe(runAt);
    expect(batched?.requiredCapabilities).toEqual(['gpu', 'eu']);
    const comparable = (job: typeof batched) => ({
      ...job,
      id: undefined,
      headHash: undefined,
      createdAt: undefined,
      updatedAt: undefined,
    });
    expect(comparable(batched)).toEqual(comparable(alone.job));

    const events = await readEvents(admin, outcomes[3]?.job.id ?? '');
    expect(events.map((e) => e.type)).toEqual(['aetheris.job.created']);
    expect(verifyEventChain('acme', events)).toEqual([]);
  });
});
