/**
 * The TypeScript client suite: the same scenarios the Go and Python suites run (test/clients/
 * go.e2e.test.ts, python.e2e.test.ts), through the public TS client (src/client) and worker SDK
 * (src/worker) against a real server on loopback: a worker process killed after a tool and
 * resumed without repeating it, a signal, replay-then-follow, the tenant subscription, error
 * decoding, the hash chain recomputed client side, and retries that are safe to make.
 */
import { randomUUID } from 'node:crypto';
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobState } from '../../gen/ts/aetheris/runtime/v1/job.js';
import {
  AppendEventsRequest,
  CreateJobRequest,
  GetJobRequest,
  GetJobResponse,
  RuntimeServiceService,
  StreamEventsRequest,
  type StreamEventsResponse,
  SubscribeEventsRequest,
  type SubscribeEventsResponse,
} from '../../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { SendSignalRequest } from '../../gen/ts/aetheris/signal/v1/signal_service.js';
import { type AetherisClients, connect, unary } from '../../src/client/connect.js';
import { AetherisRpcError, toRpcError } from '../../src/client/errors.js';
import { callWithRetry, safeToRetry } from '../../src/client/retry.js';
import { verifyEventChain } from '../../src/client/verify-chain.js';
import { createKey, query, startTestEnv, type TestEnv } from '../helpers/harness.js';
import { type Child, killAll, spawnCrashWorker } from '../helpers/processes.js';
import { createJob, newWorker, parseJson, readEvents, waitForState } from '../worker/worker-helpers.js';

const TENANT = 'acme';
let env: TestEnv;
let admin: AetherisClients;

beforeAll(async () => {
  env = await startTestEnv({ sweepIntervalMs: 200 });
  admin = await env.clients('admin', TENANT);
});
afterAll(async () => {
  killAll();
  await env?.close();
});

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

async function append(jobId: string, types: string[]): Promise<void> {
  await unary(
    admin.runtime,
    admin.runtime.appendEvents,
    AppendEventsRequest.fromPartial({
      jobId,
      events: types.map((type, index) => ({ eventId: randomUUID(), type, payload: json({ type, index }) })),
    }),
    admin.metadata(),
  );
}

/** Reads a stream until `enough` says stop, then cancels it; rejects after `timeoutMs`. */
function collect<T>(
  stream: AsyncIterable<T> & { cancel(): void },
  enough: (seen: T[]) => boolean,
  timeoutMs = 10_000,
): Promise<T[]> {
  const seen: T[] = [];
  const timer = setTimeout(() => stream.cancel(), timeoutMs);
  return (async () => {
    try {
      for await (const message of stream) {
        seen.push(message);
        if (enough(seen)) break;
      }
    } catch (error) {
      if ((error as { code?: number }).code !== status.CANCELLED) throw error;
    } finally {
      clearTimeout(timer);
      stream.cancel();
    }
    if (!enough(seen)) throw new Error(`stream ended after ${seen.length} messages without the expected ones`);
    return seen;
  })();
}

describe('TypeScript client', () => {
  it('worker crash resume: a SIGKILLed worker process is resumed without repeating its tools', async () => {
    await query(
      env.url,
      `create table if not exists side_effects (external_key text primary key, job_id uuid not null,
       tool text not null, executions int not null)`,
    );
    const queue = 'ts-crash';
    const jobId = await createJob(admin, 'refund', { order: 'A-1' }, { queue });
    const base = {
      AETHERIS_ADDRESS: env.server.address,
      AETHERIS_API_KEY: await createKey(env.url, TENANT, 'worker'),
      SIDE_EFFECTS_URL: env.url,
      QUEUE: queue,
      LEASE_MS: '1000',
    };
    const first: Child = await spawnCrashWorker({ ...base, CRASH_AT: 'after-issue-refund' });
    expect((await first.exited).signal).toBe('SIGKILL');
    const second = await spawnCrashWorker(base);
    const job = await waitForState(admin, jobId, [JobState.JOB_STATE_COMPLETED, JobState.JOB_STATE_FAILED], 20_000);
    second.process.kill('SIGTERM');
    expect(JobState[job.state]).toBe('JOB_STATE_COMPLETED');
    expect(job.attempt).toBe(2);
    const rows = await query<{ tool: string; executions: number }>(
      env.url,
      'select tool, executions from side_effects where job_id = $1 order by tool',
      [jobId],
    );
    expect(rows).toEqual([
      { tool: 'issue-refund', executions: 1 },
      { tool: 'lookup-order', executions: 1 },
      { tool: 'notify-customer', executions: 1 },
    ]);
    const output = parseJson(job.output) as { refund: { key: string }; attempt: number };
    expect(output.attempt).toBe(2);
    expect(output.refund.key).toBe(`${jobId}:2`); // the recorded result of attempt 1, replayed
  });

  it('signal: a parked job resumes on SendSignal; the duplicate is acknowledged, not delivered twice', async () => {
    const queue = 'ts-signal';
    const worker = await newWorker(env, { taskQueue: queue });
    worker.register('approval', async (ctx) => {
      const decision = await ctx.waitForSignal<{ approved: boolean }>('approval', { timeoutMs: 60_000 });
      return decision.timedOut ? { approved: false } : { approved: decision.payload.approved };
    });
    const running = worker.run();
    try {
      const jobId = await createJob(admin, 'approval', {}, { queue });
      await waitForState(admin, jobId, [JobState.JOB_STATE_PARKED]);
      const signalId = randomUUID();
      const send = () =>
        unary(
          admin.signal,
          admin.signal.sendSignal,
          SendSignalRequest.fromPartial({ jobId, name: 'approval', payload: json({ approved: true }), signalId }),
          admin.metadata(),
        );
      const firstSend = await send();
      const again = await send();
      expect([firstSend.duplicate, again.duplicate]).toEqual([false, true]);
      const job = await waitForState(admin, jobId, [JobState.JOB_STATE_COMPLETED]);
      expect(parseJson(job.output)).toEqual({ approved: true });
      const received = (await readEvents(admin, jobId)).filter((event) => event.type === 'aetheris.signal.received');
      expect(received).toHaveLength(1);
    } finally {
      await worker.shutdown({ graceMs: 1000 });
      await running;
    }
  });

  it('stream events: replays the history, then follows appends in seq order', async () => {
    const jobId = await createJob(admin, 'stream', {}, { queue: 'ts-nobody' });
    await append(jobId, ['a', 'b']);
    const stream = admin.runtime.streamEvents(
      StreamEventsRequest.fromPartial({ jobId, follow: true }),
      admin.metadata(),
    );
    const seen: StreamEventsResponse[] = [];
    const all = () => seen.flatMap((message) => message.events);
    const done = collect(stream, (messages) => {
      seen.splice(0, seen.length, ...messages);
      return all().some((event) => event.type === 'd');
    });
    // Append only once the replay is caught up, so c and d are followed, not replayed.
    const until = Date.now() + 10_000;
    while (!seen.some((message) => message.caughtUp)) {
      if (Date.now() > until) throw new Error('stream never caught up');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const replayed = all().map((event) => event.type);
    await append(jobId, ['c', 'd']);
    await done;
    expect(replayed).toEqual(['aetheris.job.created', 'a', 'b']);
    expect(all().map((event) => event.seq)).toEqual([1n, 2n, 3n, 4n, 5n]);
    expect(all().map((event) => event.type)).toEqual(['aetheris.job.created', 'a', 'b', 'c', 'd']);
  });

  it('subscribe: the tenant stream delivers new jobs in position order and resumes without redelivery', async () => {
    const subscribe = (after?: SubscribeEventsResponse['checkpoint']) =>
      admin.runtime.subscribeEvents(
        SubscribeEventsRequest.fromPartial(after ? { after, follow: true } : { fromEnd: true, follow: true }),
        admin.metadata(),
      );
    const stream = subscribe();
    await new Promise((resolve) => setTimeout(resolve, 200)); // let the subscription reach its live tail
    const jobA = await createJob(admin, 'sub', {}, { queue: 'ts-nobody' });
    await append(jobA, ['first.done']);
    const messages = await collect<SubscribeEventsResponse>(stream, (seen) =>
      seen.some((m) => m.checkpoint && m.events.some((event) => event.type === 'first.done')),
    );
    const received = messages.flatMap((message) => message.events);
    const checkpoint = messages.find((m) => m.events.some((event) => event.type === 'first.done'))?.checkpoint;
    const ofA = received.filter((event) => event.jobId === jobA).map((event) => event.type);
    expect(ofA).toEqual(['aetheris.job.created', 'first.done']);
    const positions = received.map((event) => event.position);
    for (let i = 1; i < positions.length; i++) {
      const [prev, next] = [positions[i - 1], positions[i]];
      const ordered =
        (prev?.transactionId ?? 0n) < (next?.transactionId ?? 0n) ||
        (prev?.transactionId === next?.transactionId && (prev?.position ?? 0n) < (next?.position ?? 0n));
      expect(ordered).toBe(true);
    }
    // Resume from the checkpoint: only what came after it.
    const jobB = await createJob(admin, 'sub', {}, { queue: 'ts-nobody' });
    const resumed = await collect(subscribe(checkpoint), (messages) =>
      messages.flatMap((m) => m.events).some((event) => event.jobId === jobB),
    );
    const resumedJobs = new Set(resumed.flatMap((m) => m.events).map((event) => event.jobId));
    expect(resumedJobs.has(jobA)).toBe(false);
    expect(resumedJobs.has(jobB)).toBe(true);
  });

  it('error mapping: NOT_FOUND, INVALID_ARGUMENT naming the field, PERMISSION_DENIED, other tenant', async () => {
    const decode = (promise: Promise<unknown>) =>
      promise.then(
        () => {
          throw new Error('expected an error');
        },
        (error: unknown) => toRpcError(error) as AetherisRpcError,
      );
    const missing = await decode(
      unary(admin.runtime, admin.runtime.getJob, GetJobRequest.fromPartial({ jobId: randomUUID() }), admin.metadata()),
    );
    expect(missing).toBeInstanceOf(AetherisRpcError);
    expect([missing.code, missing.reason]).toEqual([status.NOT_FOUND, 'NOT_FOUND']);

    const invalid = await decode(
      unary(admin.runtime, admin.runtime.getJob, GetJobRequest.fromPartial({ jobId: 'nope' }), admin.metadata()),
    );
    expect([invalid.code, invalid.reason, invalid.metadata.field]).toEqual([
      status.INVALID_ARGUMENT,
      'INVALID_FIELD',
      'job_id',
    ]);
    expect(invalid.fieldViolations.map((violation) => violation.field)).toEqual(['job_id']);

    const reader = await env.clients('reader', TENANT);
    const denied = await decode(
      unary(
        reader.runtime,
        reader.runtime.createJob,
        CreateJobRequest.fromPartial({ jobType: 'x', input: json({}) }),
        reader.metadata(),
      ),
    );
    expect([denied.code, denied.reason]).toEqual([status.PERMISSION_DENIED, 'PERMISSION_DENIED']);

    const jobId = await createJob(admin, 'mine', {}, { queue: 'ts-nobody' });
    const other = await env.clients('admin', 'globex');
    const hidden = await decode(
      unary(other.runtime, other.runtime.getJob, GetJobRequest.fromPartial({ jobId }), other.metadata()),
    );
    expect([hidden.code, hidden.reason]).toEqual([status.NOT_FOUND, 'NOT_FOUND']);
  });

  it('hash chain: the client recomputes every server hash and pinpoints a tampered event', async () => {
    const jobId = await createJob(admin, 'chain', { unicode: 'é€😀', n: [1.5, -0, 1e21] }, { queue: 'ts-nobody' });
    await append(jobId, ['x', 'y', 'z']);
    const events = await readEvents(admin, jobId);
    expect(events).toHaveLength(4);
    expect(verifyEventChain(TENANT, events)).toEqual([]);
    const tampered = events.map((event) => ({ ...event, payload: Buffer.from(event.payload) }));
    const third = tampered[2];
    if (!third) throw new Error('missing event');
    const at = third.payload.length - 2;
    third.payload[at] = (third.payload[at] ?? 0) ^ 1;
    // Only the tampered event is flagged: its digest and its hash no longer reproduce; the next
    // event still links to the stored hash.
    expect(verifyEventChain(TENANT, tampered)).toEqual([
      { seq: 3n, problem: 'PAYLOAD_DIGEST_MISMATCH' },
      { seq: 3n, problem: 'HASH_MISMATCH' },
    ]);
    // The tenant is part of the hash: another tenant's name cannot reproduce it.
    expect(verifyEventChain('globex', events).map((violation) => violation.problem)).toContain('HASH_MISMATCH');
  });
});

describe('retries on UNAVAILABLE', () => {
  it('knows which calls are safe to repeat', () => {
    const runtime = '/aetheris.runtime.v1.RuntimeService';
    expect(safeToRetry(`${runtime}/GetJob`, {})).toBe(true);
    expect(safeToRetry(`${runtime}/CreateJob`, { idempotencyKey: '' })).toBe(false);
    expect(safeToRetry(`${runtime}/CreateJob`, { idempotencyKey: 'order-1' })).toBe(true);
    expect(safeToRetry(`${runtime}/AppendEvents`, { events: [{ eventId: 'a' }, { eventId: '' }] })).toBe(false);
    expect(safeToRetry(`${runtime}/AppendEvents`, { events: [{ eventId: 'a' }] })).toBe(true);
    expect(safeToRetry(`${runtime}/CompleteJob`, {})).toBe(false);
  });

  it('retries a safe call through UNAVAILABLE with backoff and never retries other codes', async () => {
    let calls = 0;
    let failuresLeft = 2;
    const server = new Server();
    const getJob = (call: ServerUnaryCall<GetJobRequest, GetJobResponse>, callback: sendUnaryData<GetJobResponse>) => {
      calls++;
      if (call.request.jobId === 'missing') return callback({ code: status.NOT_FOUND, details: 'no such job' });
      if (failuresLeft-- > 0) return callback({ code: status.UNAVAILABLE, details: 'database restarting' });
      callback(null, GetJobResponse.fromPartial({ job: { id: call.request.jobId } }));
    };
    server.addService(RuntimeServiceService, { getJob } as never);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    const clients = connect({ address: `127.0.0.1:${port}`, apiKey: 'unused' });
    try {
      const policy = { maxAttempts: 4, initialBackoffMs: 10, maxBackoffMs: 50 };
      const response = await callWithRetry(
        clients.runtime,
        clients.runtime.getJob,
        GetJobRequest.fromPartial({ jobId: 'j1' }),
        clients.metadata(),
        policy,
      );
      expect([response.job?.id, calls]).toEqual(['j1', 3]);

      calls = 0;
      const notFound = await callWithRetry(
        clients.runtime,
        clients.runtime.getJob,
        GetJobRequest.fromPartial({ jobId: 'missing' }),
        clients.metadata(),
        policy,
      ).catch((error: unknown) => error);
      expect([(notFound as AetherisRpcError).code, calls]).toEqual([status.NOT_FOUND, 1]);

      calls = 0;
      failuresLeft = 10;
      const gaveUp = await callWithRetry(
        clients.runtime,
        clients.runtime.getJob,
        GetJobRequest.fromPartial({ jobId: 'j2' }),
        clients.metadata(),
        policy,
      ).catch((error: unknown) => error);
      expect([(gaveUp as AetherisRpcError).code, calls]).toEqual([status.UNAVAILABLE, 4]);
    } finally {
      clients.close();
      server.forceShutdown();
    }
  });
});
