import type { DatabasePool } from 'slonik';
import type { EventNotifier } from '../store/event-notifier.js';
import { eventsTopic, queueTopic } from '../store/event-notifier.js';
import { wakeOverdueWaits } from '../store/signals.js';
import { expireLeases } from '../store/worker-protocol.js';
import { NOOP_SERVER_METRICS, type ServerMetrics } from '../telemetry/server-metrics.js';
import type { DatabaseHealth } from './database-health.js';
import type { Logger } from './logger.js';

const BATCH = 100;

/**
 * Returns expired leases and timed-out attempts to the retry path (or fails the job when its
 * attempts are spent), and makes parked signal waits past their deadline runnable. Every server process runs one; `FOR UPDATE SKIP LOCKED` in
 * `aetheris.expire_leases` gives each expired job to exactly one of them.
 */
export class LeaseSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly pool: DatabasePool,
    private readonly notifier: EventNotifier,
    private readonly health: DatabaseHealth,
    private readonly logger: Logger,
    private readonly intervalMs = 1000,
    private readonly metrics: ServerMetrics = NOOP_SERVER_METRICS,
  ) {}

  start(): void {
    this.schedule(this.intervalMs);
  }

  /** Runs one sweep now (tests, and after start-up). Resolves with the number of jobs moved. */
  async sweepOnce(): Promise<number> {
    let moved = 0;
    for (;;) {
      const rows = await expireLeases(this.pool, BATCH);
      for (const row of rows) {
        this.metrics.leaseExpired(row.outcome);
        this.notifier.publish(eventsTopic(row.tenant));
        if (row.outcome === 'retrying') this.notifier.publish(queueTopic(row.tenant, row.queue));
      }
      const woken = await wakeOverdueWaits(this.pool, BATCH);
      for (const row of woken) {
        this.notifier.publish(eventsTopic(row.tenant));
        this.notifier.publish(queueTopic(row.tenant, row.queue));
      }
      moved += rows.length + woken.length;
      if (rows.length > 0) this.logger.info({ expired: rows.length }, 'expired leases returned to the retry path');
      if (woken.length > 0) this.logger.info({ woken: woken.length }, 'overdue signal waits resumed');
      if (rows.length < BATCH && woken.length < BATCH) return moved;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = (async () => {
        if (this.health.isServing) {
          try {
            await this.sweepOnce();
          } catch (error) {
            this.logger.warn({ err: (error as Error).message }, 'lease sweep failed; retrying');
          }
        }
      })().finally(() => this.schedule(this.intervalMs));
    }, delay);
    this.timer.unref();
  }
}
