import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobState, type RetryPolicy } from '../gen/ts/aetheris/runtime/v1/job.js';
import { CreateJobRequest, ListJobsRequest } from '../gen/ts/aetheris/runtime/v1/runtime_service.js';
import type { AetherisClients } from '../src/client/connect.js';
import { unary } from '../src/client/connect.js';
import { type JobPageKey, listJobPages, listJobs, NO_JOB_FILTER } from '../src/store/jobs.js';
import { createDatabasePool } from '../src/store/pool.js';
import { expectGrpcError } from './helpers/grpc-assert.js';
import { query, startTestEnv, type TestEnv } from './helpers/harness.js';

let env: TestEnv;
let acme: AetherisClients;
let globex: AetherisClients;

beforeAll(async () => {
  env = await startTestEnv();
  acme = await env.clients('operator', 'acme');
  globex = await env.clients('admin', 'globex');
});
afterAll(() => env.close());

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

type CreateInput = Omit<Partial<CreateJobRequest>, 'retryPolicy'> & { retryPolicy?: Partial<RetryPolicy> };

function createJob(clients: AetherisClients, request: CreateInput) {
  return unary(clients.runtime, clients.runtime.createJob, CreateJobRequest.fromPartial(request), clients.metadata());
}

const list = (request: Partial<ListJobsRequest>) => ListJobsRequest.fromPartial(request);

/** Every page of a listing, following its page tokens: the ids in the order ListJobs gave them. */
async function listAll(clients: AetherisClients, request: Partial<ListJobsRequest>): Promise<string[]> {
  const seen: string[] = [];
  let pageToken = '';
  do {
    const page = await unary(
      clients.runtime,
      clients.runtime.listJobs,
      list({ ...request, pageToken }),
      clients.metadata(),
    );
    seen.push(...page.jobs.map((job) => job.id));
    pageToken = page.nextPageToken;
  } while (pageToken !== '');
  return seen;
}

describe('CreateJob / GetJob', () => {
  it('creates a PENDING job with its created event, canonical input and defaults', async () => {
    const { job, created } = await createJob(acme, { jobType: 'refund-agent', input: json({ b: 1, a: [true, null] }) });
    expect(created).toBe(true);
    expect(job?.state).toBe(JobState.JOB_STATE_PENDING);
    expect(job?.queue).toBe('default');
    expect(job?.maxAttempts).toBe(3);
    expect(Buffer.from(job?.input ?? []).toString()).toBe('{"a":[true,null],"b":1}');
    expect(job?.headSeq).toBe(1n);
    const got = await unary(acme.runtime, acme.runtime.getJob, { jobId: job?.id ?? '' }, acme.metadata());
    expect(got.job?.id).toBe(job?.id);
    const events = await unary(
      acme.runtime,
      acme.runtime.readEvents,
      { jobId: job?.id ?? '', afterSeq: 0n, limit: 0 },
      acme.metadata(),
    );
    expect(events.events.map((event) => event.type)).toEqual(['aetheris.job.created']);
  });

  it('returns the same job for concurrent creates with one idempotency key', async () => {
    const request = { jobType: 'refund-agent', idempotencyKey: 'order-42', input: json({ order: 42 }) } as never;
    const results = await Promise.all(Array.from({ length: 16 }, () => createJob(acme, request)));
    const ids = new Set(results.map((result) => result.job?.id));
    expect(ids.size).toBe(1);
    expect(results.filter((result) => result.created)).toHaveLength(1);
    const rows = await query(
      env.url,
      `select count(*)::int as n from aetheris.jobs where idempotency_key = 'order-42'`,
    );
    expect(rows[0]?.n).toBe(1);
    const events = await query(
      env.url,
      `select count(*)::int as n from aetheris.events e join aetheris.jobs j using (tenant_id, job_id) where j.idempotency_key = 'order-42'`,
    );
    expect(events[0]?.n).toBe(1);
  });

  it('rejects an idempotency key reused for a different request', async () => {
    await createJob(acme, { jobType: 'a', idempotencyKey: 'k-1', input: json(1) });
    await expectGrpcError(
      createJob(acme, { jobType: 'a', idempotencyKey: 'k-1', input: json(2) }),
      status.FAILED_PRECONDITION,
      'IDEMPOTENCY_CONFLICT',
    );
  });

  it('scopes idempotency keys per tenant', async () => {
    const a = await createJob(acme, { jobType: 'x', idempotencyKey: 'shared' });
    const b = await createJob(globex, { jobType: 'x', idempotencyKey: 'shared' });
    expect(a.job?.id).not.toBe(b.job?.id);
    expect(b.created).toBe(true);
  });
});

describe('tenancy', () => {
  it('answers NOT_FOUND for another tenant’s job on every read and write', async () => {
    const { job } = await createJob(acme, { jobType: 'secret' });
    const jobId = job?.id ?? '';
    const md = globex.metadata();
    await expectGrpcError(unary(globex.runtime, globex.runtime.getJob, { jobId }, md), status.NOT_FOUND, 'NOT_FOUND');
    await expectGrpcError(
      unary(globex.runtime, globex.runtime.readEvents, { jobId, afterSeq: 0n, limit: 0 }, md),
      status.NOT_FOUND,
    );
    await expectGrpcError(
      unary(
        globex.runtime,
        globex.runtime.appendEvents,
        { jobId, events: [{ eventId: '', type: 'x', payload: json(1) }] },
        md,
      ),
      status.NOT_FOUND,
    );
    await expectGrpcError(unary(globex.runtime, globex.runtime.cancelJob, { jobId, reason: '' }, md), status.NOT_FOUND);
    const listed = await unary(globex.runtime, globex.runtime.listJobs, list({ pageSize: 500 }), md);
    expect(listed.jobs.map((j) => j.id)).not.toContain(jobId);
    const after = await unary(acme.runtime, acme.runtime.getJob, { jobId }, acme.metadata());
    expect(after.job?.state).toBe(JobState.JOB_STATE_PENDING);
    expect(after.job?.headSeq).toBe(1n);
  });

  it('rejects missing, malformed and revoked credentials', async () => {
    const { connect } = await import('../src/client/connect.js');
    const anonymous = connect({ address: env.server.address, apiKey: 'nope' });
    await expectGrpcError(
      unary(anonymous.runtime, anonymous.runtime.listJobs, list({}), anonymous.metadata()),
      status.UNAUTHENTICATED,
      'UNAUTHENTICATED',
    );
    anonymous.close();
    const reader = await env.clients('reader', 'acme');
    await expectGrpcError(createJob(reader, { jobType: 'x' }), status.PERMISSION_DENIED, 'PERMISSION_DENIED');
  });
});

describe('ListJobs', () => {
  it('pages newest first without duplicates or gaps, with filters', async () => {
    const created: string[] = [];
    for (let i = 0; i < 7; i++) {
      const { job } = await createJob(globex, { jobType: 'pager', labels: { batch: 'p' } });
      created.push(job?.id ?? '');
    }
    const seen = await listAll(globex, { pageSize: 3, jobType: 'pager', labels: { batch: 'p' } });
    expect(seen).toEqual([...created].reverse());
  });

  it('serves unfiltered pages of concurrent callers of two tenants in batches, each from its own tenant', async () => {
    const tenants = ['lister-a', 'lister-b'] as const;
    const clients = await Promise.all(tenants.map((tenant) => env.clients('admin', tenant)));
    for (const [index, client] of clients.entries()) {
      for (let i = 0; i < 5 + index; i++) await createJob(client, { jobType: 'listed' });
    }
    const expected = await Promise.all(
      tenants.map(async (tenant) =>
        (
          await query<{ job_id: string }>(
            env.url,
            'select job_id from aetheris.jobs where tenant_id = $1 order by created_at desc, job_id desc',
            [tenant],
          )
        ).map((row) => row.job_id),
      ),
    );
    const walk = (client: AetherisClients) => listAll(client, { pageSize: 2 });
    const firstPage = (client: AetherisClients) =>
      unary(client.runtime, client.runtime.listJobs, list({ pageSize: 3 }), client.metadata());
    // Walks and first pages of both tenants at once: the server batches what arrives together.
    const [walks, firsts] = await Promise.all([
      Promise.all(clients.flatMap((client) => [walk(client), walk(client)])),
      Promise.all(clients.flatMap((client) => Array.from({ length: 8 }, () => firstPage(client)))),
    ]);
    expect(walks).toEqual([expected[0], expected[0], expected[1], expected[1]]);
    for (const [index, page] of firsts.entries()) {
      const mine = expected[Math.floor(index / 8)] ?? [];
      expect(page.jobs.map((job) => job.id)).toEqual(mine.slice(0, 3));
      expect(page.nextPageToken).not.toBe('');
    }
  });

  it('answers a batch of unfiltered pages as the filtered path answers each page alone', async () => {
    const pool = await createDatabasePool({ connectionString: env.url, maximumPoolSize: 1 });
    try {
      const all = await listJobs(pool, 'lister-b', NO_JOB_FILTER, null, 100);
      const third = all.jobs[2];
      const last = all.jobs.at(-1);
      if (!third || !last) throw new Error('lister-b has too few jobs');
      const keys: JobPageKey[] = [
        { tenant: 'lister-b', cursor: null, limit: 4 },
        { tenant: 'lister-a', cursor: null, limit: 100 },
        { tenant: 'lister-b', cursor: { createdAt: third.createdAt, jobId: third.id }, limit: 2 },
        { tenant: 'lister-b', cursor: { createdAt: last.createdAt, jobId: last.id }, limit: 2 },
        { tenant: 'nobody', cursor: null, limit: 5 },
      ];
      const batched = await listJobPages(pool, keys);
      const alone = await Promise.all(
        keys.map((key) => listJobs(pool, key.tenant, NO_JOB_FILTER, key.cursor, key.limit)),
      );
      expect(batched).toEqual(alone);
      expect(batched.map((page) => [page.jobs.length, page.more])).toEqual([
        [4, true],
        [5, false],
        [2, true],
        [0, false],
        [0, false],
      ]);
    } finally {
      await pool.end();
    }
  });

  it('rejects a page token used with other filters or forged', async () => {
    const page = await unary(
      globex.runtime,
      globex.runtime.listJobs,
      list({ pageSize: 1, jobType: 'pager' }),
      globex.metadata(),
    );
    await expectGrpcError(
      unary(
        globex.runtime,
        globex.runtime.listJobs,
        list({ pageSize: 1, pageToken: page.nextPageToken, jobType: 'other' }),
        globex.metadata(),
      ),
      status.INVALID_ARGUMENT,
      'INVALID_FIELD',
      { field: 'page_token' },
    );
    await expectGrpcError(
      unary(globex.runtime, globex.runtime.listJobs, list({ pageToken: 'not-a-token!' }), globex.metadata()),
      status.INVALID_ARGUMENT,
      'INVALID_FIELD',
      { field: 'page_token' },
    );
  });
});

describe('CancelJob', () => {
  it('cancels at once, records the event, is idempotent, and closes the history', async () => {
    const { job } = await createJob(acme, { jobType: 'c' });
    const jobId = job?.id ?? '';
    const cancelled = await unary(
      acme.runtime,
      acme.runtime.cancelJob,
      { jobId, reason: 'user asked' },
      acme.metadata(),
    );
    expect(cancelled.job?.state).toBe(JobState.JOB_STATE_CANCELLED);
    expect(cancelled.job?.fencingToken).toBe(1n);
    const again = await unary(acme.runtime, acme.runtime.cancelJob, { jobId, reason: 'again' }, acme.metadata());
    expect(again.job?.headSeq).toBe(2n);
    const events = await unary(
      acme.runtime,
      acme.runtime.readEvents,
      { jobId, afterSeq: 0n, limit: 0 },
      acme.metadata(),
    );
    expect(events.events.map((event) => event.type)).toEqual(['aetheris.job.created', 'aetheris.job.cancelled']);
    expect(JSON.parse(Buffer.from(events.events[1]?.payload ?? []).toString())).toEqual({ reason: 'user asked' });
    await expectGrpcError(
      unary(
        acme.runtime,
        acme.runtime.appendEvents,
        { jobId, events: [{ eventId: '', type: 'late', payload: json(1) }] },
        acme.metadata(),
      ),
      status.FAILED_PRECONDITION,
      'JOB_TERMINAL',
    );
  });
});

describe('malformed requests', () => {
  it('get INVALID_ARGUMENT naming the field, and write nothing', async () => {
    const before = await query<{ jobs: number; events: number }>(
      env.url,
      'select (select count(*)::int from aetheris.jobs) as jobs, (select count(*)::int from aetheris.events) as events',
    );
    const md = acme.metadata();
    const cases: [Promise<unknown>, string][] = [
      [createJob(acme, { jobType: '' }), 'job_type'],
      [createJob(acme, { jobType: 'bad type!' }), 'job_type'],
      [createJob(acme, { jobType: 'ok', input: Buffer.from('{nope') }), 'input'],
      [createJob(acme, { jobType: 'ok', input: Buffer.from([0xff, 0xfe]) }), 'input'],
      [createJob(acme, { jobType: 'ok', priority: 5000 }), 'priority'],
      [
        createJob(acme, { jobType: 'ok', retryPolicy: { maxAttempts: 0, backoffCoefficient: 50 } }),
        'retry_policy.backoff_coefficient',
      ],
      [unary(acme.runtime, acme.runtime.getJob, { jobId: '' }, md), 'job_id'],
      [unary(acme.runtime, acme.runtime.getJob, { jobId: 'not-a-uuid' }, md), 'job_id'],
      [unary(acme.runtime, acme.runtime.listJobs, list({ states: [99 as JobState] }), md), 'states[0]'],
      [unary(acme.runtime, acme.runtime.listJobs, list({ states: [JobState.JOB_STATE_UNSPECIFIED] }), md), 'states[0]'],
      [unary(acme.runtime, acme.runtime.listJobs, list({ pageSize: 100000 }), md), 'page_size'],
    ];
    for (const [promise, field] of cases)
      await expectGrpcError(promise, status.INVALID_ARGUMENT, 'INVALID_FIELD', { field });
    const after = await query(
      env.url,
      'select (select count(*)::int from aetheris.jobs) as jobs, (select count(*)::int from aetheris.events) as events',
    );
    expect(after).toEqual(before);
  });

  it('rejects an oversized message with RESOURCE_EXHAUSTED and keeps serving', async () => {
    const huge = Buffer.alloc(9 * 1024 * 1024, 0x20);
    await expectGrpcError(createJob(acme, { jobType: 'big', input: huge }), status.RESOURCE_EXHAUSTED);
    const ok = await createJob(acme, { jobType: 'after-big' });
    expect(ok.created).toBe(true);
  });
});
