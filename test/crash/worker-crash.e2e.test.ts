/**
 * The proof of the product: real server and worker processes, killed with SIGKILL at every
 * point of a tool call. In every case the job finishes, each tool's side effect takes effect
 * at most once, and no acknowledged event is lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobState } from '../../gen/ts/aetheris/runtime/v1/job.js';
import { CreateJobRequest } from '../../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { type AetherisClients, connect, unary } from '../../src/client/connect.js';
import { verifyEventChain } from '../../src/client/verify-chain.js';
import { readAllEvents } from '../drills/drill-helpers.js';
import { createKey, createTestDatabase, query } from '../helpers/harness.js';
import { type Child, freePort, killAll, spawnCrashWorker, spawnServer } from '../helpers/processes.js';

let url: string;
let drop: () => Promise<void>;
let port: number;
let server: Child;
let ops: AetherisClients;
let workerKey: string;

beforeAll(async () => {
  const database = await createTestDatabase();
  url = database.url;
  drop = database.drop;
  await query(
    url,
    `create table side_effects (external_key text primary key, job_id uuid not null, tool text not null, executions int not null)`,
  );
  port = await freePort();
  server = await spawnServer(url, port);
  ops = connect({ address: `127.0.0.1:${port}`, apiKey: await createKey(url, 'acme', 'operator') });
  workerKey = await createKey(url, 'acme', 'worker');
}, 60_000);

afterAll(async () => {
  ops?.close();
  killAll();
  await drop?.();
});

const address = (): string => `127.0.0.1:${port}`;

function worker(queue: string, env: Record<string, string> = {}): Promise<Child> {
  return spawnCrashWorker({
    AETHERIS_ADDRESS: address(),
    AETHERIS_API_KEY: workerKey,
    SIDE_EFFECTS_URL: url,
    QUEUE: queue,
    LEASE_MS: '2000',
    ...env,
  });
}

async function createRefund(queue: string, input: Record<string, unknown>): Promise<string> {
  const request = CreateJobRequest.fromPartial({
    jobType: 'refund',
    queue,
    input: Buffer.from(JSON.stringify(input)),
    retryPolicy: {
      maxAttempts: 5,
      initialBackoff: { seconds: 0n, nanos: 50_000_000 },
      maxBackoff: { seconds: 0n, nanos: 100_000_000 },
    },
  });
  const { job } = await unary(ops.runtime, ops.runtime.createJob, request, ops.metadata());
  return job?.id ?? '';
}

async function waitForState(jobId: string, states: JobState[], timeoutMs = 20_000): Promise<JobState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { job } = await unary(ops.runtime, ops.runtime.getJob, { jobId }, ops.metadata()).catch(() => ({
      job: undefined,
    }));
    if (job && states.includes(job.state)) return job.state;
    if (Date.now() > deadline) throw new Error(`job ${jobId} stayed ${job ? JobState[job.state] : 'unreachable'}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function waitForEvent(jobId: string, type: string, count: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await readAllEvents(ops, jobId)).filter((event) => event.type === type).length < count) {
    if (Date.now() > deadline) throw new Error(`no ${count}× ${type} in job ${jobId}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function effects(jobId: string): Promise<Record<string, { executions: number; key: string }>> {
  const rows = await query<{ tool: string; executions: number; external_key: string }>(
    url,
    'select tool, executions, external_key from side_effects where job_id = $1',
    [jobId],
  );
  return Object.fromEntries(rows.map((row) => [row.tool, { executions: row.executions, key: row.external_key }]));
}

async function assertHistoryIntact(jobId: string): Promise<string[]> {
  const events = await readAllEvents(ops, jobId);
  expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => BigInt(index + 1)));
  expect(verifyEventChain('acme', events)).toEqual([]);
  return events.map((event) => event.type);
}

describe('worker SIGKILLed around a tool call', () => {
  const cases = [
    { point: 'before-issue-refund', refundExecutions: 1 },
    { point: 'during-issue-refund', refundExecutions: 2 }, // ran, not recorded: re-run with the same key, deduplicated
    { point: 'after-issue-refund', refundExecutions: 1 },
    { point: 'before-complete', refundExecutions: 1 },
  ] as const;

  for (const { point, refundExecutions } of cases) {
    it(`completes after a crash ${point}, each side effect taking effect once`, async () => {
      const queue = `crash-${point}`;
      const jobId = await createRefund(queue, { order: point });
      const first = await worker(queue, { CRASH_AT: point });
      const exit = await first.exited;
      expect(exit.signal).toBe('SIGKILL');
      expect(first.output()).toContain(`crashing at ${point}`);
      const second = await worker(queue);
      expect(await waitForState(jobId, [JobState.JOB_STATE_COMPLETED, JobState.JOB_STATE_FAILED])).toBe(
        JobState.JOB_STATE_COMPLETED,
      );
      second.process.kill('SIGTERM');
      await second.exited;
      const done = await effects(jobId);
      expect(Object.keys(done).sort()).toEqual(['issue-refund', 'lookup-order', 'notify-customer']);
      expect(done['issue-refund']?.executions).toBe(refundExecutions);
      expect(done['issue-refund']?.key).toBe(`${jobId}:2`);
      expect(done['lookup-order']?.executions).toBe(1);
      expect(done['notify-customer']?.executions).toBe(1);
      const types = await assertHistoryIntact(jobId);
      expect(types.filter((type) => type === 'aetheris.job.completed')).toHaveLength(1);
      expect(types.filter((type) => type === 'aetheris.tool_call.finished')).toHaveLength(3);
    }, 40_000);
  }

  it('parks the job instead of running a non-idempotent tool twice when it is in doubt', async () => {
    const queue = 'crash-park';
    const jobId = await createRefund(queue, { order: 'park', refundIdempotent: false });
    const first = await worker(queue, { CRASH_AT: 'during-issue-refund' });
    expect((await first.exited).signal).toBe('SIGKILL');
    const second = await worker(queue);
    expect(await waitForState(jobId, [JobState.JOB_STATE_PARKED, JobState.JOB_STATE_COMPLETED])).toBe(
      JobState.JOB_STATE_PARKED,
    );
    // Parked jobs hold no lease and are not runnable: give the worker time to (not) pick it up.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    second.process.kill('SIGTERM');
    await second.exited;
    expect((await effects(jobId))['issue-refund']?.executions).toBe(1);
    expect(await waitForState(jobId, [JobState.JOB_STATE_PARKED])).toBe(JobState.JOB_STATE_PARKED);
    const types = await assertHistoryIntact(jobId);
    expect(types).toContain('aetheris.tool_call.in_doubt');
    expect(types.at(-1)).toBe('aetheris.job.parked');
  }, 40_000);
});

describe('zombie worker', () => {
  it('rejects the writes of a worker whose lease expired while it was still running', async () => {
    const queue = 'zombie';
    const jobId = await createRefund(queue, { order: 'zombie' });
    // The zombie freezes (SIGSTOP, like a long GC pause or a partitioned host) in the middle
    // of the refund; its lease expires and another worker takes over while it is still alive.
    const zombie = await worker(queue, { TOOL_DELAY_MS: '1500', LEASE_MS: '1500', WORKER_ID: 'zombie' });
    await waitForEvent(jobId, 'aetheris.tool_call.started', 2);
    zombie.process.kill('SIGSTOP');
    const rescuer = await worker(queue, { WORKER_ID: 'rescuer' });
    expect(await waitForState(jobId, [JobState.JOB_STATE_COMPLETED, JobState.JOB_STATE_FAILED])).toBe(
      JobState.JOB_STATE_COMPLETED,
    );
    // The zombie wakes up: its tool finishes (the external system deduplicates by key) and every
    // write it attempts is rejected with LEASE_LOST.
    zombie.process.kill('SIGCONT');
    await new Promise((resolve) => setTimeout(resolve, 2500));
    zombie.process.kill('SIGTERM');
    rescuer.process.kill('SIGTERM');
    await Promise.all([zombie.exited, rescuer.exited]);
    const done = await effects(jobId);
    expect(done['issue-refund']?.key).toBe(`${jobId}:2`);
    expect(done['issue-refund']?.executions).toBe(2); // the zombie's body ran too: only the key saved the payment
    expect(done['notify-customer']?.executions).toBe(1);
    expect(zombie.output()).toMatch(/LEASE_LOST|lease/i);
    const events = await readAllEvents(ops, jobId);
    const completed = events.filter((event) => event.type === 'aetheris.job.completed');
    expect(completed).toHaveLength(1);
    const leases = events
      .filter((event) => event.type === 'aetheris.job.leased')
      .map((event) => JSON.parse(Buffer.from(event.payload).toString()) as { worker_id: string });
    expect(leases.map((lease) => lease.worker_id)).toEqual(['zombie', 'rescuer']);
    // Nothing was written after the job completed.
    expect(events.at(-1)?.type).toBe('aetheris.job.completed');
    await assertHistoryIntact(jobId);
  }, 40_000);
});

describe('server SIGKILLed mid-job', () => {
  it('resumes the job when the server comes back, without repeating recorded tools', async () => {
    const queue = 'server-kill';
    const jobId = await createRefund(queue, { order: 'server-kill' });
    const w = await worker(queue, { TOOL_DELAY_MS: '1500', LEASE_MS: '3000' });
    await new Promise((resolve) => setTimeout(resolve, 700));
    server.process.kill('SIGKILL');
    await server.exited;
    await new Promise((resolve) => setTimeout(resolve, 500));
    server = await spawnServer(url, port);
    expect(await waitForState(jobId, [JobState.JOB_STATE_COMPLETED, JobState.JOB_STATE_FAILED], 30_000)).toBe(
      JobState.JOB_STATE_COMPLETED,
    );
    w.process.kill('SIGTERM');
    await w.exited;
    const done = await effects(jobId);
    expect(done['lookup-order']?.executions).toBe(1);
    expect(done['notify-customer']?.executions).toBe(1);
    expect(done['issue-refund']?.key).toBe(`${jobId}:2`);
    await assertHistoryIntact(jobId);
  }, 60_000);
});

describe('many workers', () => {
  it('runs each job once across racing worker processes', async () => {
    const queue = 'race';
    const jobIds = await Promise.all(Array.from({ length: 12 }, (_, i) => createRefund(queue, { order: `race-${i}` })));
    const workers = await Promise.all(
      [1, 2, 3].map((n) => worker(queue, { WORKER_ID: `racer-${n}`, CONCURRENCY: '4' })),
    );
    for (const jobId of jobIds)
      expect(await waitForState(jobId, [JobState.JOB_STATE_COMPLETED])).toBe(JobState.JOB_STATE_COMPLETED);
    for (const w of workers) w.process.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exited));
    const rows = await query<{ n: number; max: number }>(
      url,
      'select count(*)::int as n, max(executions)::int as max from side_effects where job_id = any($1::uuid[])',
      [jobIds],
    );
    expect(rows[0]).toEqual({ n: 36, max: 1 });
  }, 60_000);
});
