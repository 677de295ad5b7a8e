/** Shared pieces of the drill suites: health probes, event checks, bounded waits, stream capture. */
import { randomUUID } from 'node:crypto';
import {
  type Client,
  type ClientReadableStream,
  credentials,
  makeGenericClientConstructor,
  type ServiceDefinition,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { service as healthServiceDefinition } from 'grpc-health-check';
import pg from 'pg';
import type { Event } from '../../gen/ts/aetheris/runtime/v1/event.js';
import { AppendEventsRequest, ReadEventsRequest } from '../../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { type AetherisClients, unary } from '../../src/client/connect.js';
import { errorInfoOf } from '../../src/client/errors.js';
import { verifyChain } from '../../src/domain/hash-chain.js';

export const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Rejects with a labelled error when `promise` does not settle within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${label}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `check` every `everyMs` until it returns true; returns the elapsed ms or throws after `ms`. */
export async function waitUntil(
  check: () => Promise<boolean> | boolean,
  ms: number,
  label: string,
  everyMs = 25,
): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await check()) return performance.now() - started;
    if (performance.now() - started > ms) throw new Error(`timed out after ${ms} ms waiting for ${label}`);
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------------------------------------
// grpc.health.v1.Health/Check through the service definition that grpc-health-check exports.

interface HealthCheckResponse {
  status: string;
}
type HealthCheck = (
  request: { service: string },
  options: { deadline: Date },
  callback: (error: ServiceError | null, response?: HealthCheckResponse) => void,
) => void;

// proto-loader's ServiceDefinition has the same shape as grpc-js's (separate type declarations).
const HealthClient = makeGenericClientConstructor(
  healthServiceDefinition as unknown as ServiceDefinition,
  'grpc.health.v1.Health',
);

/** A health client for `address`; `check()` resolves to SERVING / NOT_SERVING / UNREACHABLE:<code>. */
export function healthClient(address: string): { check(service?: string): Promise<string>; close(): void } {
  const client = new HealthClient(address, credentials.createInsecure()) as unknown as Client & { Check: HealthCheck };
  return {
    check: (service = '') =>
      new Promise((resolve) => {
        client.Check({ service }, { deadline: new Date(Date.now() + 1000) }, (error, response) => {
          resolve(error ? `UNREACHABLE:${status[error.code]}` : (response?.status ?? 'EMPTY'));
        });
      }),
    close: () => client.close(),
  };
}

// ---------------------------------------------------------------------------------------------
// gRPC errors

/** `CODE/REASON` of a failed call, e.g. `UNAVAILABLE/DATABASE_UNAVAILABLE`. */
export function describeError(error: unknown): string {
  const serviceError = error as Partial<ServiceError>;
  if (typeof serviceError.code !== 'number') return `NON_GRPC:${String(error)}`;
  const reason = errorInfoOf(serviceError as ServiceError)?.reason ?? '-';
  return `${status[serviceError.code]}/${reason}`;
}

// ---------------------------------------------------------------------------------------------
// Appends and reads through the API

/** A batch with client-chosen event ids, kept so it can be retried byte for byte. */
export function appendRequest(jobId: string, count: number, tag: string): AppendEventsRequest {
  return AppendEventsRequest.fromPartial({
    jobId,
    events: Array.from({ length: count }, (_, index) => ({
      eventId: randomUUID(),
      type: 'drill.step',
      payload: json({ tag, index }),
    })),
  });
}

export function append(clients: AetherisClients, request: AppendEventsRequest, deadlineMs = 5000) {
  return unary(clients.runtime, clients.runtime.appendEvents, request, clients.metadata(), {
    deadline: new Date(Date.now() + deadlineMs),
  });
}

/** Every event of a job through ReadEvents paging (small pages, to exercise paging). */
export async function readAllEvents(clients: AetherisClients, jobId: string, pageSize = 200): Promise<Event[]> {
  const events: Event[] = [];
  for (let after = 0n; ; ) {
    const page = await unary(
      clients.runtime,
      clients.runtime.readEvents,
      ReadEventsRequest.fromPartial({ jobId, afterSeq: after, limit: pageSize }),
      clients.metadata(),
      { deadline: new Date(Date.now() + 5000) },
    );
    events.push(...page.events);
    const last = page.events.at(-1);
    if (!last || page.events.length < pageSize) return events;
    after = last.seq;
  }
}

// ---------------------------------------------------------------------------------------------
// Store invariants through SQL

export interface StoredEventRow {
  job_id: string;
  seq: string;
  event_id: string;
  type: string;
  actor: string;
  recorded_us: string;
  payload: string;
  payload_digest: Buffer;
  prev_hash: Buffer;
  hash: Buffer;
}

export interface StoreSnapshot {
  jobs: Map<string, { headSeq: bigint; headHash: Buffer; events: StoredEventRow[] }>;
  /** The tenant log in global order (tx_id, position). */
  globalOrder: string[];
}

export async function snapshotStore(url: string, tenant: string): Promise<StoreSnapshot> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const jobs = await client.query<{ job_id: string; head_seq: string; head_hash: Buffer }>(
      'select job_id::text, head_seq::text, head_hash from aetheris.jobs where tenant_id = $1',
      [tenant],
    );
    const events = await client.query<StoredEventRow>(
      `select e.job_id::text, e.seq::text, e.event_id::text, e.type, e.actor,
              aetheris.to_us(e.recorded_at)::text as recorded_us, e.payload, e.payload_digest, e.prev_hash, e.hash
         from aetheris.events e where e.tenant_id = $1 order by e.job_id, e.seq`,
      [tenant],
    );
    const order = await client.query<{ event_id: string }>(
      'select e.event_id::text from aetheris.events e where e.tenant_id = $1 order by e.tx_id, e.position',
      [tenant],
    );
    const snapshot: StoreSnapshot = { jobs: new Map(), globalOrder: order.rows.map((row) => row.event_id) };
    for (const job of jobs.rows) {
      snapshot.jobs.set(job.job_id, { headSeq: BigInt(job.head_seq), headHash: job.head_hash, events: [] });
    }
    for (const event of events.rows) {
      const job = snapshot.jobs.get(event.job_id);
      if (!job) throw new Error(`event ${event.event_id} of unknown job ${event.job_id}`);
      job.events.push(event);
    }
    return snapshot;
  } finally {
    await client.end();
  }
}

/**
 * Every invariant of the event store for one tenant, as a list of human-readable problems
 * (empty when all hold): each job starts with its created event, seqs are 1..n without gaps,
 * the head matches the last event, no event id appears twice, the hash chain verifies.
 */
export function storeProblems(snapshot: StoreSnapshot, tenant: string): string[] {
  const problems: string[] = [];
  const seenIds = new Set<string>();
  for (const [jobId, job] of snapshot.jobs) {
    const { events } = job;
    if (events.length === 0) problems.push(`job ${jobId} has no events (half-written create)`);
    if (events[0] && events[0].type !== 'aetheris.job.created')
      problems.push(`job ${jobId} seq 1 is ${events[0].type}`);
    events.forEach((event, index) => {
      if (BigInt(event.seq) !== BigInt(index + 1))
        problems.push(`job ${jobId}: expected seq ${index + 1}, found ${event.seq}`);
      if (seenIds.has(event.event_id)) problems.push(`event id ${event.event_id} appears twice`);
      seenIds.add(event.event_id);
    });
    const last = events.at(-1);
    if (job.headSeq !== BigInt(events.length))
      problems.push(`job ${jobId}: head_seq ${job.headSeq} but ${events.length} events`);
    if (last && !job.headHash.equals(last.hash))
      problems.push(`job ${jobId}: head_hash differs from the last event's hash`);
    const violations = verifyChain(
      events.map((event) => ({
        tenant,
        jobId: event.job_id,
        eventId: event.event_id,
        seq: BigInt(event.seq),
        type: event.type,
        actor: event.actor,
        recordedAtUs: BigInt(event.recorded_us),
        payload: event.payload,
        payloadDigest: event.payload_digest,
        prevHash: event.prev_hash,
        hash: event.hash,
      })),
    );
    for (const violation of violations)
      problems.push(`job ${jobId}: chain ${violation.problem} at seq ${violation.seq}`);
  }
  if (snapshot.globalOrder.length !== seenIds.size) {
    problems.push(`global order lists ${snapshot.globalOrder.length} events, jobs hold ${seenIds.size}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Server streams

/** Captures a server stream: its messages as they arrive and how it ended. */
export interface CapturedStream<T> {
  readonly messages: T[];
  /** Resolves with `OK`, `CODE/REASON`, never rejects. */
  readonly ended: Promise<string>;
  /** Epoch ms at which the stream ended (NaN while open). */
  endedAt(): number;
  /** Resolves when `predicate` holds for the messages so far (checked on every message). */
  waitFor(predicate: (messages: T[]) => boolean, ms: number, label: string): Promise<number>;
  cancel(): void;
}

export function capture<T>(stream: ClientReadableStream<T>): CapturedStream<T> {
  const messages: T[] = [];
  const waiters = new Set<() => void>();
  let endedAt = Number.NaN;
  let settled = false;
  const ended = new Promise<string>((resolve) => {
    const finish = (outcome: string): void => {
      if (settled) return;
      settled = true;
      endedAt = Date.now();
      resolve(outcome);
      for (const wake of waiters) wake();
    };
    stream.on('data', (message: T) => {
      messages.push(message);
      for (const wake of waiters) wake();
    });
    stream.on('error', (error: unknown) => finish(describeError(error)));
    stream.on('status', (s: { code: number }) => {
      if (s.code === status.OK) finish('OK');
    });
    stream.on('end', () => finish('OK'));
  });
  return {
    messages,
    ended,
    endedAt: () => endedAt,
    waitFor(predicate, ms, label) {
      const started = performance.now();
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (predicate(messages)) {
            done();
            resolve(performance.now() - started);
          } else if (settled) {
            done();
            reject(new Error(`stream ended before ${label}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out after ${ms} ms waiting for ${label} (${messages.length} messages)`));
        }, ms);
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    cancel: () => stream.cancel(),
  };
}
