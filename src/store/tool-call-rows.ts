import { z } from 'zod';
import type { JobErrorRecord, Micros } from '../domain/records.js';

/** Ledger states, as stored. */
export const TOOL_CALL_STATES = ['started', 'succeeded', 'failed', 'in_doubt', 'resolved'] as const;
export type ToolCallState = (typeof TOOL_CALL_STATES)[number];

/** One entry of the at-most-once tool call ledger. */
export interface ToolCallRecord {
  jobId: string;
  callKey: string;
  toolName: string;
  argsDigest: Buffer;
  state: ToolCallState;
  /** Canonical JSON text. */
  result: string | null;
  error: JobErrorRecord | null;
  attempt: number;
  fencingToken: bigint;
  idempotent: boolean;
  externalKey: string;
  startedAt: Micros;
  finishedAt: Micros | null;
}

export const toolCallRow = z.object({
  job_id: z.string(),
  call_key: z.string(),
  tool_name: z.string(),
  args_digest: z.custom<Buffer>(),
  state: z.custom<ToolCallState>(),
  result: z.string().nullable(),
  error: z.custom<JobErrorRecord>().nullable(),
  attempt: z.number(),
  fencing_token: z.bigint(),
  idempotent: z.boolean(),
  external_key: z.string(),
  started_at: z.bigint(),
  finished_at: z.bigint().nullable(),
});
export type ToolCallRow = z.infer<typeof toolCallRow>;

export function toToolCallRecord(row: ToolCallRow): ToolCallRecord {
  return {
    jobId: row.job_id,
    callKey: row.call_key,
    toolName: row.tool_name,
    argsDigest: row.args_digest,
    state: row.state,
    result: row.result,
    error: row.error,
    attempt: row.attempt,
    fencingToken: row.fencing_token,
    idempotent: row.idempotent,
    externalKey: row.external_key,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}
