import type { ClientReadableStream } from '@grpc/grpc-js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Event, GlobalPosition } from '../gen/ts/aetheris/runtime/v1/event.js';
import {
  AppendEventsRequest,
  CreateJobRequest,
  SubscribeEventsRequest,
  type SubscribeEventsResponse,
} from '../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { type AetherisClients, connect, unary } from '../src/client/connect.js';
import { payloadDigest } from '../src/domain/hash-chain.js';
import { newId } from '../src/domain/ids.js';
import type { RunningServer } from '../src/server/server.js';
import { createKey, query, startTestEnv, startTestServer, type TestEnv } from './helpers/harness.js';

let env: TestEnv;
let acme: AetherisClients;

beforeAll(async () => {
  env = await startTestEnv();
  acme = await env.clients('operator', 'acme');
});
afterAll(() => env.close());

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const key = (event: Event): string => `${event.jobId}/${event.seq}`;

async function newJob(clients = acme, jobType = 'agent'): Promise<string> {
  const { job } = await unary(
    clients.runtime,
    clients.runtime.createJob,
    CreateJobRequest.fromPartial({ jobType }),
    clients.metadata(),
  );
  return job?.id ?? '';
}

function append(jobId: string, type: string, count = 1, clients = acme) {
  const request = AppendEventsRequest.fromPartial({
    jobId,
    events: Array.from({ length: count }, (_, n) => ({ type, payload: json({ n }) })),
  });
  return unary(clients.runtime, clients.runtime.appendEvents, request, clients.metadata());
}

/** Reads a subscription in the background, exposing what arrived so far. */
class Subscriber {
  readonly events: Event[] = [];
  readonly checkpoints: GlobalPosition[] = [];
  readonly done: Promise<void>;
  private readonly waiters: (() => void)[] = [];
  private readonly stream: ClientReadableStream<SubscribeEventsResponse>;

  constructor(clients: AetherisClients, request: Omit<Partial<SubscribeEventsRequest>, 'filter'>) {
    const stream = clients.runtime.subscribeEvents(SubscribeEventsRequest.fromPartial(request), clients.metadata());
    this.stream = stream;
    this.done = (async () => {
      for await (const message of stream as AsyncIterable<SubscribeEventsResponse>) {
        this.events.push(...message.events);
        if (message.checkpoint) this.checkpoints.push(message.checkpoint);
        for (const wake of this.waiters.splice(0)) wake();
      }
    })().catch(() => undefined);
  }

  async waitFor(predicate: (events: Event[]) => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.events)) {
      if (Date.now() > deadline) throw new Error(`timed out with ${this.events.length} events`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  cancel(): void {
    this.stream.cancel();
  }
}

/** Every event of the tenant in global order, straight from SQL. */
async function storedOrder(tenant: string): Promise<string[]> {
  const rows = await query<{ k: string }>(
    env.url,
    `select job_id || '/' || seq as k from aetheris.events where tenant_id = $1 order by tx_id, position`,
    [tenant],
  );
  return rows.map((row) => row.k);
}

/** An append through a raw SQL session, which (unlike the server's calls) can hold its transaction open. */
type SessionAppend = (session: pg.Client, jobId: string, type: string, payload: string) => Promise<unknown>;

/** Runs `test` with two SQL sessions of the test database and an append for `tenant` through either. */
async function withTwoSessions(
  tenant: string,
  test: (first: pg.Client, second: pg.Client, appendIn: SessionAppend) => Promise<void>,
): Promise<void> {
  const sessions = [
    new pg.Client({ connectionString: env.url }),
    new pg.Client({ connectionString: env.url }),
  ] as const;
  await Promise.all(sessions.map((session) => session.connect()));
  const appendIn: SessionAppend = (session, jobId, type, payload) =>
    session.query(
      `select outcome from aetheris.append_events($1, $2::uuid, null, null, array[null]::uuid[], array[$3], array[$4], array[$5::bytea], 'sql')`,
      [tenant, jobId, type, payload, payloadDigest(payload)],
    );
  try {
    await test(sessions[0], sessions[1], appendIn);
  } finally {
    await Promise.all(sessions.map((session) => session.end()));
  }
}

describe('SubscribeEvents', () => {
  it('never skips an event committed late by a concurrent transaction', async () => {
    const tenantClients = await env.clients('operator', 'late');
    const [jobA, jobB] = [await newJob(tenantClients), await newJob(tenantClients)];
    const subscriber = new Subscriber(tenantClients, { follow: true });
    await subscriber.waitFor((events) => events.length === 2);

    await withTwoSessions('late', async (early, late, appendIn) => {
      // T1 takes its xid and position first but commits last.
      await early.query('begin');
      await appendIn(early, jobA, 'x', '"first"');
      await late.query('begin');
      await appendIn(late, jobB, 'x', '"second"');
      await late.query('commit');
      await new Promise((resolve) => setTimeout(resolve, 400));
      // T2 is committed, but delivering it now would let a cursor pass T1's earlier position.
      expect(subscriber.events.length).toBe(2);
      await early.query('commit');
      await subscriber.waitFor((events) => events.length === 4, 3000);
    });
    expect(subscriber.events.map(key)).toEqual(await storedOrder('late'));
    expect(subscriber.events.slice(2).map((event) => Buffer.from(event.payload).toString())).toEqual([
      '"first"',
      '"second"',
    ]);
    subscriber.cancel();
  });

  it('does not end a non-follow read before events held back by an open transaction', async () => {
    const clients = await env.clients('operator', 'held');
    const [jobA, jobB] = [await newJob(clients), await newJob(clients)];
    await withTwoSessions('held', async (early, late, appendIn) => {
      await early.query('begin');
      await appendIn(early, jobA, 'x', '"a"');
      await appendIn(late, jobB, 'x', '"b"');
      const events: Event[] = [];
      const read = (async () => {
        const stream = clients.runtime.subscribeEvents(
          SubscribeEventsRequest.fromPartial({ follow: false }),
          clients.metadata(),
        );
        for await (const message of stream as AsyncIterable<SubscribeEventsResponse>) events.push(...message.events);
      })();
      await new Promise((resolve) => setTimeout(resolve, 300));
      await early.query('commit');
      await read;
      expect(events.map(key)).toEqual(await storedOrder('held'));
      expect(events).toHaveLength(4);
    });
  });

  it('delivers every event exactly once, in order, across concurrent writers and a reconnect', async () => {
    const clients = await env.clients('operator', 'busy');
    const jobs = await Promise.all(Array.from({ length: 6 }, () => newJob(clients)));
    const first = new Subscriber(clients, { follow: true, maxBatch: 50 });
    let stop = false;
    const writers = jobs.map(async (jobId, index) => {
      for (let i = 0; !stop && i < 200; i++) await append(jobId, `w${index}`, 1 + (i % 4), clients);
    });
    await first.waitFor((events) => events.length > 150, 10_000);
    first.cancel();
    await first.done;
    const resumeFrom = first.checkpoints.at(-1);
    const received = [...first.events];
    const seenCheckpointEvents = received.filter((event) => {
      const pos = event.position;
      return (
        pos &&
        resumeFrom &&
        (pos.transactionId < resumeFrom.transactionId ||
          (pos.transactionId === resumeFrom.transactionId && pos.position <= resumeFrom.position))
      );
    });
    const second = new Subscriber(clients, { follow: true, after: resumeFrom });
    stop = true;
    await Promise.all(writers);
    const total = (await storedOrder('busy')).length;
    await second.waitFor((events) => seenCheckpointEvents.length + events.length >= total, 10_000);
    second.cancel();
    const all = [...seenCheckpointEvents, ...second.events].map(key);
    expect(new Set(all).size).toBe(all.length);
    expect(all).toEqual(await storedOrder('busy'));
  });

  it('starts from_end after everything committed before the call, even above a held-back horizon, and misses nothing after it', async () => {
    const clients = await env.clients('operator', 'fromend');
    const [jobA, jobB] = [await newJob(clients), await newJob(clients)];
    await withTwoSessions('fromend', async (older, pending, appendIn) => {
      // An older transaction holds the horizon back; one append is still open when the call begins.
      await older.query('begin');
      await older.query('select pg_current_xact_id()');
      await pending.query('begin');
      await appendIn(pending, jobA, 'in-flight', '{}');
      await append(jobB, 'before', 1, clients); // committed before the call, above the horizon
      const subscriber = new Subscriber(clients, { fromEnd: true, follow: true });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await pending.query('commit'); // commits after the call began: it is delivered
      await append(jobB, 'after', 1, clients);
      await older.query('rollback');
      await subscriber.waitFor((events) => events.length >= 2, 3000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      subscriber.cancel();
      expect(subscriber.events.map((event) => event.type)).toEqual(['in-flight', 'after']);
    });
  });

  it('tails live events with low latency', async () => {
    const clients = await env.clients('operator', 'latency');
    const jobId = await newJob(clients);
    const subscriber = new Subscriber(clients, { fromEnd: true, follow: true });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      await append(jobId, 'tick', 1, clients);
      await subscriber.waitFor((events) => events.length === i + 1, 2000);
      latencies.push(performance.now() - started);
    }
    subscriber.cancel();
    latencies.sort((a, b) => a - b);
    // Pushed, not polled: the safety re-check runs every 2 s.
    expect(latencies[Math.floor(latencies.length / 2)]).toBeLessThan(100);
    expect(subscriber.events.every((event) => event.type === 'tick')).toBe(true);
  });

  it('filters by event type prefix and job type while checkpoints move past filtered events', async () => {
    const clients = await env.clients('operator', 'filters');
    const refund = await newJob(clients, 'refund');
    const other = await newJob(clients, 'other');
    await append(refund, 'refund.requested', 2, clients);
    await append(other, 'refund.requested', 1, clients);
    await append(refund, 'noise', 3, clients);
    const events: Event[] = [];
    let lastCheckpoint: GlobalPosition | undefined;
    const stream = clients.runtime.subscribeEvents(
      SubscribeEventsRequest.fromPartial({ follow: false, filter: { eventTypes: ['refund.*'], jobTypes: ['refund'] } }),
      clients.metadata(),
    );
    for await (const message of stream as AsyncIterable<SubscribeEventsResponse>) {
      events.push(...message.events);
      lastCheckpoint = message.checkpoint;
    }
    expect(events.map((event) => event.type)).toEqual(['refund.requested', 'refund.requested']);
    const last = (
      await query<{ tx: string; pos: string }>(
        env.url,
        `select tx_id::text as tx, position::text as pos from aetheris.events where tenant_id = 'filters' order by tx_id desc, position desc limit 1`,
      )
    )[0];
    expect(lastCheckpoint && last && lastCheckpoint.transactionId >= BigInt(last.tx)).toBe(true);
  });

  it('wakes subscribers of another server process through NOTIFY', async () => {
    const other: RunningServer = await startTestServer(env.url);
    try {
      const token = await createKey(env.url, 'cluster', 'operator');
      const viaA = connect({ address: env.server.address, apiKey: token });
      const viaB = connect({ address: other.address, apiKey: token });
      const jobId = await newJob(viaA);
      const subscriber = new Subscriber(viaA, { fromEnd: true, follow: true });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const latencies: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        await append(jobId, 'remote', 1, viaB);
        await subscriber.waitFor((events) => events.length === i + 1, 3000);
        latencies.push(performance.now() - started);
      }
      subscriber.cancel();
      viaA.close();
      viaB.close();
      // Well under the 2 s safety re-check: the wake-up crossed processes via LISTEN/NOTIFY.
      expect(Math.max(...latencies)).toBeLessThan(500);
    } finally {
      await other.shutdown();
    }
  });
});

describe('flow control', () => {
  it('stops reading the database while a stream reader is paused', async () => {
    const clients = await env.clients('operator', 'slow');
    const jobId = await newJob(clients);
    const big = 'x'.repeat(4000);
    for (let i = 0; i < 10; i++) {
      const request = AppendEventsRequest.fromPartial({
        jobId,
        events: Array.from({ length: 500 }, () => ({ type: 'big', payload: json(big) })),
      });
      await unary(clients.runtime, clients.runtime.appendEvents, request, clients.metadata());
    }
    const before = env.server.stats.messagesStreamed;
    const stream = clients.runtime.streamEvents(
      { jobId, afterSeq: 0n, follow: false, maxBatch: 10 },
      clients.metadata(),
    );
    let received = 0;
    // A reader that takes one message and then stops reading (grpc-js clients only apply
    // HTTP/2 backpressure once they have started reading).
    const firstMessage = new Promise<void>((resolve) => {
      stream.on('data', (message: { events: unknown[] }) => {
        received += message.events.length;
        if (received === 10) {
          stream.pause();
          resolve();
        }
      });
    });
    await firstMessage;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const whilePaused = env.server.stats.messagesStreamed - before;
    // 501 messages of ~40 kB exist; only what fits in the HTTP/2 windows, the client's 16-message
    // buffer and one pending write may leave the server.
    expect(whilePaused).toBeLessThan(40);
    stream.resume();
    await new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    expect(received).toBe(5001);
  });
});

describe('idempotent ids across the stream', () => {
  it('streams a retried append once', async () => {
    const clients = await env.clients('operator', 'retry');
    const jobId = await newJob(clients);
    const request = AppendEventsRequest.fromPartial({
      jobId,
      events: [{ eventId: newId(), type: 'once', payload: json(1) }],
    });
    await Promise.all(
      [1, 2, 3].map(() => unary(clients.runtime, clients.runtime.appendEvents, request, clients.metadata())),
    );
    const events: Event[] = [];
    const stream = clients.runtime.subscribeEvents(
      SubscribeEventsRequest.fromPartial({ follow: false }),
      clients.metadata(),
    );
    for await (const message of stream as AsyncIterable<SubscribeEventsResponse>) events.push(...message.events);
    expect(events.map((event) => event.type)).toEqual(['aetheris.job.created', 'once']);
  });
});
