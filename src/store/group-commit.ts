/**
 * Group commit: while `maxInFlight` batches of one kind of write are being committed, new
 * requests queue; when a batch commits, everything queued goes out as the next batch — one
 * statement, one transaction, one WAL flush for up to `maxBatch` requests. Under light load a
 * request finds a free slot and is written alone on the loop's next check phase, so batching adds
 * microseconds of latency; under load it replaces the wait for a pool connection.
 *
 * Requests are sorted by `key` (tenant and job) before a batch is written, so concurrent batches
 * lock job rows in one global order. Each request keeps its own outcome. If the batch statement
 * fails (one request raised inside the shared transaction, nothing was written), every request
 * of the batch is retried alone, so one bad request cannot fail the others.
 */
export interface GroupCommitOptions<P, B, R> {
  /** Writes one request (used for a batch of one and for the fallback). */
  single: (params: P) => Promise<R>;
  /**
   * Writes requests already sorted by `key` in one statement, returning one row per request, in
   * order. Only a failure here means "nothing was written".
   */
  batch: (params: P[]) => Promise<readonly B[]>;
  /** A committed row as the request's result (a throw rejects only that request). */
  fromRow: (row: B) => R;
  /** Lock-order key (tenant and job). */
  key: (params: P) => string;
  /** Batches written concurrently (each holds one pool connection). */
  maxInFlight: number;
  /**
   * Batches allowed beyond `maxInFlight`, only while the queued weight reaches half of
   * `maxWeight`: such a batch is big enough that writing it beside the one in flight (its commit
   * overlapping the other's WAL flush) beats waiting to make it bigger (100-event appends), while
   * light requests keep waiting to form one batch (single-event appends).
   */
  overflowInFlight?: number;
  /** Requests per batch at most. */
  maxBatch?: number;
  /** Size of a request (events of an append) and the most a batch may carry. */
  weight?: (params: P) => number;
  maxWeight?: number;
}

interface Pending<P, R> {
  params: P;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

export class GroupCommit<P, B, R> {
  private readonly queue: Pending<P, R>[] = [];
  private inFlight = 0;
  private drainScheduled = false;

  constructor(private readonly options: GroupCommitOptions<P, B, R>) {}

  run(params: P): Promise<R> {
    return new Promise((resolve, reject) => {
      this.queue.push({ params, resolve, reject });
      this.scheduleDrain();
    });
  }

  /**
   * Batches start on the event loop's next check phase, not at once: requests whose bytes are
   * already read from the sockets in this turn join the batch instead of waiting behind a batch
   * of one (the cost is one loop turn of latency, microseconds).
   */
  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    while (this.queue.length > 0 && this.mayStartBatch()) {
      const batch = this.take();
      this.inFlight++;
      void this.write(batch).finally(() => {
        this.inFlight--;
        this.scheduleDrain();
      });
    }
  }

  private mayStartBatch(): boolean {
    const { maxInFlight, overflowInFlight = 0 } = this.options;
    if (this.inFlight < maxInFlight) return true;
    return this.inFlight < maxInFlight + overflowInFlight && this.queuedWeight() * 2 >= this.maxWeight();
  }

  private maxWeight(): number {
    return this.options.maxWeight ?? Number.POSITIVE_INFINITY;
  }

  private queuedWeight(): number {
    const weight = this.options.weight ?? (() => 1);
    let total = 0;
    for (const pending of this.queue) total += weight(pending.params);
    return total;
  }

  /** The next batch: at least one request, then up to `maxBatch` and `maxWeight`. */
  private take(): Pending<P, R>[] {
    const maxBatch = this.options.maxBatch ?? 64;
    const maxWeight = this.maxWeight();
    const weight = this.options.weight ?? (() => 1);
    let total = 0;
    let count = 0;
    for (const pending of this.queue) {
      if (count >= maxBatch) break;
      const w = weight(pending.params);
      if (count > 0 && total + w > maxWeight) break;
      total += w;
      count++;
    }
    return this.queue.splice(0, count);
  }

  private async write(batch: Pending<P, R>[]): Promise<void> {
    const { single, key } = this.options;
    if (batch.length === 1) {
      const [only] = batch as [Pending<P, R>];
      await single(only.params).then(only.resolve, only.reject);
      return;
    }
    // Stable: requests of one job keep their arrival order.
    const sorted = batch
      .map((pending, index) => ({ pending, index, key: key(pending.params) }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.index - b.index))
      .map(({ pending }) => pending);
    let rows: readonly B[];
    try {
      rows = await this.options.batch(sorted.map((pending) => pending.params));
    } catch {
      await Promise.all(batch.map((pending) => single(pending.params).then(pending.resolve, pending.reject)));
      return;
    }
    sorted.forEach((pending, index) => {
      if (index >= rows.length) {
        pending.reject(new Error('a batched write returned no row for a request'));
        return;
      }
      try {
        pending.resolve(this.options.fromRow(rows[index] as B));
      } catch (error) {
        pending.reject(error);
      }
    });
  }
}

/** One job of one tenant. */
export interface JobKey {
  tenant: string;
  jobId: string;
}

/** The lock-order key of a request on one job. */
export const jobKey = (params: JobKey): string => `${params.tenant}\u0000${params.jobId}`;
