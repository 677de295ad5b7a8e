import type { DatabasePool } from 'slonik';
import type { JobRecord } from '../domain/records.js';
import type { HandlerDeps } from '../server/handlers.js';
import type { AppendBatcher } from '../store/append-batcher.js';
import { type EventNotifier, eventsTopic, queueTopic } from '../store/event-notifier.js';
import type { GroupCommit, JobKey } from '../store/group-commit.js';
import type { CreateJobBatchRow, CreateJobOutcome, CreateJobParams, JobPage, JobPageKey } from '../store/jobs.js';
import type { WorkerWrites } from '../store/worker-writes.js';

/** What the service modules need: the pool, the notifier and the handler plumbing. */
export interface ServiceDeps extends HandlerDeps {
  pool: DatabasePool;
  /** AppendEvents goes through group commit (src/store/append-batcher.ts). */
  appends: AppendBatcher;
  /** BeginToolCall, CompleteToolCall and CompleteJob go through group commit too. */
  workerWrites: WorkerWrites;
  /** CreateJob through group commit (concurrent creates share one statement and commit). */
  jobCreates: GroupCommit<CreateJobParams, CreateJobBatchRow, CreateJobOutcome>;
  /** GetJob, batched like the writes (concurrent reads share one query). */
  jobReads: GroupCommit<JobKey, JobRecord | null, JobRecord | null>;
  /** ListJobs pages without filters, batched the same way (one index walk per page, one query). */
  jobPages: GroupCommit<JobPageKey, JobPage, JobPage>;
  notifier: EventNotifier;
}

/** The actor recorded on events written by a caller. */
export function actorOf(principal: { keyId: string }): string {
  return `key:${principal.keyId}`;
}

/**
 * Tells stream readers (and, with `runnableQueue`, long-polling workers of that queue) that
 * a transaction of the tenant committed. Call after the commit, never inside it.
 */
export function announce(deps: Pick<ServiceDeps, 'notifier'>, tenant: string, runnableQueue?: string): void {
  deps.notifier.publish(eventsTopic(tenant));
  if (runnableQueue !== undefined) deps.notifier.publish(queueTopic(tenant, runnableQueue));
}
