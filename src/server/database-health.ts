import type { DatabasePool } from 'slonik';
import type { EventNotifier } from '../store/event-notifier.js';
import { sql } from '../store/sql.js';
import type { Logger } from './logger.js';

/**
 * Whether the database is reachable, so calls can fail fast with UNAVAILABLE instead of
 * waiting for a pool timeout. Down as soon as the LISTEN connection drops (PostgreSQL
 * closes it first on shutdown) or a query fails to connect; up again once the LISTEN
 * connection is back and a probe query succeeds.
 */
export class DatabaseHealth {
  private serving = false;
  private probing: Promise<void> | undefined;
  private readonly listeners = new Set<(serving: boolean) => void>();
  private stopped = false;

  constructor(
    private readonly pool: DatabasePool,
    private readonly notifier: EventNotifier,
    private readonly logger: Logger,
  ) {
    notifier.onConnectionChange((connected) => {
      if (!connected) this.set(false);
      else void this.probe();
    });
  }

  /** Initial state after start-up. */
  async start(): Promise<void> {
    await this.probe();
  }

  get isServing(): boolean {
    return this.serving;
  }

  /** Listens for SERVING (true) / NOT_SERVING (false) transitions. */
  onChange(listener: (serving: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A query failed as if the database were gone: go down now and re-probe. */
  reportUnavailable(): void {
    this.set(false);
    void this.probe();
  }

  stop(): void {
    this.stopped = true;
    this.listeners.clear();
  }

  private probe(): Promise<void> {
    this.probing ??= (async () => {
      try {
        for (let delay = 100; !this.stopped; delay = Math.min(delay * 2, 1000)) {
          if (this.notifier.isConnected && (await this.ping())) {
            this.set(true);
            return;
          }
          this.set(false);
          await new Promise((resolve) => setTimeout(resolve, delay).unref());
        }
      } finally {
        this.probing = undefined;
      }
    })();
    return this.probing;
  }

  private async ping(): Promise<boolean> {
    try {
      await this.pool.query(sql.unsafe`select 1`);
      return true;
    } catch {
      return false;
    }
  }

  private set(serving: boolean): void {
    if (this.serving === serving || this.stopped) return;
    this.serving = serving;
    this.logger[serving ? 'info' : 'warn']({ serving }, serving ? 'database reachable' : 'database unreachable');
    for (const listener of this.listeners) listener(serving);
  }
}
