import { createPool, type DatabasePool } from 'slonik';
import { createPreparingDriverFactory, DEFAULT_PREPARED_STATEMENTS } from './prepared-statements.js';

/** Options of {@link createDatabasePool}. */
export interface PoolOptions {
  connectionString: string;
  /** Connections in the pool; default 16. */
  maximumPoolSize?: number;
  /** Fail a connection attempt after this long (ms); default 2000, so calls fail fast. */
  connectionTimeoutMs?: number;
  /** Server-side statement timeout (ms); default 30000. */
  statementTimeoutMs?: number;
  /** Statements each connection keeps prepared (see prepared-statements.ts); 0 prepares none. */
  preparedStatements?: number;
}

/**
 * Creates the slonik pool with Aetheris' type parsers: int8 and xid8 as `bigint` (no precision
 * loss on positions and tokens) and timestamptz as microseconds since the epoch (`bigint`),
 * because the hash chain and the wire format keep microseconds.
 */
export async function createDatabasePool(options: PoolOptions): Promise<DatabasePool> {
  return createPool(withSessionOptions(options.connectionString), {
    driverFactory: createPreparingDriverFactory(options.preparedStatements ?? DEFAULT_PREPARED_STATEMENTS),
    maximumPoolSize: options.maximumPoolSize ?? 16,
    connectionTimeout: options.connectionTimeoutMs ?? 2000,
    statementTimeout: options.statementTimeoutMs ?? 30_000,
    idleTimeout: 60_000,
    // A retried query or transaction could append twice; retries belong to the caller.
    queryRetryLimit: 0,
    transactionRetryLimit: 0,
    connectionRetryLimit: 0,
    gracefulTerminationTimeout: 5000,
    // slonik's default runs DISCARD ALL on every release, which throws away the plpgsql plan
    // caches of the append/ledger functions (measured: a tool call pair 1.1 ms → 2.5 ms in raw
    // SQL). No session state is ever set outside a transaction here, so there is nothing to reset.
    resetConnection: async () => {},
    typeParsers: [
      { name: 'int8', parse: (value: string) => BigInt(value) },
      { name: 'xid8', parse: (value: string) => BigInt(value) },
      { name: 'timestamptz', parse: parseTimestampUs },
      { name: 'jsonb', parse: (value: string) => JSON.parse(value) as unknown },
    ],
  });
}

const TIMESTAMP = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?([+-]\d\d)(?::?(\d\d))?$/;

/**
 * Parses Postgres' timestamptz text output to microseconds since the Unix epoch. Every job and
 * event row carries timestamps (a replay parses 100,000 of them), so the form our UTC sessions
 * print, `2026-11-28 13:12:14.288123+00`, is read by position without a regex, a Date or an
 * intermediate string (it was ~10% of the server's CPU in a ListJobs profile); any other form
 * takes the general path.
 */
export function parseTimestampUs(value: string): bigint {
  return parseUtcTimestampUs(value) ?? parseAnyTimestampUs(value);
}

/** `YYYY-MM-DD hh:mm:ss[.f{1,6}]+00`, or undefined for any other form. */
function parseUtcTimestampUs(value: string): bigint | undefined {
  const length = value.length;
  if (length < 22 || length > 29 || !value.endsWith('+00')) return undefined;
  const year = digitsAt(value, 0, 4);
  const month = digitsAt(value, 5, 2);
  const day = digitsAt(value, 8, 2);
  const hour = digitsAt(value, 11, 2);
  const minute = digitsAt(value, 14, 2);
  const second = digitsAt(value, 17, 2);
  const separatorsOk =
    value.charCodeAt(4) === 45 &&
    value.charCodeAt(7) === 45 &&
    value.charCodeAt(10) === 32 &&
    value.charCodeAt(13) === 58 &&
    value.charCodeAt(16) === 58;
  if (!separatorsOk || Number.isNaN(year + month + day + hour + minute + second)) return undefined;
  let fraction = 0;
  if (length > 22) {
    const digits = length - 23; // after the '.', before '+00'
    if (value.charCodeAt(19) !== 46 || digits < 1) return undefined;
    fraction = digitsAt(value, 20, digits) * 10 ** (6 - digits);
    if (Number.isNaN(fraction)) return undefined;
  }
  const seconds = daysFromCivil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
  // Exact in a double while |µs| < 2^53 (until the year 2255); beyond that, in bigint.
  return Math.abs(seconds) < 9_000_000_000
    ? BigInt(seconds * 1_000_000 + fraction)
    : BigInt(seconds) * 1_000_000n + BigInt(fraction);
}

/** The decimal number in value[start, start + count), or NaN if a character is not a digit. */
function digitsAt(value: string, start: number, count: number): number {
  let n = 0;
  for (let i = start; i < start + count; i++) {
    const digit = value.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return Number.NaN;
    n = n * 10 + digit;
  }
  return n;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

function parseAnyTimestampUs(value: string): bigint {
  const match = TIMESTAMP.exec(value);
  if (!match) throw new Error(`unexpected timestamptz text: ${value}`);
  const [, date, time, fraction = '', offsetHours = '+00', offsetMinutes = '00'] = match;
  const ms = Date.parse(`${date}T${time}${offsetHours}:${offsetMinutes}`);
  return BigInt(ms) * 1000n + BigInt(fraction.padEnd(6, '0'));
}

/**
 * Settings of every pooled session, ahead of any `options` of the URL (a later `-c` wins, so the
 * operator's own settings still apply).
 *
 * - `TimeZone=UTC`: timestamptz text comes in the one form {@link parseTimestampUs} reads by position.
 * - `enable_seqscan=off`: every statement the server runs is a key or index lookup, and PL/pgSQL
 *   keeps a session's plan of each statement. A plan made while a table had a few pages (a new
 *   deployment, right after a vacuum of a small table) scans the whole table; it stayed cached as
 *   the table grew, until the next autovacuum ANALYZE (measured in the gate: the job row lock,
 *   the head update and AcquireJob's "others runnable" check as sequential scans, PostgreSQL CPU
 *   per job 6.8–8.7 ms against 4.8–5.0 ms with the setting). With it the planner takes the index
 *   whatever the table's size; a query with no usable index still scans.
 */
const SESSION_OPTIONS = '-c TimeZone=UTC -c enable_seqscan=off';

function withSessionOptions(connectionString: string): string {
  const url = new URL(connectionString);
  const own = url.searchParams.get('options');
  url.searchParams.set('options', own ? `${SESSION_OPTIONS} ${own}` : SESSION_OPTIONS);
  return url.toString();
}
