/** Group commit for AppendEvents (src/store/group-commit.ts, `aetheris.append_events_batch`). */
import type { DatabasePool } from 'slonik';
import { z } from 'zod';
import {
  type AppendOutcome,
  type AppendParams,
  appendEvents,
  appendRow,
  eventArrays,
  toAppendOutcome,
} from './events.js';
import { GroupCommit, jobKey } from './group-commit.js';
import { arrayArguments, sql } from './sql.js';

const batchRow = appendRow.extend({ ord: z.number() });

export interface AppendBatcherOptions {
  /** Batches written concurrently (each holds one pool connection). */
  maxInFlight?: number;
  /** Extra batches while half a batch's events or more are queued (GroupCommitOptions.overflowInFlight). */
  overflowInFlight?: number;
  /** Appends per batch at most. */
  maxBatch?: number;
  /** Events per batch at most (a batch closes early rather than exceed it). */
  maxEvents?: number;
}

export class AppendBatcher {
  private readonly commit: GroupCommit<AppendParams, z.infer<typeof batchRow>, AppendOutcome>;

  constructor(pool: DatabasePool, options: AppendBatcherOptions = {}) {
    this.commit = new GroupCommit<AppendParams, z.infer<typeof batchRow>, AppendOutcome>({
      single: (params) => appendEvents(pool, params),
      batch: (all) => appendBatch(pool, all),
      fromRow: toAppendOutcome,
      key: jobKey,
      maxInFlight: options.maxInFlight ?? 4,
      overflowInFlight: options.overflowInFlight ?? 0,
      maxBatch: options.maxBatch ?? 64,
      weight: (params) => params.events.length,
      maxWeight: options.maxEvents ?? 4_000,
    });
  }

  append(params: AppendParams): Promise<AppendOutcome> {
    return this.commit.run(params);
  }
}

function appendBatch(pool: DatabasePool, all: AppendParams[]) {
  return pool.any(sql.type(batchRow)`
    select * from aetheris.append_events_batch(
      ${arrayArguments(all, [
        [(p) => p.tenant, 'text'],
        [(p) => p.jobId, 'uuid'],
        [(p) => p.expectedSeq, 'int8'],
        [(p) => p.fencingToken, 'int8'],
        [(p) => p.actor, 'text'],
        [(p) => p.events.length, 'int4'],
      ])},
      ${eventArrays(all.flatMap((p) => p.events))}
    ) order by ord`);
}
