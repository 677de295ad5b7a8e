/**
 * Drill: a PostgreSQL restart while clients stream and append.
 *
 * Runs on a DEDICATED embedded cluster (stopping the shared one would break other files). Two
 * in-process servers share the database: A serves the clients, B appends the event that must
 * wake A's new follower through LISTEN/NOTIFY (B's in-process wake-up cannot reach A).
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GlobalPosition } from '../../gen/ts/aetheris/runtime/v1/event.js';
import {
  type AppendEventsRequest,
  CreateJobRequest,
  GetJobRequest,
  StreamEventsRequest,
  type StreamEventsResponse,
  SubscribeEventsRequest,
  type SubscribeEventsResponse,
} from '../../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { type AetherisClients, connect, unary } from '../../src/client/connect.js';
import type { RunningServer } from '../../src/server/server.js';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../../src/store/embedded-postgres.js';
import { migrateUp } from '../../src/store/migrator.js';
import { createKey, startTestServer } from '../helpers/harness.js';
import {
  append,
  appendRequest,
  type CapturedStream,
  capture,
  describeError,
  healthClient,
  sleep,
  snapshotStore,
  storeProblems,
  waitUntil,
  withTimeout,
} from './drill-helpers.js';

const TENANT = 'acme';
/** How long PostgreSQL stays down: past the notifier's 2 s reconnect back-off ceiling. */
const DOWN_FOR_MS = 3000;

let root: string | undefined;
let cluster: EmbeddedPostgres | undefined;
let url: string;
let apiKey: string;
const servers: RunningServer[] = [];
const opened: AetherisClients[] = [];
const healthClients: { close(): void }[] = [];

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'aetheris-pg-restart-'));
  // As root, postgres runs as the `postgres` user, which must traverse this directory.
  await chmod(root, 0o755);
  cluster = await startEmbeddedPostgres({ dataDir: path.join(root, 'pg') });
  const admin = new pg.Client({ connectionString: cluster.connectionString });
  await admin.connect();
  try {
    await admin.query('create database aetheris');
  } finally {
    await admin.end();
  }
  url = cluster.urlFor('aetheris');
  await migrateUp(url);
  apiKey = await createKey(url, TENANT, 'operator');
}, 60_000);

afterAll(async () => {
  for (const clients of opened) clients.close();
  for (const client of healthClients) client.close();
  // Bring the database back first so the servers' pools close cleanly.
  await cluster?.start().catch(() => undefined);
  await Promise.all(
    servers.map((server) => withTimeout(server.shutdown(), 10_000, 'server shutdown').catch(() => undefined)),
  );
  await cluster?.stop();
  if (root) await rm(root, { recursive: true, force: true });
}, 60_000);

function clientsFor(server: RunningServer): AetherisClients {
  const clients = connect({ address: server.address, apiKey });
  opened.push(clients);
  return clients;
}

function health(server: RunningServer): ReturnType<typeof healthClient> {
  const client = healthClient(server.address);
  healthClients.push(client);
  return client;
}

/** Times a call and describes its outcome (`OK` or `CODE/REASON`). */
async function timed(call: () => Promise<unknown>): Promise<{ outcome: string; ms: number }> {
  const started = performance.now();
  const outcome = await call().then(
    () => 'OK',
    (error: unknown) => describeError(error),
  );
  return { outcome, ms: Math.round(performance.now() - started) };
}

const subscribeEvents = (
  clients: AetherisClients,
  after: GlobalPosition | undefined,
): CapturedStream<SubscribeEventsResponse> =>
  capture(
    clients.runtime.subscribeEvents(
      SubscribeEventsRequest.fromPartial({ after, follow: true, maxBatch: 50 }),
      clients.metadata(),
    ),
  );

const streamEvents = (clients: AetherisClients, jobId: string): CapturedStream<StreamEventsResponse> =>
  capture(clients.runtime.streamEvents(StreamEventsRequest.fromPartial({ jobId, follow: true }), clients.metadata()));

describe('a PostgreSQL restart while clients stream and append', () => {
  it('fails fast while down, writes nothing half, and recovers streams, LISTEN and health by itself', async () => {
    if (!cluster) throw new Error('no cluster');
    const serverA = await startTestServer(url);
    servers.push(serverA);
    const serverB = await startTestServer(url);
    servers.push(serverB);
    const a = clientsFor(serverA);
    const b = clientsFor(serverB);
    const healthA = health(serverA);
    const healthB = health(serverB);
    expect(await healthA.check()).toBe('SERVING');

    const jobIds: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { job } = await unary(
        a.runtime,
        a.runtime.createJob,
        CreateJobRequest.fromPartial({ jobType: 'pg-drill', input: Buffer.from(`{"n":${i}}`) }),
        a.metadata(),
      );
      jobIds.push(job?.id ?? '');
    }
    const [followedJob = '', notifyJob = ''] = jobIds;

    // ---- 1. clients: a job follower, a tenant subscriber, an appender.
    const follower = streamEvents(a, followedJob);
    const subscriber = subscribeEvents(a, undefined);
    await follower.waitFor((messages) => messages.some((m) => m.caughtUp), 5000, 'follower caught up');
    await subscriber.waitFor((messages) => messages.some((m) => m.caughtUp), 5000, 'subscriber caught up');

    const acked: { request: AppendEventsRequest; firstSeq: bigint; at: number }[] = [];
    const failed: { request: AppendEventsRequest; outcome: string; ms: number; at: number }[] = [];
    let appending = true;
    const appender = (async () => {
      for (let i = 0; appending; i++) {
        const request = appendRequest(jobIds[i % jobIds.length] ?? '', 1 + (i % 3), `append-${i}`);
        const started = performance.now();
        try {
          const response = await append(a, request, 3000);
          acked.push({ request, firstSeq: response.firstSeq, at: Date.now() });
          await sleep(10);
        } catch (error) {
          failed.push({ request, outcome: describeError(error), ms: performance.now() - started, at: Date.now() });
          await sleep(50);
        }
      }
    })();
    await waitUntil(() => acked.length >= 20, 5000, '20 appends before the outage');
    await subscriber.waitFor(
      (messages) => messages.reduce((n, m) => n + m.events.length, 0) >= 20,
      5000,
      'subscriber sees appends',
    );

    // ---- 2. stop PostgreSQL (fast shutdown).
    // Health is polled from the moment the shutdown begins.
    const notServing = waitUntil(async () => (await healthA.check()) === 'NOT_SERVING', 2000, 'A NOT_SERVING', 10).then(
      (ms) => ({ ms, error: undefined }),
      (error: unknown) => ({ ms: Number.NaN, error }),
    );
    const stopStarted = Date.now();
    await withTimeout(cluster.stop(), 20_000, 'cluster stop');
    const stoppedAt = Date.now();
    const { ms: notServingMs, error: notServingError } = await notServing;
    expect(notServingError).toBeUndefined();
    expect(await healthB.check()).toBe('NOT_SERVING');
    // Every SERVING → NOT_SERVING transition is also visible per service.
    expect(await healthA.check('aetheris.runtime.v1.RuntimeService')).toBe('NOT_SERVING');

    const downCalls = {
      createJob: await timed(() =>
        unary(a.runtime, a.runtime.createJob, CreateJobRequest.fromPartial({ jobType: 'pg-drill' }), a.metadata(), {
          deadline: new Date(Date.now() + 5000),
        }),
      ),
      getJob: await timed(() =>
        unary(a.runtime, a.runtime.getJob, GetJobRequest.fromPartial({ jobId: followedJob }), a.metadata(), {
          deadline: new Date(Date.now() + 5000),
        }),
      ),
      appendEvents: await timed(() => append(a, appendRequest(followedJob, 1, 'while-down'), 5000)),
    };
    for (const call of Object.values(downCalls)) {
      expect(call.outcome).toBe('UNAVAILABLE/DATABASE_UNAVAILABLE');
      expect(call.ms).toBeLessThan(1000);
    }

    // The open streams end with UNAVAILABLE instead of hanging.
    const followerEnd = await withTimeout(follower.ended, 3000, 'follower stream to end');
    const subscriberEnd = await withTimeout(subscriber.ended, 3000, 'subscriber stream to end');
    expect(followerEnd).toBe('UNAVAILABLE/DATABASE_UNAVAILABLE');
    expect(subscriberEnd).toBe('UNAVAILABLE/DATABASE_UNAVAILABLE');
    const streamEndMs = Math.max(follower.endedAt(), subscriber.endedAt()) - stopStarted;
    // Stay down long enough for the reconnect back-off to reach its ceiling; health must not flap.
    const healthWhileDown = new Set<string>();
    while (Date.now() - stoppedAt < DOWN_FOR_MS) {
      healthWhileDown.add(await healthA.check());
      await sleep(100);
    }
    expect([...healthWhileDown]).toEqual(['NOT_SERVING']);
    // The appender's calls during the outage failed fast too.
    const failedWhileDown = failed.filter((f) => f.at >= stoppedAt);
    expect(failedWhileDown.length).toBeGreaterThan(0);
    for (const f of failedWhileDown) {
      expect(f.outcome).toBe('UNAVAILABLE/DATABASE_UNAVAILABLE');
      expect(f.ms).toBeLessThan(1000);
    }
    // Calls caught by the shutdown itself failed with UNAVAILABLE too (none hung to its deadline).
    expect(failed.map((f) => f.outcome.split('/')[0])).toEqual(failed.map(() => 'UNAVAILABLE'));
    const ackedBeforeRestart = acked.length;

    // ---- 4. start PostgreSQL again: the servers recover by themselves.
    const startBegan = Date.now();
    await withTimeout(cluster.start(), 30_000, 'cluster start');
    const pgReadyMs = Date.now() - startBegan;
    const servingAgainMs = await waitUntil(
      async () => (await healthA.check()) === 'SERVING',
      5000,
      'A SERVING again',
      50,
    );
    await waitUntil(async () => (await healthB.check()) === 'SERVING', 5000, 'B SERVING again', 50);
    await waitUntil(() => acked.length >= ackedBeforeRestart + 20, 5000, 'appends succeed again');
    appending = false;
    await withTimeout(appender, 5000, 'appender to stop');

    // Calls that failed (outage or the moment it began) retried with the same ids: never duplicated.
    let retriedDuplicates = 0;
    for (const f of failed) {
      const response = await append(a, f.request);
      if (response.duplicate) retriedDuplicates++;
      acked.push({ request: f.request, firstSeq: response.firstSeq, at: Date.now() });
    }

    // ---- 3. nothing half-written: every job complete, heads match, chains verify, acks present.
    const snapshot = await snapshotStore(url, TENANT);
    expect(storeProblems(snapshot, TENANT)).toEqual([]);
    expect(snapshot.jobs.size).toBe(jobIds.length);
    for (const ack of acked) {
      const rows = snapshot.jobs.get(ack.request.jobId)?.events ?? [];
      ack.request.events.forEach((input, index) => {
        expect(rows[Number(ack.firstSeq) - 1 + index]?.event_id).toBe(input.eventId);
      });
    }

    // A NEW follower on A is woken by an append made through B: only NOTIFY can carry it.
    const freshFollower = streamEvents(a, notifyJob);
    await freshFollower.waitFor((messages) => messages.some((m) => m.caughtUp), 5000, 'fresh follower caught up');
    const notifyLatencies: number[] = [];
    for (let i = 0; i < 3; i++) {
      await sleep(100);
      const request = appendRequest(notifyJob, 1, `via-b-${i}`);
      const eventId = request.events[0]?.eventId ?? '';
      const started = performance.now();
      await append(b, request);
      await freshFollower.waitFor(
        (messages) => messages.some((m) => m.events.some((event) => event.eventId === eventId)),
        500,
        `event ${i} appended through B to reach A's follower`,
      );
      notifyLatencies.push(Math.round(performance.now() - started));
    }
    freshFollower.cancel();

    // Resuming the old subscription from its last checkpoint: every event exactly once, in order.
    const lastCheckpoint = subscriber.messages.at(-1)?.checkpoint;
    expect(lastCheckpoint).toBeDefined();
    const seenBefore = subscriber.messages.flatMap((m) => m.events.map((event) => event.eventId));
    const expected = (await snapshotStore(url, TENANT)).globalOrder;
    const resumed = subscribeEvents(a, lastCheckpoint);
    await resumed.waitFor(
      (messages) =>
        seenBefore.length + messages.reduce((n, m) => n + m.events.length, 0) >= expected.length &&
        messages.some((m) => m.caughtUp),
      10_000,
      'resumed subscription to deliver the whole log',
    );
    resumed.cancel();
    const seenAfter = resumed.messages.flatMap((m) => m.events.map((event) => event.eventId));
    expect([...seenBefore, ...seenAfter]).toEqual(expected);
    expect(new Set([...seenBefore, ...seenAfter]).size).toBe(expected.length);
    const appendedAfterOutage = acked.filter((ack) => ack.at >= startBegan).length;
    expect(appendedAfterOutage).toBeGreaterThan(0);

    console.info(
      `[postgres-restart] cluster.stop ${stoppedAt - stopStarted} ms; health NOT_SERVING ${notServingMs.toFixed(0)} ms after stop began; ` +
        `streams ended ${streamEndMs} ms after stop began (${followerEnd}, ${subscriberEnd}); ` +
        `fail-fast while down: CreateJob ${downCalls.createJob.ms} ms, GetJob ${downCalls.getJob.ms} ms, AppendEvents ${downCalls.appendEvents.ms} ms, ` +
        `appender ${failedWhileDown.length} failures max ${Math.round(Math.max(...failedWhileDown.map((f) => f.ms)))} ms; ` +
        `cluster.start ${pgReadyMs} ms, SERVING ${servingAgainMs.toFixed(0)} ms after start returned; ` +
        `NOTIFY wake-ups via B ${notifyLatencies.join('/')} ms; failed appends retried ${failed.length} (duplicate ${retriedDuplicates}); ` +
        `subscription: ${seenBefore.length} events before + ${seenAfter.length} after resume = ${expected.length}`,
    );
  }, 45_000);
});
