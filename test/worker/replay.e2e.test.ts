import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobState } from '../../gen/ts/aetheris/runtime/v1/job.js';
import type { AetherisClients } from '../../src/client/connect.js';
import { NondeterminismError, ToolFailedError, WorkerState } from '../../src/worker/index.js';
import { startTestEnv, type TestEnv } from '../helpers/harness.js';
import { createJob, newWorker, parseJson, readEvents, waitForState } from './worker-helpers.js';

let env: TestEnv;
let operator: AetherisClients;

beforeAll(async () => {
  env = await startTestEnv();
  operator = await env.clients('operator', 'acme');
});
afterAll(() => env.close());

const DONE = [JobState.JOB_STATE_COMPLETED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED];

describe('Worker: tool calls', () => {
  it('runs a job with three tool calls once each, stores the output and records the calls', async () => {
    const runs = { quote: 0, charge: 0, email: 0 };
    const worker = await newWorker(env);
    worker.register<{ amount: number }>('three-tools', async (ctx, input) => {
      const quote = await ctx.tool('quote', { amount: input.amount }, async () => {
        runs.quote++;
        return { total: input.amount + 5 };
      });
      const charge = await ctx.tool('charge', quote, async ({ idempotencyKey }) => {
        runs.charge++;
        return { charged: quote.total, key: idempotencyKey };
      });
      await ctx.tool('email', { to: 'a@example.com' }, async () => {
        runs.email++;
      });
      return { charged: charge.charged, keyed: charge.key.length > 0 };
    });
    expect(worker.state).toBe(WorkerState.INITIAL);
    const jobId = await createJob(operator, 'three-tools', { amount: 10 });

    const job = await worker.runUntil(waitForState(operator, jobId, DONE));
    expect(worker.state).toBe(WorkerState.STOPPED);

    expect(JobState[job.state]).toBe('JOB_STATE_COMPLETED');
    expect(parseJson(job.output)).toEqual({ charged: 15, keyed: true });
    expect(runs).toEqual({ quote: 1, charge: 1, email: 1 });
    const types = (await readEvents(operator, jobId)).map((event) => event.type);
    expect(types.filter((type) => type === 'aetheris.tool_call.started')).toHaveLength(3);
    expect(types.filter((type) => type === 'aetheris.tool_call.finished')).toHaveLength(3);
    expect(types.at(-1)).toBe('aetheris.job.completed');
  });

  it('records a throwing tool as failed and hands the handler a ToolFailedError', async () => {
    const seen: unknown[] = [];
    const worker = await newWorker(env);
    worker.register('tool-throws', async (ctx) => {
      try {
        await ctx.tool('flaky', {}, async () => {
          throw new RangeError('upstream said no');
        });
      } catch (error) {
        seen.push(error);
      }
      return 'handled';
    });
    const jobId = await createJob(operator, 'tool-throws', null);
    const job = await worker.runUntil(waitForState(operator, jobId, DONE));
    expect(JobState[job.state]).toBe('JOB_STATE_COMPLETED');
    expect(seen[0]).toBeInstanceOf(ToolFailedError);
    expect(seen[0]).toMatchObject({ toolName: 'flaky', callKey: '1', reason: 'RangeError' });
  });
});

describe('Worker: deterministic replay', () => {
  it('does not re-run recorded tools on the next attempt and completes', async () => {
    const runs = { first: 0, second: 0, third: 0 };
    const attempts: number[] = [];
    const worker = await newWorker(env);
    worker.register('replay', async (ctx) => {
      attempts.push(ctx.job.attempt);
      const a = await ctx.tool('first', { n: 1 }, async () => ++runs.first);
      const b = await ctx.tool('second', { n: 2 }, async () => ++runs.second);
      if (ctx.job.attempt === 1) throw new Error('crash after two tool calls');
      const c = await ctx.tool('third', { n: 3 }, async () => ++runs.third);
      return [a, b, c];
    });
    const jobId = await createJob(operator, 'replay', null);

    const job = await worker.runUntil(waitForState(operator, jobId, DONE));

    expect(JobState[job.state]).toBe('JOB_STATE_COMPLETED');
    expect(attempts).toEqual([1, 2]);
    expect(runs).toEqual({ first: 1, second: 1, third: 1 });
    expect(parseJson(job.output)).toEqual([1, 1, 1]);
    const types = (await readEvents(operator, jobId)).map((event) => event.type);
    expect(types.filter((type) => type === 'aetheris.tool_call.started')).toHaveLength(3);
    expect(types).toContain('aetheris.attempt.failed');
  });

  it('fails the job as NONDETERMINISM when the second tool depends on the attempt', async () => {
    const seen: unknown[] = [];
    const worker = await newWorker(env);
    worker.register('drifting', async (ctx) => {
      await ctx.tool('lookup', {}, async () => 'ok');
      try {
        await ctx.tool(ctx.job.attempt === 1 ? 'refund-card' : 'refund-wallet', {}, async () => 'refunded');
      } catch (error) {
        seen.push(error);
        // Swallowing it must not let the job complete.
        return 'pretend all is well';
      }
      if (ctx.job.attempt === 1) throw new Error('crash');
      return 'unreachable';
    });
    const jobId = await createJob(operator, 'drifting', null);

    const job = await worker.runUntil(waitForState(operator, jobId, DONE));

    expect(JobState[job.state]).toBe('JOB_STATE_FAILED');
    expect(job.attempt).toBe(2);
    expect(job.lastError?.reason).toBe('NONDETERMINISM');
    expect(job.lastError?.message).toContain('call #2');
    expect(job.lastError?.message).toContain('"refund-wallet"');
    expect(job.lastError?.message).toContain('"refund-card"');
    expect(seen[0]).toBeInstanceOf(NondeterminismError);
    expect(seen[0]).toMatchObject({ callKey: '2', requestedTool: 'refund-wallet', recordedTool: 'refund-card' });
  });

  it('treats changed arguments at the same position as NONDETERMINISM', async () => {
    const worker = await newWorker(env);
    worker.register('arg-drift', async (ctx) => {
      await ctx.tool('pay', { amount: ctx.job.attempt * 10 }, async () => 'paid');
      throw new Error('crash');
    });
    const jobId = await createJob(operator, 'arg-drift', null);
    const job = await worker.runUntil(waitForState(operator, jobId, DONE));
    expect(JobState[job.state]).toBe('JOB_STATE_FAILED');
    expect(job.lastError?.reason).toBe('NONDETERMINISM');
    expect(job.lastError?.message).toContain('different arguments');
  });

  it('returns the recorded now/random/uuid on replay', async () => {
    const values: { now: Date; random: number; uuid: string; attempt: number }[] = [];
    const worker = await newWorker(env);
    worker.register('side-effects', async (ctx) => {
      const now = await ctx.now();
      const random = await ctx.random();
      const uuid = await ctx.uuid();
      values.push({ now, random, uuid, attempt: ctx.job.attempt });
      // Let the clock move so a re-executed now() would differ.
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (ctx.job.attempt === 1) throw new Error('crash after recording');
      return { now: now.toISOString(), random, uuid };
    });
    const jobId = await createJob(operator, 'side-effects', null);

    const job = await worker.runUntil(waitForState(operator, jobId, DONE));

    expect(JobState[job.state]).toBe('JOB_STATE_COMPLETED');
    const [first, second] = values;
    expect(values.map((v) => v.attempt)).toEqual([1, 2]);
    expect(first?.now).toBeInstanceOf(Date);
    expect(second?.now.getTime()).toBe(first?.now.getTime());
    expect(second?.random).toBe(first?.random);
    expect(second?.uuid).toBe(first?.uuid);
    expect(first?.random).toBeGreaterThanOrEqual(0);
    expect(first?.random).toBeLessThan(1);
    expect(first?.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseJson(job.output)).toEqual({
      now: first?.now.toISOString(),
      random: first?.random,
      uuid: first?.uuid,
    });
  });
});
