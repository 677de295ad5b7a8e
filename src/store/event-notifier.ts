import pg from 'pg';

/** Minimal logger shape (pino-compatible) so the store does not depend on the server. */
export interface NotifierLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

type Waker = (wake: QueueWake | undefined) => void;

const CHANNEL = 'aetheris_events';

/** Topic of a tenant's event log: stream readers wait on it. */
export function eventsTopic(tenant: string): string {
  return `e/${tenant}`;
}

/** Topic of a tenant's queue: long-polling AcquireJob calls wait on it. */
const QUEUE_TOPIC_PREFIX = 'q/';

export function queueTopic(tenant: string, queue: string): string {
  return `${QUEUE_TOPIC_PREFIX}${tenant}/${queue}`;
}

/** Handed to the one waiter a queue change woke (see {@link EventNotifier.wait}). */
export interface QueueWake {
  /** How many more waiters may be tried if this one cannot use the wake. */
  hops: number;
}

/**
 * Pushes "something changed" on a topic (a tenant's log, a tenant's queue) to waiters, in this
 * process at once and to other processes through LISTEN/NOTIFY.
 *
 * NOTIFY is not sent inside append transactions (it takes a global lock at commit and halved
 * throughput): commits call {@link published}, which wakes local readers immediately and
 * sends one coalesced NOTIFY per tenant every few milliseconds. A process can die between
 * commit and NOTIFY, so readers also re-check on a slow safety timer: correctness never
 * depends on a notification arriving. The LISTEN connection reconnects by itself; on
 * reconnect every reader is woken, since notifications may have been missed.
 */
export class EventNotifier {
  private client: pg.Client | undefined;
  private connected = false;
  private closed = false;
  private reconnectDelayMs = 100;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  /** The NOTIFY in flight: flushes run one at a time on the single LISTEN connection. */
  private flushing: Promise<void> = Promise.resolve();
  private readonly pending = new Set<string>();
  private readonly wakers = new Map<string, Set<Waker>>();
  private readonly versions = new Map<string, number>();
  /** Queue topics that changed while no poll was waiting on them. */
  private readonly unclaimedWakes = new Set<string>();
  private readonly connectionListeners = new Set<(connected: boolean) => void>();

  constructor(
    private readonly connectionString: string,
    private readonly logger: NotifierLogger,
    private readonly coalesceMs = 5,
  ) {}

  /** Connects and LISTENs; resolves once listening (rejects if the first attempt fails). */
  async start(): Promise<void> {
    await this.connect();
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** Called with true/false whenever the LISTEN connection comes up or goes down. */
  onConnectionChange(listener: (connected: boolean) => void): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  }

  /** Records a committed change on `topic`: wake local waiters now, NOTIFY the others soon. */
  publish(topic: string): void {
    this.wake(topic);
    this.pending.add(topic);
    this.flushTimer ??= setTimeout(() => this.scheduleFlush(), this.coalesceMs);
  }

  /**
   * A counter that moves whenever the topic may have changed. Waiters take it *before*
   * querying and pass it to {@link wait}, so a wake-up between their query and their wait is
   * never lost.
   */
  version(topic: string): number {
    return this.versions.get(topic) ?? 0;
  }

  /**
   * Resolves when any of `topics` moved past its version in `since` (at once if one already
   * did), after `timeoutMs` (the safety re-check) or when `signal` aborts. Never rejects.
   *
   * A change on a queue topic wakes one waiter, not all of them (a new runnable job is work for
   * one worker; waking every idle long poll made each run its acquire query for nothing). That
   * waiter gets a {@link QueueWake}: if it cannot use the wake it must pass it on with
   * {@link handOff}, and if it could, it hands one on too, since more work may be waiting.
   * Changes on other topics (a tenant's log) wake every waiter.
   */
  wait(
    topics: readonly string[],
    since: readonly number[],
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<QueueWake | undefined> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve(undefined);
      // A queue change nobody was waiting for is kept for the next waiter (see wake()).
      const unclaimed = topics.find((topic) => this.unclaimedWakes.has(topic));
      if (unclaimed !== undefined) {
        this.unclaimedWakes.delete(unclaimed);
        // If this caller cannot use it, everyone already waiting may look in turn.
        return resolve({ hops: this.wakers.get(unclaimed)?.size ?? 0 });
      }
      // Other topics: anything that moved while the caller was reading means read again. (Queue
      // topics do not count here: that change went to one waiter, or is kept as unclaimed.)
      const moved = topics.some(
        (topic, index) => !topic.startsWith(QUEUE_TOPIC_PREFIX) && this.version(topic) !== since[index],
      );
      if (moved) return resolve(undefined);
      const done: Waker = (wake) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        for (const topic of topics) {
          const set = this.wakers.get(topic);
          set?.delete(done);
          if (set?.size === 0) this.wakers.delete(topic);
        }
        resolve(wake);
      };
      const onAbort = (): void => done(undefined);
      const timer = setTimeout(onAbort, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      for (const topic of topics) {
        let set = this.wakers.get(topic);
        if (!set) {
          set = new Set();
          this.wakers.set(topic, set);
        }
        set.add(done);
      }
    });
  }

  /**
   * Passes a queue wake on to the longest-waiting waiter of `topics`, which may pass it on
   * `hops` more times if it cannot use it either (its job types or capabilities do not match).
   */
  handOff(topics: readonly string[], hops: number): void {
    for (const topic of topics) {
      const next = this.wakers.get(topic)?.values().next().value;
      if (next) {
        next({ hops });
        return;
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.scheduleFlush();
    }
    await this.flushing;
    const client = this.client;
    this.client = undefined;
    this.setConnected(false);
    await client?.end().catch(() => undefined);
    for (const topic of [...this.wakers.keys()]) this.wake(topic, true);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString, connectionTimeoutMillis: 2000 });
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    client.on('notification', (message) => {
      if (message.processId === backendPid(client) || !message.payload) return;
      for (const topic of message.payload.split('\n')) this.wake(topic);
    });
    await client.connect();
    await client.query(`listen ${CHANNEL}`);
    this.client = client;
    this.reconnectDelayMs = 100;
    this.setConnected(true);
    // Anything committed while we were not listening would otherwise wait for the safety timer.
    for (const topic of [...this.wakers.keys()]) this.wake(topic, true);
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    this.setConnected(false);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect().catch((error: unknown) => {
        this.logger.warn({ err: (error as Error).message }, 'event notifier reconnect failed');
        this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, 1000);
        this.scheduleReconnect();
      });
    }, this.reconnectDelayMs);
    this.reconnectTimer.unref();
  }

  private setConnected(connected: boolean): void {
    if (this.connected === connected) return;
    this.connected = connected;
    if (connected) this.logger.info({}, 'event notifier listening');
    else if (!this.closed) this.logger.warn({}, 'event notifier lost its database connection');
    for (const listener of this.connectionListeners) listener(connected);
  }

  /** Chains a flush after the one in flight (pg forbids overlapping queries on a client). */
  private scheduleFlush(): void {
    this.flushTimer = undefined;
    this.flushing = this.flushing.then(() => this.flush());
  }

  private async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    // One NOTIFY payload (max 8000 bytes) per chunk of topics.
    const payloads: string[] = [];
    let current = '';
    for (const topic of this.pending) {
      if (current.length + topic.length + 1 > 7900 && current !== '') {
        payloads.push(current);
        current = '';
      }
      current = current === '' ? topic : `${current}\n${topic}`;
    }
    if (current !== '') payloads.push(current);
    this.pending.clear();
    const client = this.client;
    if (!client) return; // Other processes fall back to their safety timer.
    try {
      await client.query(`select pg_notify('${CHANNEL}', p) from unnest($1::text[]) as p`, [payloads]);
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'NOTIFY failed; other processes will re-check');
    }
  }

  /** `all`: wake every waiter even on a queue topic (reconnects and shutdown). */
  private wake(topic: string, all = false): void {
    this.versions.set(topic, this.version(topic) + 1);
    const wakers = this.wakers.get(topic);
    if (!all && topic.startsWith(QUEUE_TOPIC_PREFIX)) {
      const oldest = wakers?.values().next().value;
      if (!oldest) {
        // Every poll is busy querying: the next one to wait looks again at once.
        this.unclaimedWakes.add(topic);
        return;
      }
      // Everyone waiting may have to look in turn if the first cannot take the work.
      oldest({ hops: (wakers?.size ?? 1) - 1 });
      return;
    }
    if (!wakers) return;
    this.wakers.delete(topic);
    for (const wake of [...wakers]) wake(undefined);
  }
}

/** The backend pid of a connected client (not in @types/pg). */
function backendPid(client: pg.Client): number | undefined {
  return (client as unknown as { processID?: number }).processID;
}
