/**
 * Pauses of this process during a phase: garbage collections (from the performance timeline, so
 * on the `performance.now()` clock) and the event loop's delay. A stall here delays every
 * request in flight at once, client and server halves alike, since both live in this process.
 */
import { type EntryType, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { round3 } from './stats.js';

export interface Pauses {
  gcCount: number;
  gcTotalMs: number;
  gcMaxMs: number;
  /** Event-loop delay (1 ms resolution timer), ms. */
  loopDelayP50Ms: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

export interface PauseWatch {
  /** GC time (ms) overlapping [from, to] on the performance.now() clock. */
  gcWithin(from: number, to: number): number;
  /** Stops watching and summarizes. Call once. */
  stop(): Pauses;
}

export function watchPauses(): PauseWatch {
  const gcs: { start: number; end: number }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcs.push({ start: entry.startTime, end: entry.startTime + entry.duration });
  });
  observer.observe({ entryTypes: ['gc' as EntryType] });
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  return {
    gcWithin: (from, to) =>
      round3(gcs.reduce((sum, gc) => sum + Math.max(0, Math.min(gc.end, to) - Math.max(gc.start, from)), 0)),
    stop: () => {
      loop.disable();
      // Entries still buffered by the observer are delivered on takeRecords().
      for (const entry of observer.takeRecords()) {
        gcs.push({ start: entry.startTime, end: entry.startTime + entry.duration });
      }
      observer.disconnect();
      const durations = gcs.map((gc) => gc.end - gc.start);
      const ms = (ns: number): number => round3(ns / 1e6);
      return {
        gcCount: gcs.length,
        gcTotalMs: round3(durations.reduce((a, b) => a + b, 0)),
        gcMaxMs: round3(Math.max(0, ...durations)),
        loopDelayP50Ms: ms(loop.percentile(50)),
        loopDelayP99Ms: ms(loop.percentile(99)),
        loopDelayMaxMs: ms(loop.max),
      };
    },
  };
}
