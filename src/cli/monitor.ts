/**
 * `aetheris monitor`: the tenant's summary and stuck jobs in the terminal, once or refreshed in
 * place (`--watch`), or as JSON for scripts (`--json`). Everything shown comes from GetSummary
 * and ListStuckJobs, so it is exactly what the caller's API key may see: one tenant.
 */
import type { Command } from 'commander';
import { JobState, jobStateToJSON } from '../../gen/ts/aetheris/runtime/v1/job.js';
import {
  GetSummaryRequest,
  type GetSummaryResponse,
  ListStuckJobsRequest,
  type StuckJob,
  StuckReason,
  stuckReasonToJSON,
} from '../../gen/ts/aetheris/runtime/v1/runtime_service.js';
import type { Duration } from '../../gen/ts/google/protobuf/duration.js';
import type { Timestamp } from '../../gen/ts/google/protobuf/timestamp.js';
import { formatDuration } from '../domain/durations.js';
import { type CliClient, type ConnectionFlags, openClient, parseInteger, withConnectionOptions } from './cli-client.js';
import { type JsonObject, jobJson, printHint, printLine, printObject } from './output.js';

/** Flags of `monitor`. */
interface MonitorFlags extends ConnectionFlags {
  watch?: boolean;
  interval?: string;
  json?: boolean;
  window?: string;
  heartbeatThreshold?: string;
  limit?: string;
}

/** One refresh: what both calls returned. */
export interface MonitorSnapshot {
  summary: GetSummaryResponse;
  stuck: StuckJob[];
  moreStuck: boolean;
}

const STATES: readonly JobState[] = [
  JobState.JOB_STATE_PENDING,
  JobState.JOB_STATE_RUNNING,
  JobState.JOB_STATE_PARKED,
  JobState.JOB_STATE_RETRYING,
  JobState.JOB_STATE_COMPLETED,
  JobState.JOB_STATE_FAILED,
  JobState.JOB_STATE_CANCELLED,
];

// Cursor home, clear to the end of each line and below the frame: redraws without flicker.
const HOME = '\x1b[H';
const CLEAR_LINE = '\x1b[K';
const CLEAR_BELOW = '\x1b[J';
const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';

/** `aetheris monitor [--watch] [--interval ms] [--json]`. */
export function registerMonitorCommand(program: Command): void {
  withConnectionOptions(
    program
      .command('monitor')
      .description("the tenant's job counts, backlog, workers, failure rate, parked waits and stuck jobs")
      .option('--watch', 'refresh in place until Ctrl-C (exits 0)')
      .option('--interval <ms>', 'refresh interval with --watch, 100..3600000', '2000')
      .option('--json', 'print {summary, stuck, moreStuck} as JSON: one object, or one line per refresh with --watch')
      .option('--window <ms>', 'failure-rate window in ms (server default: 1 hour)')
      .option('--heartbeat-threshold <ms>', 'heartbeat silence that counts as stuck, ms (server default: 2 minutes)')
      .option('--limit <n>', 'stuck jobs to show, 1..500', '20'),
  ).action(async (flags: MonitorFlags) => {
    const intervalMs = parseInteger('--interval', flags.interval ?? '2000', 100, 3_600_000);
    const summaryRequest = GetSummaryRequest.fromPartial({
      window:
        flags.window === undefined ? undefined : msDuration(parseInteger('--window', flags.window, 1, 2_592_000_000)),
    });
    const stuckRequest = ListStuckJobsRequest.fromPartial({
      heartbeatThreshold:
        flags.heartbeatThreshold === undefined
          ? undefined
          : msDuration(parseInteger('--heartbeat-threshold', flags.heartbeatThreshold, 1, 604_800_000)),
      pageSize: parseInteger('--limit', flags.limit ?? '20', 1, 500),
    });
    const client = await openClient(flags);
    const fetch = async (): Promise<MonitorSnapshot> => {
      const [summary, stuck] = await Promise.all([
        client.call(client.runtime, client.runtime.getSummary, summaryRequest),
        client.call(client.runtime, client.runtime.listStuckJobs, stuckRequest),
      ]);
      return { summary, stuck: stuck.stuckJobs, moreStuck: stuck.nextPageToken !== '' };
    };
    try {
      if (!flags.watch) {
        const snapshot = await fetch();
        if (flags.json) printObject(snapshotJson(snapshot));
        else process.stdout.write(`${renderSnapshot(snapshot, client.address).join('\n')}\n`);
        return;
      }
      await watch(client, fetch, intervalMs, flags.json === true);
    } finally {
      client.close();
    }
  });
}

/** Refreshes until Ctrl-C. A failed refresh is shown and retried: the monitor outlives a server restart. */
async function watch(
  client: CliClient,
  fetch: () => Promise<MonitorSnapshot>,
  intervalMs: number,
  json: boolean,
): Promise<void> {
  const tty = process.stdout.isTTY === true;
  const stop = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
  });
  let stopped = false;
  void stop.then(() => {
    stopped = true;
  });
  if (!json && tty) process.stdout.write(HIDE_CURSOR);
  try {
    while (!stopped) {
      const frame = await Promise.race([
        fetch().then(
          (snapshot) => ({ snapshot }),
          (error: unknown) => ({ error: error instanceof Error ? error.message : String(error) }),
        ),
        stop.then(() => null),
      ]);
      if (frame === null) break;
      if (json) {
        if ('snapshot' in frame) printLine(snapshotJson(frame.snapshot));
        else printHint(frame.error);
      } else {
        const lines =
          'snapshot' in frame
            ? renderSnapshot(frame.snapshot, client.address, intervalMs)
            : [
                `aetheris monitor · ${client.address} · refresh failed, retrying every ${formatDuration(intervalMs)}`,
                '',
                frame.error,
              ];
        const width = tty ? process.stdout.columns : undefined;
        const fitted = width
          ? lines.map((line) => (line.length > width ? `${line.slice(0, width - 1)}…` : line))
          : lines;
        process.stdout.write(`${HOME}${fitted.join(`${CLEAR_LINE}\n`)}${CLEAR_LINE}\n${CLEAR_BELOW}`);
      }
      await Promise.race([new Promise((resolve) => setTimeout(resolve, intervalMs)), stop]);
    }
  } finally {
    if (!json && tty) process.stdout.write(SHOW_CURSOR);
  }
  // Ctrl-C is the normal way out of --watch. A refresh still in flight would hold the process
  // until its deadline, so leave now (stdout writes to a pipe or terminal are synchronous).
  process.exit(0);
}

/** The JSON shape of one refresh (documented in docs/operations.md): durations in ms, counts as numbers. */
export function snapshotJson(snapshot: MonitorSnapshot): JsonObject {
  const { summary } = snapshot;
  return {
    summary: {
      asOf: iso(summary.asOf),
      counts: summary.counts.map((entry) => ({
        queue: entry.queue,
        state: jobStateToJSON(entry.state),
        count: Number(entry.count),
      })),
      runnableBacklog: Number(summary.runnableBacklog),
      oldestPendingAgeMs: summary.oldestPendingAge ? durationMs(summary.oldestPendingAge) : null,
      activeWorkers: summary.activeWorkers,
      parked: Number(summary.parked),
      parkedWaits: summary.parkedWaits.map((wait) => ({
        jobId: wait.jobId,
        queue: wait.queue,
        signalName: wait.signalName || null,
        toolCallKey: wait.toolCallKey || null,
        deadline: iso(wait.deadline),
        parkedAt: iso(wait.parkedAt),
      })),
      windowMs: summary.window ? durationMs(summary.window) : null,
      failureRate: summary.failureRate,
      completedInWindow: Number(summary.completedInWindow),
      failedInWindow: Number(summary.failedInWindow),
      cancelledInWindow: Number(summary.cancelledInWindow),
    },
    stuck: snapshot.stuck.map((stuck) => ({
      reason: stuckReasonToJSON(stuck.reason),
      stuckForMs: stuck.stuckFor ? durationMs(stuck.stuckFor) : 0,
      stuckSince: iso(stuck.stuckSince),
      detail: stuck.detail,
      job: stuck.job ? jobJson(stuck.job) : null,
    })),
    moreStuck: snapshot.moreStuck,
  };
}

/** The terminal view, as lines. */
export function renderSnapshot(snapshot: MonitorSnapshot, address: string, intervalMs?: number): string[] {
  const { summary } = snapshot;
  const refresh = intervalMs === undefined ? '' : ` · every ${formatDuration(intervalMs)} · Ctrl-C to exit`;
  const finished = summary.completedInWindow + summary.failedInWindow + summary.cancelledInWindow;
  const window = summary.window ? formatDuration(durationMs(summary.window)) : '?';
  const lines = [
    `aetheris monitor · ${address} · as of ${iso(summary.asOf) ?? '?'}${refresh}`,
    '',
    `runnable backlog ${summary.runnableBacklog}   oldest runnable ${
      summary.oldestPendingAge ? formatDuration(durationMs(summary.oldestPendingAge)) : '-'
    }   active workers ${summary.activeWorkers}   parked ${summary.parked}`,
    `failure rate (${window}) ${(summary.failureRate * 100).toFixed(1)}% · ${summary.failedInWindow} failed of ${finished} finished` +
      ` (completed ${summary.completedInWindow}, cancelled ${summary.cancelledInWindow})`,
    '',
  ];

  const byQueue = new Map<string, Map<JobState, bigint>>();
  for (const entry of summary.counts) {
    const states = byQueue.get(entry.queue) ?? new Map<JobState, bigint>();
    states.set(entry.state, (states.get(entry.state) ?? 0n) + entry.count);
    byQueue.set(entry.queue, states);
  }
  if (byQueue.size === 0) lines.push('no jobs');
  else {
    lines.push(
      ...table([
        ['QUEUE', ...STATES.map(stateName)],
        ...[...byQueue].map(([queue, states]) => [queue, ...STATES.map((state) => String(states.get(state) ?? 0n))]),
      ]),
    );
  }

  lines.push('');
  if (summary.parkedWaits.length === 0) lines.push('PARKED WAITS: none');
  else {
    const shown =
      BigInt(summary.parkedWaits.length) < summary.parked
        ? `${summary.parkedWaits.length} of ${summary.parked}, nearest deadline first`
        : 'nearest deadline first';
    const now = summary.asOf ? timestampMs(summary.asOf) : Date.now();
    lines.push(`PARKED WAITS (${shown})`);
    lines.push(
      ...table([
        ['JOB', 'QUEUE', 'WAITS FOR', 'DEADLINE'],
        ...summary.parkedWaits.map((wait) => [
          wait.jobId,
          wait.queue,
          wait.toolCallKey ? `decision on tool call ${wait.toolCallKey}` : `signal ${wait.signalName}`,
          wait.deadline ? relative(timestampMs(wait.deadline) - now) : '-',
        ]),
      ]),
    );
  }

  lines.push('');
  if (snapshot.stuck.length === 0) lines.push('STUCK JOBS: none');
  else {
    lines.push(`STUCK JOBS (longest first${snapshot.moreStuck ? `, first ${snapshot.stuck.length}` : ''})`);
    lines.push(
      ...table([
        ['REASON', 'FOR', 'JOB', 'TYPE', 'DETAIL'],
        ...snapshot.stuck.map((stuck) => [
          reasonName(stuck.reason),
          stuck.stuckFor ? formatDuration(durationMs(stuck.stuckFor)) : '-',
          stuck.job?.id ?? '',
          stuck.job?.jobType ?? '',
          stuck.detail,
        ]),
      ]),
    );
  }
  return lines;
}

/** Left-aligned columns two spaces apart (the last column is not padded). */
function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [index, cell] of row.entries()) widths[index] = Math.max(widths[index] ?? 0, cell.length);
  }
  return rows.map((row) =>
    row.map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index] ?? 0))).join('  '),
  );
}

function stateName(state: JobState): string {
  return jobStateToJSON(state).slice('JOB_STATE_'.length);
}

function reasonName(reason: StuckReason): string {
  if (reason === StuckReason.UNRECOGNIZED) return 'unknown';
  return stuckReasonToJSON(reason).slice('STUCK_REASON_'.length).toLowerCase().replaceAll('_', ' ');
}

function relative(ms: number): string {
  return ms >= 0 ? `in ${formatDuration(ms)}` : `${formatDuration(-ms)} ago`;
}

function durationMs(duration: Duration): number {
  return Number(duration.seconds) * 1000 + Math.floor(duration.nanos / 1e6);
}

function timestampMs(timestamp: Timestamp): number {
  return Number(timestamp.seconds) * 1000 + Math.floor(timestamp.nanos / 1e6);
}

function iso(timestamp: Timestamp | undefined): string | null {
  return timestamp ? new Date(timestampMs(timestamp)).toISOString() : null;
}

function msDuration(ms: number): Duration {
  return { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}
