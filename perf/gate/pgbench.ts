/**
 * The database reference: pgbench inserting into a table shaped like the event log (same key,
 * a payload, a SHA-256 computed by the database) in its own database on the same cluster, at
 * the scenario's concurrency. One-row transactions bound single-event appends; 100-row
 * transactions bound batched appends.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type pg from 'pg';
import type { Measurement } from './verdict.js';

const run = promisify(execFile);

export const REFERENCE_SCHEMA = `
  create table if not exists ref_events (
    job_id int not null,
    seq bigint not null,
    event_id uuid not null default gen_random_uuid(),
    type text not null,
    payload bytea not null,
    recorded_at timestamptz not null default clock_timestamp(),
    hash bytea not null,
    primary key (job_id, seq)
  );
  create sequence if not exists ref_seq;`;

function script(rows: number): string {
  const values = `:job, nextval('ref_seq'), 'bench', '\\x7b226e223a317d'::bytea, sha256('\\x00'::bytea)`;
  return rows === 1
    ? `\\set job random(1, 64)\ninsert into ref_events (job_id, seq, type, payload, hash) values (${values});\n`
    : `\\set job random(1, 64)\ninsert into ref_events (job_id, seq, type, payload, hash) select ${values} from generate_series(1, ${rows});\n`;
}

/** Prepares the reference table (idempotent). */
export async function prepareReference(db: pg.Client): Promise<void> {
  await db.query(REFERENCE_SCHEMA);
}

/** Runs pgbench for `seconds`; rows/s is the rate comparable to events/s. */
export async function runPgbench(options: {
  pgbench: string;
  url: string;
  name: string;
  rows: number;
  concurrency: number;
  seconds: number;
}): Promise<Measurement> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'aetheris-pgbench-'));
  try {
    const file = path.join(dir, 'insert.sql');
    await writeFile(file, script(options.rows));
    const { stdout } = await run(
      options.pgbench,
      [
        '-n',
        '-M',
        'prepared',
        '-c',
        String(options.concurrency),
        '-j',
        String(Math.min(options.concurrency, os.cpus().length)),
        '-T',
        String(options.seconds),
        '-f',
        file,
        options.url,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    const number = (pattern: RegExp): number => {
      const match = pattern.exec(stdout);
      if (!match?.[1]) throw new Error(`pgbench output without ${pattern}: ${stdout}`);
      return Number(match[1]);
    };
    const tps = number(/tps = ([\d.]+) \(without initial connection time\)/);
    const transactions = number(/number of transactions actually processed: (\d+)/);
    const failed = /number of failed transactions: (\d+)/.exec(stdout);
    const average = number(/latency average = ([\d.]+) ms/);
    return {
      name: options.name,
      durationSeconds: options.seconds,
      ops: transactions,
      opsPerSecond: tps,
      events: transactions * options.rows,
      eventsPerSecond: tps * options.rows,
      latencyMs: { count: transactions, p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, max: Number.NaN },
      errors: failed?.[1] ? Number(failed[1]) : 0,
      errorSamples: [],
      lost: 0,
      notes: `latency average ${average} ms (pgbench reports no percentiles without per-transaction logs)`,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
