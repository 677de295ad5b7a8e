import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobState } from '../../gen/ts/aetheris/runtime/v1/job.js';
import type { AetherisClients } from '../../src/client/connect.js';
import { NonRetryableError } from '../../src/worker/index.js';
import { startTestEnv, type TestEnv } from '../helpers/harness.js';
import {
  captureLogger,
  createJob,
  getJob,
  latch,
  newWorker,
  parseJson,
  readEvents,
  waitForState,
} from './worker-helpers.js';

let env: TestEnv;
let operator: AetherisClients;

beforeAll(async () => {
  env = await startTestEnv();
  operator = await env.clients('operator', 'acme');
});
afterAll(() => env.close());

const DONE = [JobState.JOB_STATE_COMPLETED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED];

describe('Worker: leases and timers', () => {
  it('keeps the lease alive with heartbeats while a handler outlives the lease duration', async () => {
    const worker = await newWorker(env, { leaseDurationMs: 1_000, heartbeatIntervalMs: 250 });
    worker.register('long-runner', async (ctx) => {
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      return ctx.tool('after-a-while', {}, async () => 'still mine');
    });
    const jobId = await createJob(operator, 'long-runner', null);
    const job = await worker.runUntil(waitForState(operator, jobId, DONE));
    expect(JobState[job.state]).toBe('JOB_STATE_COMPLETED');
    expect(job.attempt).toBe(1);
    expect(parseJson(job.output)).toBe('still mine');
  });

  it('sleeps durably: a long sleep gives the lease back and the replay wakes at the recorded time', async () => {
    const runs = { before: 0, handler: 0 };
    const firstRunEnded = latch();
    const worker = await newWorker(env);
    worker.register('sleeper', async (ctx) => {
      runs.handler++;
      await ctx.tool('before-sleep', {}, async () => ++runs.before);
      try {
        await ctx.sleep(6_000);
      } finally {
        firstRunEnded.resolve();
      }
      return { woke: (await ctx.now()).getTime() };
    });
    const jobId = await createJob(operator, 'sleeper', null);
    const createdAt = Date.now();

    const job = await worker.runUntil(async () => {
      await firstRunEnded.promise;
      // While it sleeps the job holds no lease and no slot.
      const sleeping = await getJob(operator, jobId);
      expect(JobState[sleeping.state]).toBe('JOB_STATE_PENDING');
      expect(sleeping.leaseOwner).toBe('');
      return waitForState(operator, jobId, DONE, 20_000);
    });

    expect(JobState[job.state]).toBe('JOB_STATE_COMPLETED');
    expect(job.attempt).toBe(1);
    expect(runs).toEqual({ before: 1, handler: 2 });
    expect((parseJson(job.output) as { woke: number }).woke - createdAt).toBeGreaterThanOrEqual(6_000);
    const types = (await readEvents(operator, jobId)).map((event) => event.type);
    expect(types).toContain('aetheris.job.released');
  }, 30_000);

  it('enforces a step timeout: the tool is aborted, nothing is recorded, the next attempt retries it in doubt', async () => {
    const runs: { attempt: number; aborted: boolean }[] = [];
    const worker = await newWorker(env);
    worker.register('slow-step', async (ctx) =>
      ctx.tool(
        'slow-api',
        {},
        async ({ idempotencyKey, signal }) => {
          const run = { attempt: ctx.job.attempt, aborted: false };
          runs.push(run);
          if (ctx.job.attempt === 1) {
            await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
            run.aborted = true;
          }
          return idempotencyKey;
        },
        { idempotent: true, timeoutMs: 200 },
      ),
    );
    const jobId = await createJob(operator, 'slow-step', null);
    const job = await worker.runUntil(waitForState(operator, jobId, DONE));
    expect(JobState[job.state]).toBe('JOB_STATE_COMPLETED');
    expect(job.attempt).toBe(2);
    expect(runs).toEqual([
      { attempt: 1, aborted: true },
      { attempt: 2, aborted: false },
    ]);
    expect(parseJson(job.output)).toBe(`${jobId}:1`);
    const types = (await readEvents(operator, jobId)).map((event) => event.type);
    expect(types.filter((type) => type === 'aetheris.tool_call.finished')).toHaveLength(1);
    expect(types).toContain('aetheris.tool_call.in_doubt');
  });

  it('sleeps a short time in process, recording the wake time', async () => {
    const worker = await newWorker(env);
    worker.register('napper', async (ctx) => {
      const before = Date.now();
      await ctx.sleep(300);
      return Date.now() - before;
    });
    const jobId = await createJob(operator, 'napper', null);
    const job = await worker.runUntil(waitForState(operator, jobId, DONE));
    expect(JobState[job.state]).toBe('JOB_STATE_COMPLETED');
    expect(parseJson(job.output)).toBeGreaterThanOrEqual(290);
  });
});

describe('Worker: failures and concurrency', () => {
  it('fails the job at once on a NonRetryableError', async () => {
    const worker = await newWorker(env);
    worker.register('refuses', async () => {
      throw new NonRetryableError('the order does not exist');
    });
    const jobId = await createJob(operator, 'refuses', null);
    const job = await worker.runUntil(waitForState(operator, jobId, DONE));
    expect(JobState[job.state]).toBe('JOB_STATE_FAILED');
    expect(job.attempt).toBe(1);
    expect(job.lastError).toMatchObject({ reason: 'NonRetryableError', message: 'the order does not exist' });
  });

  it('retries a plain handler error under the retry policy until attempts are spent', async () => {
    const worker = await newWorker(env);
    let calls = 0;
    worker.register('always-fails', async () => {
      calls++;
      throw new TypeError('bad luck');
    });
    const jobId = await createJob(operator, 'always-fails', null);
    const job = await worker.runUntil(waitForState(operator, jobId, DONE));
    expect(JobState[job.state]).toBe('JOB_STATE_FAILED');
    expect(calls).toBe(3);
    expect(job.lastError?.reason).toBe('TypeError');
  });

  it('runs up to `concurrency` jobs at the same time', async () => {
    let running = 0;
    let peak = 0;
    const worker = await newWorker(env, { concurrency: 3 });
    worker.register('parallel', async (ctx) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 300));
      running--;
      return ctx.job.id;
    });
    const jobIds = await Promise.all(Array.from({ length: 6 }, () => createJob(operator, 'parallel', null)));
    const jobs = await worker.runUntil(Promise.all(jobIds.map((id) => waitForState(operator, id, DONE))));
    expect(jobs.map((job) => JobState[job.state])).toEqual(Array(6).fill('JOB_STATE_COMPLETED'));
    expect(peak).toBe(3);
  });
});

/** A TCP proxy to the test server that can cut every connection and refuse new ones for a while. */
async function startProxy(target: string): Promise<{ address: string; down(): void; up(): void; close(): void }> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const sockets = new Set<net.Socket>();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) return client.destroy();
    const upstream = net.connect(port, host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: proxyPort } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${proxyPort}`,
    down() {
      refusing = true;
      for (const socket of sockets) socket.destroy();
    },
    up() {
      refusing = false;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

describe('Worker: transient failures', () => {
  it('retries ledger writes through a server outage without re-running the tool', async () => {
    const proxy = await startProxy(env.server.address);
    const logger = captureLogger();
    let charges = 0;
    const worker = await newWorker(env, { address: proxy.address, logger });
    worker.register('outage', async (ctx) => {
      const receipt = await ctx.tool('charge', { amount: 5 }, async () => {
        charges++;
        // The connection dies while the tool runs: recording its result must wait and retry.
        proxy.down();
        setTimeout(() => proxy.up(), 1_500);
        return 'receipt-1';
      });
      return receipt;
    });
    const jobId = await createJob(operator, 'outage', null);
    try {
      const job = await worker.runUntil(waitForState(operator, jobId, DONE, 20_000));
      expect(JobState[job.state]).toBe('JOB_STATE_COMPLETED');
      expect(job.attempt).toBe(1);
      expect(parseJson(job.output)).toBe('receipt-1');
      expect(charges).toBe(1);
      expect(logger.lines.some((line) => line.msg === 'worker RPC failed transiently; retrying')).toBe(true);
    } finally {
      proxy.close();
    }
  }, 30_000);
});
