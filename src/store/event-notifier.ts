import pg from 'pg';

/** Minimal logger shape (pino-compatible) so the store does not depend on the server. */
export interface NotifierLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

type Waker = () => void;

const CHANNEL = 'aetheris_events';
const MAX_JOB_IDS_PER_NOTIFY = 100;

/**
 * Pushes "something was appended" to stream readers, in this process at once and to other
 * processes through LISTEN/NOTIFY.
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
  private readonly pending = new Map<string, Set<string> | null>();
  private readonly tenantWakers = new Map<string, Set<Waker>>();
  private readonly tenantVersions = new Map<string, number>();
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

  /** Records that events of `jobId` were committed: wake local readers, NOTIFY the others. */
  published(tenant: string, jobId: string): void {
    this.wakeTenant(tenant);
    const jobs = this.pending.get(tenant);
    if (jobs === undefined) this.pending.set(tenant, new Set([jobId]));
    else if (jobs !== null) {
      jobs.add(jobId);
      if (jobs.size > MAX_JOB_IDS_PER_NOTIFY) this.pending.set(tenant, null);
    }
    this.flushTimer ??= setTimeout(() => this.flush(), this.coalesceMs);
  }

  /**
   * A counter that moves whenever the tenant may have new events. Readers take it *before*
   * querying and pass it to {@link waitForTenant}, so a wake-up between their query and their
   * wait is never lost.
   */
  version(tenant: string): number {
    return this.tenantVersions.get(tenant) ?? 0;
  }

  /**
   * Resolves when the tenant's version differs from `sinceVersion` (at once if it already
   * does), after `timeoutMs` (the safety re-check) or when `signal` aborts. Never rejects.
   */
  waitForTenant(tenant: string, sinceVersion: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted || this.version(tenant) !== sinceVersion) return resolve();
      let wakers = this.tenantWakers.get(tenant);
      if (!wakers) {
        wakers = new Set();
        this.tenantWakers.set(tenant, wakers);
      }
      const set = wakers;
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        set.delete(done);
        if (set.size === 0 && this.tenantWakers.get(tenant) === set) this.tenantWakers.delete(tenant);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      set.add(done);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      await this.flush();
    }
    const client = this.client;
    this.client = undefined;
    this.setConnected(false);
    await client?.end().catch(() => undefined);
    for (const tenant of [...this.tenantWakers.keys()]) this.wakeTenant(tenant);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString, connectionTimeoutMillis: 2000 });
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    client.on('notification', (message) => {
      if (message.processId === backendPid(client) || !message.payload) return;
      this.wakeTenant(message.payload.split('\n', 1)[0] ?? '');
    });
    await client.connect();
    await client.query(`listen ${CHANNEL}`);
    this.client = client;
    this.reconnectDelayMs = 100;
    this.setConnected(true);
    // Anything committed while we were not listening would otherwise wait for the safety timer.
    for (const tenant of [...this.tenantWakers.keys()]) this.wakeTenant(tenant);
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

  private async flush(): Promise<void> {
    this.flushTimer = undefined;
    if (this.pending.size === 0) return;
    const payloads = [...this.pending].map(([tenant, jobs]) => (jobs ? `${tenant}\n${[...jobs].join(',')}` : tenant));
    this.pending.clear();
    const client = this.client;
    if (!client) return; // Other processes fall back to their safety timer.
    try {
      await client.query(`select pg_notify('${CHANNEL}', p) from unnest($1::text[]) as p`, [payloads]);
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'NOTIFY failed; other processes will re-check');
    }
  }

  private wakeTenant(tenant: string): void {
    this.tenantVersions.set(tenant, (this.tenantVersions.get(tenant) ?? 0) + 1);
    const wakers = this.tenantWakers.get(tenant);
    if (!wakers) return;
    this.tenantWakers.delete(tenant);
    for (const wake of wakers) wake();
  }
}

/** The backend pid of a connected client (not in @types/pg). */
function backendPid(client: pg.Client): number | undefined {
  return (client as unknown as { processID?: number }).processID;
}
