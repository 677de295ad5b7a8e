/**
 * Group commit for AppendEvents. While `maxInFlight` batches are being written, new appends
 * queue; when a batch commits, everything queued goes out as the next batch — one transaction,
 * one round trip and one WAL flush for up to `maxBatch` appends. Under light load a request
 * finds a free slot and is written alone at once, so batching adds no latency; under load it
 * trades nothing but the wait the request would have spent on a pool connection anyway.
 *
 * Each append keeps its own outcome (`aetheris.append_events` runs per request inside the batch
 * function). Requests are sorted by (tenant, job) so concurrent batches lock job rows in one
 * order. If the batch statement itself fails (an unexpected error in one request aborts the
 * transaction), every request of the batch is retried alone, so one bad request cannot fail
 * the others.
 */
import type { DatabasePool } from 'slonik';
import { z } from 'zod';
import { type AppendOutcome, type AppendParams, appendEvents, appendRow, toAppendOutcome } from './events.js';
import { sql } from './sql.js';

interface Pending {
  params: AppendParams;
  resolve: (outcome: AppendOutcome) => void;
  reject: (error: unknown) => void;
}

const batchRow = appendRow.extend({ ord: z.number() });

export interface AppendBatcherOptions {
  /** Batches written concurrently (each holds one pool connection). */
  maxInFlight?: number;
  /** Appends per batch at most. */
  maxBatch?: number;
  /** Events per batch at most (a batch closes early rather than exceed it). */
  maxEvents?: number;
}

export class AppendBatcher {
  private readonly queue: Pending[] = [];
  private inFlight = 0;
  private readonly maxInFlight: number;
  private readonly maxBatch: number;
  private readonly maxEvents: number;

  constructor(
    private readonly pool: DatabasePool,
    options: AppendBatcherOptions = {},
  ) {
    this.maxInFlight = options.maxInFlight ?? 4;
    this.maxBatch = options.maxBatch ?? 64;
    this.maxEvents = options.maxEvents ?? 4_000;
  }

  append(params: AppendParams): Promise<AppendOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ params, resolve, reject });
      this.drain();
    });
  }

  private drain(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.take();
      this.inFlight++;
      void this.write(batch).finally(() => {
        this.inFlight--;
        this.drain();
      });
    }
  }

  /** The next batch: up to `maxBatch` appends and `maxEvents` events (at least one append). */
  private take(): Pending[] {
    let events = 0;
    let count = 0;
    for (const pending of this.queue) {
      if (count >= this.maxBatch) break;
      if (count > 0 && events + pending.params.events.length > this.maxEvents) break;
      events += pending.params.events.length;
      count++;
    }
    return this.queue.splice(0, count);
  }

  private async write(batch: Pending[]): Promise<void> {
    if (batch.length === 1) {
      const [only] = batch as [Pending];
      await appendEvents(this.pool, only.params).then(only.resolve, only.reject);
      return;
    }
    // Stable sort: appends to one job keep their arrival order.
    const sorted = batch
      .map((pending, index) => ({ pending, index }))
      .sort(
        (a, b) =>
          compare(a.pending.params.tenant, b.pending.params.tenant) ||
          compare(a.pending.params.jobId, b.pending.params.jobId) ||
          a.index - b.index,
      )
      .map(({ pending }) => pending);
    let rows: readonly z.infer<typeof batchRow>[];
    try {
      rows = await this.pool.any(sql.type(batchRow)`
        select * from aetheris.append_events_batch(
          ${sql.array(
            sorted.map((p) => p.params.tenant),
            'text',
          )},
          ${sql.array(
            sorted.map((p) => p.params.jobId),
            'uuid',
          )},
          ${sql.array(
            sorted.map((p) => p.params.expectedSeq),
            'int8',
          )},
          ${sql.array(
            sorted.map((p) => p.params.fencingToken),
            'int8',
          )},
          ${sql.array(
            sorted.map((p) => p.params.actor),
            'text',
          )},
          ${sql.array(
            sorted.map((p) => p.params.events.length),
            'int4',
          )},
          ${sql.array(
            sorted.flatMap((p) => p.params.events.map((event) => event.eventId)),
            'uuid',
          )},
          ${sql.array(
            sorted.flatMap((p) => p.params.events.map((event) => event.type)),
            'text',
          )},
          ${sql.array(
            sorted.flatMap((p) => p.params.events.map((event) => event.payload)),
            'text',
          )},
          ${sql.array(
            sorted.flatMap((p) => p.params.events.map((event) => event.digest)),
            'bytea',
          )}
        ) order by ord`);
    } catch {
      // One request broke the shared transaction: nothing of the batch was written. Alone,
      // each gets its own answer (and the culprit its own error).
      await Promise.all(batch.map((p) => appendEvents(this.pool, p.params).then(p.resolve, p.reject)));
      return;
    }
    sorted.forEach((pending, index) => {
      const row = rows[index];
      if (!row || row.ord !== index + 1) pending.reject(new Error('append batch returned no row for a request'));
      else {
        try {
          pending.resolve(toAppendOutcome(row));
        } catch (error) {
          pending.reject(error);
        }
      }
    });
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
