import { readFileSync } from 'node:fs';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Event, EventInput } from '../gen/ts/aetheris/runtime/v1/event.js';
import {
  AppendEventsRequest,
  CreateJobRequest,
  type StreamEventsResponse,
  SubscribeEventsRequest,
} from '../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { type AetherisClients, messages, unary } from '../src/client/connect.js';
import { chainedEvent } from '../src/client/verify-chain.js';
import { verifyChain } from '../src/domain/hash-chain.js';
import { newId } from '../src/domain/ids.js';
import { projectRoot } from '../src/store/project-root.js';
import { expectGrpcError } from './helpers/grpc-assert.js';
import { query, startTestEnv, type TestEnv } from './helpers/harness.js';

let env: TestEnv;
let acme: AetherisClients;

beforeAll(async () => {
  env = await startTestEnv();
  acme = await env.clients('operator', 'acme');
});
afterAll(() => env.close());

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

async function newJob(): Promise<string> {
  const { job } = await unary(
    acme.runtime,
    acme.runtime.createJob,
    CreateJobRequest.fromPartial({ jobType: 'agent' }),
    acme.metadata(),
  );
  return job?.id ?? '';
}

type AppendInput = Omit<Partial<AppendEventsRequest>, 'events'> & { events: Partial<EventInput>[] };

function append(request: AppendInput) {
  return unary(acme.runtime, acme.runtime.appendEvents, AppendEventsRequest.fromPartial(request), acme.metadata());
}

async function readAll(jobId: string): Promise<Event[]> {
  const all: Event[] = [];
  for (let after = 0n; ; ) {
    const page = await unary(
      acme.runtime,
      acme.runtime.readEvents,
      { jobId, afterSeq: after, limit: 1000 },
      acme.metadata(),
    );
    all.push(...page.events);
    if (page.events.length < 1000) return all;
    after = page.events.at(-1)?.seq ?? after;
  }
}

const chainInput = (event: Event) => chainedEvent('acme', event);

/** Reads a server stream to its end (or its error). */
async function drain(stream: Parameters<typeof messages>[0]): Promise<void> {
  for await (const _ of messages(stream)) {
    // discard
  }
}

describe('AppendEvents', () => {
  it('appends a batch atomically with consecutive seqs and moves the head', async () => {
    const jobId = await newJob();
    const result = await append({ jobId, events: [1, 2, 3].map((n) => ({ type: 'step', payload: json({ n }) })) });
    expect([result.firstSeq, result.lastSeq, result.duplicate]).toEqual([2n, 4n, false]);
    const { job } = await unary(acme.runtime, acme.runtime.getJob, { jobId }, acme.metadata());
    expect(job?.headSeq).toBe(4n);
    expect(Buffer.from(job?.headHash ?? []).equals(Buffer.from(result.lastHash))).toBe(true);
  });

  it('lets exactly one of N concurrent writers win each expected seq, with no gaps', async () => {
    const jobId = await newJob();
    const writers = 8;
    const rounds = 10;
    let wins = 0;
    let conflicts = 0;
    await Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        for (let round = 0; round < rounds; round++) {
          const { job } = await unary(acme.runtime, acme.runtime.getJob, { jobId }, acme.metadata());
          try {
            await append({
              jobId,
              expectedSeq: job?.headSeq ?? 0n,
              events: [{ type: 'w', payload: json({ writer, round }) }],
            });
            wins++;
          } catch (error) {
            expect((error as { code: number }).code).toBe(status.ABORTED);
            conflicts++;
          }
        }
      }),
    );
    expect(wins + conflicts).toBe(writers * rounds);
    expect(wins).toBeGreaterThan(0);
    const events = await readAll(jobId);
    expect(events.map((event) => event.seq)).toEqual(Array.from({ length: wins + 1 }, (_, i) => BigInt(i + 1)));
    expect(verifyChain(events.map(chainInput))).toEqual([]);
  });

  it('reports the actual seq on a stale expected_seq and writes nothing', async () => {
    const jobId = await newJob();
    await expectGrpcError(
      append({ jobId, expectedSeq: 5n, events: [{ type: 'x', payload: json(1) }] }),
      status.ABORTED,
      'WRONG_EXPECTED_SEQ',
      {
        actual_seq: '1',
        expected_seq: '5',
      },
    );
    expect((await readAll(jobId)).length).toBe(1);
  });

  it('is idempotent on client event ids: a retry returns the original seqs; a changed reuse is rejected', async () => {
    const jobId = await newJob();
    const ids = [newId(), newId()];
    const request = { jobId, events: ids.map((eventId, n) => ({ eventId, type: 'pay', payload: json({ n }) })) };
    const first = await append(request);
    const retries = await Promise.all([append(request), append(request), append({ ...request, expectedSeq: 1n })]);
    for (const retry of retries) {
      expect([retry.firstSeq, retry.lastSeq, retry.duplicate]).toEqual([first.firstSeq, first.lastSeq, true]);
      expect(Buffer.from(retry.lastHash).equals(Buffer.from(first.lastHash))).toBe(true);
    }
    await expectGrpcError(
      append({ jobId, events: [{ eventId: ids[0], type: 'pay', payload: json({ n: 99 }) }] }),
      status.FAILED_PRECONDITION,
      'IDEMPOTENCY_CONFLICT',
    );
    await expectGrpcError(
      append({
        jobId,
        events: [
          { eventId: ids[1], type: 'pay', payload: json({ n: 1 }) },
          { eventId: newId(), type: 'pay', payload: json(2) },
        ],
      }),
      status.FAILED_PRECONDITION,
      'IDEMPOTENCY_CONFLICT',
    );
    expect((await readAll(jobId)).length).toBe(3);
  });

  it('rejects a stale fencing token with LEASE_LOST', async () => {
    const jobId = await newJob();
    const worker = await env.clients('worker', 'acme');
    const fenced = AppendEventsRequest.fromPartial({
      jobId,
      fencingToken: 7n,
      events: [{ type: 'x', payload: json(1) }],
    });
    await expectGrpcError(
      unary(worker.runtime, worker.runtime.appendEvents, fenced, worker.metadata()),
      status.FAILED_PRECONDITION,
      'LEASE_LOST',
    );
    // Operators may append, but not impersonate a worker's lease.
    await expectGrpcError(
      append({ jobId, fencingToken: 0n, events: [{ type: 'x', payload: json(1) }] }),
      status.PERMISSION_DENIED,
    );
  });

  it('validates every event before writing any', async () => {
    const jobId = await newJob();
    const cases: [AppendInput, string][] = [
      [{ jobId, events: [] }, 'events'],
      [
        {
          jobId,
          events: [
            { type: 'ok', payload: json(1) },
            { type: '', payload: json(1) },
          ],
        },
        'events[1].type',
      ],
      [{ jobId, events: [{ type: 'aetheris.job.completed', payload: json(1) }] }, 'events[0].type'],
      [{ jobId, events: [{ type: 'ok', payload: Buffer.from('{"a":') }] }, 'events[0].payload'],
      [{ jobId, events: [{ eventId: 'nope', type: 'ok', payload: json(1) }] }, 'events[0].event_id'],
      [{ jobId: 'x', events: [{ type: 'ok', payload: json(1) }] }, 'job_id'],
      [{ jobId, events: Array.from({ length: 1001 }, () => ({ type: 'ok', payload: json(1) })) }, 'events'],
      [
        {
          jobId,
          events: Array.from({ length: 5 }, () => ({ type: 'ok', payload: json('a'.repeat(1024 * 1024 - 10)) })),
        },
        'events',
      ],
    ];
    for (const [request, field] of cases)
      await expectGrpcError(append(request), status.INVALID_ARGUMENT, 'INVALID_FIELD', { field });
    expect((await readAll(jobId)).length).toBe(1);
  });
});

describe('hash chain', () => {
  it('is recomputed independently from the stored bytes, and any change is detected', async () => {
    const jobId = await newJob();
    await append({
      jobId,
      events: [
        { type: 'unicode.test', payload: json({ z: 'é', a: [1.5, -0, 1e21] }) },
        { type: 'b', payload: json(null) },
      ],
    });
    const events = await readAll(jobId);
    expect(verifyChain(events.map(chainInput))).toEqual([]);
    const tampered = events.map(chainInput);
    const second = tampered[1];
    if (!second) throw new Error('missing event');
    second.payload = Buffer.from(JSON.stringify({ z: 'é', a: [1.5, 0, 1e22] }));
    expect(verifyChain(tampered).map((v) => v.problem)).toContain('PAYLOAD_DIGEST_MISMATCH');
    const reordered = events.map(chainInput);
    reordered[2] = {
      ...(reordered[2] as ReturnType<typeof chainInput>),
      recordedAtUs: (reordered[2]?.recordedAtUs ?? 0n) + 1n,
    };
    expect(verifyChain(reordered).map((v) => v.problem)).toContain('HASH_MISMATCH');
    // The SQL chain function and the TypeScript one agree byte for byte.
    const rows = await query<{ ok: boolean }>(
      env.url,
      `select bool_and(hash = aetheris.chain_hash(prev_hash, seq, aetheris.to_us(recorded_at), job_id, event_id, tenant_id, type, actor, sha256(convert_to(payload, 'UTF8')))) as ok
         from aetheris.events where job_id = $1`,
      [jobId],
    );
    expect(rows[0]?.ok).toBe(true);
  });

  it('reads back every stored field exactly, from pages packed at fixed offsets', async () => {
    const jobId = await newJob();
    await append({ jobId, events: Array.from({ length: 5 }, (_, n) => ({ type: `t${n}`, payload: json({ n }) })) });
    const stored = await query<Record<string, string>>(
      env.url,
      `select seq::text, tx_id::text, position::text, event_id::text, type, payload, actor,
              aetheris.to_us(recorded_at)::text as us, encode(payload_digest, 'hex') as digest,
              encode(prev_hash, 'hex') as prev, encode(hash, 'hex') as hash
         from aetheris.events where job_id = $1 order by seq`,
      [jobId],
    );
    const read = (await readAll(jobId)).map((event) => ({
      seq: String(event.seq),
      tx_id: String(event.position?.transactionId),
      position: String(event.position?.position),
      event_id: event.eventId,
      type: event.type,
      payload: Buffer.from(event.payload).toString('utf8'),
      actor: event.actor,
      us: String((event.recordedAt?.seconds ?? 0n) * 1_000_000n + BigInt((event.recordedAt?.nanos ?? 0) / 1000)),
      digest: Buffer.from(event.payloadDigest).toString('hex'),
      prev: Buffer.from(event.prevHash).toString('hex'),
      hash: Buffer.from(event.hash).toString('hex'),
    }));
    expect(read).toHaveLength(6);
    expect(read).toEqual(stored);
  });

  it('gives server-generated events time-ordered ids (UUIDv7) and keeps client-chosen ones', async () => {
    const jobId = await newJob();
    const chosen = newId();
    await append({ jobId, events: Array.from({ length: 50 }, (_, n) => ({ type: 'g', payload: json(n) })) });
    await append({ jobId, events: [{ eventId: chosen, type: 'c', payload: json(0) }] });
    await append({ jobId, events: [{ type: 'g', payload: json(1) }] });
    const events = await readAll(jobId);
    const generated = events.filter((event) => event.type === 'g').map((event) => event.eventId);
    expect(generated).toHaveLength(51);
    expect(generated.every((id) => id[14] === '7')).toBe(true);
    // In seq order across calls, so the unique index takes them at the end of the job's range.
    expect([...generated].sort()).toEqual(generated);
    expect(events.find((event) => event.type === 'c')?.eventId).toBe(chosen);
  });

  it.each(['0013_time_ordered_event_ids.sql', '0014_lifecycle_in_one_write.sql'])(
    'builds the same UUIDv7 layout on PostgreSQL before 18 (the fallback expression of %s)',
    async (file) => {
      const migration = readFileSync(path.join(projectRoot(), 'migrations', file), 'utf8');
      const fallback = /else '(.+)'\n/.exec(migration)?.[1]?.replaceAll("''", "'");
      if (!fallback) throw new Error(`fallback expression not found in ${file}`);
      const rows = await query<{ id: string; ms: string }>(
        env.url,
        `select ${fallback} as id, ms::text from (
         select substring(int8send(ms) from 3) as v_ms, ms
           from (select (extract(epoch from clock_timestamp()) * 1000)::int8 as ms) t) s`,
      );
      const id = rows[0]?.id ?? '';
      expect(id[14]).toBe('7'); // version
      expect('89ab').toContain(id[19]); // RFC 9562 variant
      expect(BigInt(`0x${id.replaceAll('-', '').slice(0, 12)}`)).toBe(BigInt(rows[0]?.ms ?? -1));
    },
  );

  it('holds every digest and hash to 32 bytes', async () => {
    const jobId = await newJob();
    const valid = { payload_digest: 'd', prev_hash: 'd', hash: 'd' };
    const wrong = [
      { ...valid, payload_digest: 'substr(d, 2)' },
      { ...valid, prev_hash: 'substr(d, 2)' },
      { ...valid, hash: 'd || d' },
    ];
    for (const values of wrong) {
      await expect(
        query(
          env.url,
          `insert into aetheris.events (tenant_id, job_id, seq, event_id, type, payload, payload_digest, actor,
                                        recorded_at, prev_hash, hash)
           select 'acme', $1, 99, gen_random_uuid(), 't', '{}', ${values.payload_digest}, 'test', now(),
                  ${values.prev_hash}, ${values.hash}
             from (select sha256('x') as d) s`,
          [jobId],
        ),
      ).rejects.toThrow(/check constraint "events_\w+_sha256"/);
    }
  });

  it('refuses in-place updates of stored events', async () => {
    const jobId = await newJob();
    await expect(query(env.url, `update aetheris.events set payload = '1' where job_id = $1`, [jobId])).rejects.toThrow(
      /append-only/,
    );
  });
});

describe('StreamEvents', () => {
  it('replays in batches then tails live, and ends when the job finishes', async () => {
    const jobId = await newJob();
    await append({ jobId, events: Array.from({ length: 600 }, (_, n) => ({ type: 'r', payload: json({ n }) })) });
    const stream = acme.runtime.streamEvents({ jobId, afterSeq: 0n, follow: true, maxBatch: 250 }, acme.metadata());
    const received: StreamEventsResponse[] = [];
    const latencies: number[] = [];
    let appendedAt = 0;
    for await (const message of messages(stream)) {
      received.push(message);
      if (message.caughtUp) {
        appendedAt = performance.now();
        await append({ jobId, events: [{ type: 'live', payload: json(1) }] });
      }
      if (message.events.some((event) => event.type === 'live')) {
        latencies.push(performance.now() - appendedAt);
        await unary(acme.runtime, acme.runtime.cancelJob, { jobId, reason: 'done' }, acme.metadata());
      }
    }
    const seqs = received.flatMap((message) => message.events.map((event) => event.seq));
    expect(seqs).toEqual(Array.from({ length: 603 }, (_, i) => BigInt(i + 1)));
    expect(received[0]?.events.length).toBe(250);
    expect(received.filter((message) => message.caughtUp)).toHaveLength(1);
    expect(latencies[0]).toBeLessThan(250);
  });

  it('reads past the head up to the largest seq, and names a seq beyond int64 as invalid', async () => {
    const jobId = await newJob();
    const max = 2n ** 63n - 1n;
    const read = await unary(
      acme.runtime,
      acme.runtime.readEvents,
      { jobId, afterSeq: max, limit: 10 },
      acme.metadata(),
    );
    expect(read.events).toEqual([]);
    expect(read.headSeq).toBe(1n);
    await expectGrpcError(
      unary(acme.runtime, acme.runtime.readEvents, { jobId, afterSeq: max + 1n, limit: 10 }, acme.metadata()),
      status.INVALID_ARGUMENT,
      'INVALID_FIELD',
      { field: 'after_seq' },
    );
    const stream = acme.runtime.streamEvents(
      { jobId, afterSeq: 2n ** 64n - 1n, follow: false, maxBatch: 0 },
      acme.metadata(),
    );
    await expectGrpcError(drain(stream), status.INVALID_ARGUMENT, 'INVALID_FIELD', { field: 'after_seq' });
    const subscription = acme.runtime.subscribeEvents(
      SubscribeEventsRequest.fromPartial({ after: { transactionId: 1n, position: 2n ** 64n - 1n } }),
      acme.metadata(),
    );
    await expectGrpcError(drain(subscription), status.INVALID_ARGUMENT, 'INVALID_FIELD', { field: 'after.position' });
    await expectGrpcError(
      append({ jobId, expectedSeq: max + 1n, events: [{ type: 'x', payload: json(1) }] }),
      status.INVALID_ARGUMENT,
      'INVALID_FIELD',
      { field: 'expected_seq' },
    );
    const worker = await env.clients('worker', 'acme');
    await expectGrpcError(
      unary(worker.runtime, worker.runtime.heartbeat, { jobId, fencingToken: 2n ** 64n - 1n }, worker.metadata()),
      status.INVALID_ARGUMENT,
      'INVALID_FIELD',
      { field: 'fencing_token' },
    );
  });

  it('resumes after a given seq and answers NOT_FOUND for unknown jobs', async () => {
    const jobId = await newJob();
    await append({ jobId, events: [1, 2, 3].map((n) => ({ type: 's', payload: json(n) })) });
    const seqs: bigint[] = [];
    for await (const message of messages(
      acme.runtime.streamEvents({ jobId, afterSeq: 2n, follow: false, maxBatch: 0 }, acme.metadata()),
    )) {
      seqs.push(...message.events.map((event) => event.seq));
    }
    expect(seqs).toEqual([3n, 4n]);
    const missing = acme.runtime.streamEvents(
      { jobId: newId(), afterSeq: 0n, follow: false, maxBatch: 0 },
      acme.metadata(),
    );
    await expectGrpcError(drain(missing), status.NOT_FOUND, 'NOT_FOUND');
  });
});
