import { type IdentifierSqlToken, type ListSqlToken, type PrimitiveValueExpression, sql } from 'slonik';

export { sql };

/** The array element types the batch functions take. */
type ArrayMember = 'text' | 'uuid' | 'int4' | 'int8' | 'bool' | 'bytea';

/**
 * Column-wise array arguments for a batch function, comma-separated: one typed array per
 * `[value, type]` pair, each holding that value of every row, in row order.
 */
export function arrayArguments<T>(
  rows: readonly T[],
  columnsOf: readonly [(row: T) => PrimitiveValueExpression, ArrayMember][],
): ListSqlToken {
  return sql.join(
    columnsOf.map(([value, type]) => sql.array(rows.map(value), type)),
    sql.fragment`, `,
  );
}

/** A comma-separated list of qualified column identifiers, e.g. `"e"."seq", "e"."hash"`. */
export function columns(table: string, names: readonly string[]): ListSqlToken {
  const identifiers: IdentifierSqlToken[] = names.map((name) => sql.identifier([table, name]));
  return sql.join(identifiers, sql.fragment`, `);
}

export const JOB_COLUMN_NAMES = [
  'tenant_id',
  'job_id',
  'job_type',
  'queue',
  'state',
  'input',
  'output',
  'last_error',
  'attempt',
  'max_attempts',
  'priority',
  'idempotency_key',
  'fencing_token',
  'lease_owner',
  'lease_expires_at',
  'next_run_at',
  'head_seq',
  'head_hash',
  'waiting_for',
  'labels',
  'retry_policy',
  'attempt_timeout_us',
  'created_at',
  'updated_at',
  'finished_at',
  'required_capabilities',
  'heartbeat_at',
] as const;

export const EVENT_COLUMN_NAMES = [
  'tenant_id',
  'job_id',
  'seq',
  'tx_id',
  'position',
  'event_id',
  'type',
  'payload',
  'payload_digest',
  'actor',
  'recorded_at',
  'prev_hash',
  'hash',
] as const;
