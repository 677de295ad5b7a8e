/**
 * Group commit for the worker protocol's hot writes: BeginToolCall, CompleteToolCall and
 * CompleteJob (src/store/group-commit.ts, migrations/0006_worker_batch.sql). A job with three
 * tool calls makes seven of these; under load, concurrent ones share a transaction.
 */
import type { DatabasePool } from 'slonik';
import { GroupCommit, jobKey } from './group-commit.js';
import {
  type BeginToolCallOutcome,
  type BeginToolCallParams,
  beginToolCall,
  beginToolCallBatch,
  beginToolCallOutcome,
  type CompleteJobOutcome,
  type CompleteJobParams,
  type CompleteToolCallOutcome,
  type CompleteToolCallParams,
  completeJob,
  completeJobBatch,
  completeJobOutcome,
  completeToolCall,
  completeToolCallBatch,
  completeToolCallOutcome,
} from './worker-protocol.js';

type RowOf<F extends (...args: never[]) => Promise<readonly unknown[]>> = Awaited<ReturnType<F>>[number];

export class WorkerWrites {
  private readonly begin: GroupCommit<BeginToolCallParams, RowOf<typeof beginToolCallBatch>, BeginToolCallOutcome>;
  private readonly complete: GroupCommit<
    CompleteToolCallParams,
    RowOf<typeof completeToolCallBatch>,
    CompleteToolCallOutcome
  >;
  private readonly completeJobs: GroupCommit<CompleteJobParams, RowOf<typeof completeJobBatch>, CompleteJobOutcome>;

  constructor(pool: DatabasePool, maxInFlight: number) {
    this.begin = new GroupCommit<BeginToolCallParams, RowOf<typeof beginToolCallBatch>, BeginToolCallOutcome>({
      single: (params) => beginToolCall(pool, params),
      batch: (all) => beginToolCallBatch(pool, all),
      fromRow: beginToolCallOutcome,
      key: jobKey,
      maxInFlight,
    });
    this.complete = new GroupCommit<
      CompleteToolCallParams,
      RowOf<typeof completeToolCallBatch>,
      CompleteToolCallOutcome
    >({
      single: (params) => completeToolCall(pool, params),
      batch: (all) => completeToolCallBatch(pool, all),
      fromRow: completeToolCallOutcome,
      key: jobKey,
      maxInFlight,
    });
    this.completeJobs = new GroupCommit<CompleteJobParams, RowOf<typeof completeJobBatch>, CompleteJobOutcome>({
      single: (params) => completeJob(pool, params),
      batch: (all) => completeJobBatch(pool, all),
      fromRow: completeJobOutcome,
      key: jobKey,
      maxInFlight,
    });
  }

  beginToolCall(params: BeginToolCallParams): Promise<BeginToolCallOutcome> {
    return this.begin.run(params);
  }

  completeToolCall(params: CompleteToolCallParams): Promise<CompleteToolCallOutcome> {
    return this.complete.run(params);
  }

  completeJob(params: CompleteJobParams): Promise<CompleteJobOutcome> {
    return this.completeJobs.run(params);
  }
}
