/**
 * Waking idle AcquireJob polls: a new runnable job wakes one poll, not all of them, and a poll
 * that cannot use the wake (another job type) passes it on — so no job waits for the 2 s safety
 * re-check, and idle workers do not stampede the database.
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcquireJobRequest, type AcquireJobResponse } from '../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { type AetherisClients, unary } from '../src/client/connect.js';
import { EventNotifier, type QueueWake, queueTopic } from '../src/store/event-notifier.js';
import { startTestEnv, type TestEnv } from './helpers/harness.js';
import { createJob } from './worker/worker-helpers.js';

const silent = { warn: () => {}, info: () => {}, error: () => {}, debug: () => {} };

describe('EventNotifier wakes one waiter per queue change', () => {
  it('wakes the longest waiter with the hops left, hands off in order, and wakes every log reader', async () => {
    const notifier = new EventNotifier('postgres://unused', silent); // never started: local wake-ups only
    const topic = queueTopic('acme', 'q');
    const woken: string[] = [];
    const waiter = (name: string, on: string) =>
      notifier.wait([on], [notifier.version(on)], 5_000).then((wake: QueueWake | undefined) => {
        woken.push(`${name}:${wake?.hops ?? '-'}`);
      });
    const a = waiter('a', topic);
    const b = waiter('b', topic);
    const c = waiter('c', topic);
    notifier.publish(topic);
    await a;
    expect(woken).toEqual(['a:2']); // b and c still asleep
    notifier.handOff([topic], 1);
    await b;
    expect(woken).toEqual(['a:2', 'b:1']);
    notifier.handOff([topic], 0);
    await c;
    expect(woken).toEqual(['a:2', 'b:1', 'c:0']);

    const log = 'e/acme';
    const readers = [waiter('r1', log), waiter('r2', log)];
    notifier.publish(log);
    await Promise.all(readers);
    expect(woken.slice(3).sort()).toEqual(['r1:-', 'r2:-']);
    await notifier.close();
  });
});

describe('idle AcquireJob polls', () => {
  let env: TestEnv;
  let operator: AetherisClients;
  let worker: AetherisClients;

  beforeAll(async () => {
    env = await startTestEnv();
    operator = await env.clients('operator', 'acme');
    worker = await env.clients('worker', 'acme');
  });
  afterAll(() => env.close());

  const poll = (queue: string, jobTypes: string[]): Promise<AcquireJobResponse> =>
    unary(
      worker.runtime,
      worker.runtime.acquireJob,
      AcquireJobRequest.fromPartial({
        workerId: `w-${jobTypes.join('-')}-${Math.random()}`,
        queues: [queue],
        jobTypes,
        wait: { seconds: 10n, nanos: 0 },
      }),
      worker.metadata(),
    );
  const settle = () => new Promise((resolve) => setTimeout(resolve, 150)); // polls reach their wait

  it('a job only the last-waiting poll can take is still picked up at once (the wake is passed on)', async () => {
    const others = ['a', 'a', 'a'].map((type) => poll('wake-pass', [type]));
    await settle();
    const right = poll('wake-pass', ['b']);
    await settle();
    const started = performance.now();
    const jobId = await createJob(operator, 'b', {}, { queue: 'wake-pass' });
    const got = await right;
    const took = performance.now() - started;
    expect(got.job?.id).toBe(jobId);
    expect(took).toBeLessThan(1_500); // below the 2 s safety re-check that would otherwise pick it up
    // The type-a polls are still waiting: give them work so the test ends promptly.
    await Promise.all(others.map(() => createJob(operator, 'a', {}, { queue: 'wake-pass' })));
    expect((await Promise.all(others)).every((r) => r.job?.jobType === 'a')).toBe(true);
  });

  it('a burst of jobs is spread over the waiting polls without waiting for the re-check', async () => {
    const polls = Array.from({ length: 4 }, () => poll('wake-burst', []));
    await settle();
    const started = performance.now();
    const ids = await Promise.all(
      Array.from({ length: 4 }, () => createJob(operator, 'x', {}, { queue: 'wake-burst' })),
    );
    const got = await Promise.all(polls);
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(got.map((r) => r.job?.id).sort()).toEqual([...ids].sort());
  });
});

describe('queue changes while every poll is busy', () => {
  it('are kept for the next waiter, and do not make later waiters re-poll on their own', async () => {
    const notifier = new EventNotifier('postgres://unused', silent);
    const topic = queueTopic('acme', 'busy');
    const since = notifier.version(topic);
    notifier.publish(topic); // nobody waiting: kept
    const first = await notifier.wait([topic], [since], 5_000);
    expect(first).toEqual({ hops: 0 }); // resolved at once with the kept wake
    // The version moved, but the change was claimed: the next waiter sleeps until a new change.
    let resolved = false;
    const second = notifier.wait([topic], [since], 5_000).then((wake) => {
      resolved = true;
      return wake;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(resolved).toBe(false);
    notifier.publish(topic);
    expect(await second).toEqual({ hops: 0 });
    await notifier.close();
  });
});
