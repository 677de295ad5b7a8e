/** Unary load with ghz (https://ghz.sh): one RPC, fixed concurrency and duration, JSON report. */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Measurement } from './verdict.js';

const run = promisify(execFile);

interface GhzReport {
  count: number;
  total: number;
  rps: number;
  slowest: number;
  latencyDistribution: { percentage: number; latency: number }[] | null;
  errorDistribution: Record<string, number> | null;
  statusCodeDistribution: Record<string, number> | null;
}

export interface GhzRun {
  ghz: string;
  name: string;
  address: string;
  /** A descriptor set (`--protoset`; ghz's own parser predates proto3 `optional`) or a .proto file. */
  protoset?: string;
  protoFile?: string;
  importPath?: string;
  /** `package.Service.Method`. */
  call: string;
  /** Messages in protobuf JSON; ghz sends them round-robin. */
  data: unknown[];
  authorization?: string;
  concurrency: number;
  connections: number;
  seconds: number;
  /** Events carried by one call (for events/s). */
  eventsPerCall: number;
}

const ms = (nanoseconds: number): number => Math.round(nanoseconds / 1e3) / 1e3;

export async function runGhz(options: GhzRun): Promise<Measurement> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'aetheris-ghz-'));
  try {
    const dataFile = path.join(dir, 'data.json');
    const reportFile = path.join(dir, 'report.json');
    await writeFile(dataFile, JSON.stringify(options.data));
    const args = [
      '--insecure',
      ...(options.protoset
        ? ['--protoset', options.protoset]
        : ['--proto', options.protoFile ?? '', '--import-paths', options.importPath ?? '']),
      '--call',
      options.call,
      '--data-file',
      dataFile,
      '--concurrency',
      String(options.concurrency),
      '--connections',
      String(options.connections),
      '--duration',
      `${options.seconds}s`,
      '--format',
      'json',
      '--output',
      reportFile,
    ];
    if (options.authorization) args.push('--metadata', JSON.stringify({ authorization: options.authorization }));
    await run(options.ghz, [...args, options.address], { maxBuffer: 64 * 1024 * 1024 });
    const report = JSON.parse(await readFile(reportFile, 'utf8')) as GhzReport;
    const at = (percentage: number): number =>
      ms(report.latencyDistribution?.find((entry) => entry.percentage === percentage)?.latency ?? Number.NaN);
    const statuses = report.statusCodeDistribution ?? {};
    const ok = statuses.OK ?? 0;
    const errors = Object.entries(statuses)
      .filter(([code]) => code !== 'OK')
      .reduce((sum, [, count]) => sum + count, 0);
    // ghz counts calls cut off by the end of the duration as errors ("context deadline exceeded"
    // / "transport is closing"); they are not server failures, so they are reported apart.
    const cutOff = Object.entries(report.errorDistribution ?? {})
      .filter(([message]) =>
        /deadline exceeded|transport is closing|context canceled|connection is closing/i.test(message),
      )
      .reduce((sum, [, count]) => sum + count, 0);
    const seconds = report.total / 1e9;
    return {
      name: options.name,
      durationSeconds: Math.round(seconds * 100) / 100,
      ops: ok,
      opsPerSecond: Math.round((ok / seconds) * 10) / 10,
      events: ok * options.eventsPerCall,
      eventsPerSecond: Math.round(((ok * options.eventsPerCall) / seconds) * 10) / 10,
      latencyMs: { count: ok, p50: at(50), p95: at(95), p99: at(99), max: ms(report.slowest) },
      errors: Math.max(0, errors - cutOff),
      errorSamples: Object.keys(report.errorDistribution ?? {})
        .filter(
          (message) => !/deadline exceeded|transport is closing|context canceled|connection is closing/i.test(message),
        )
        .slice(0, 5),
      lost: 0,
      notes: cutOff ? `${cutOff} calls cut off by the end of the run (not counted)` : undefined,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
