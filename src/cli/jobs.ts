import type { Command } from 'commander';
import { JobState } from '../../gen/ts/aetheris/runtime/v1/job.js';
import {
  CancelJobRequest,
  CreateJobRequest,
  GetJobRequest,
  ListJobsRequest,
} from '../../gen/ts/aetheris/runtime/v1/runtime_service.js';
import {
  CliError,
  type ConnectionFlags,
  collect,
  parseInteger,
  parseJsonFlag,
  parseLabels,
  withClient,
  withConnectionOptions,
} from './cli-client.js';
import { jobJson, printHint, printLine, printObject } from './output.js';

/** Flags of `jobs create`. */
interface CreateFlags extends ConnectionFlags {
  queue?: string;
  input?: string;
  idempotencyKey?: string;
  priority?: string;
  maxAttempts?: string;
  label?: string[];
}

/** Flags of `jobs list`. */
interface ListFlags extends ConnectionFlags {
  state?: string[];
  type?: string;
  queue?: string;
  label?: string[];
  limit?: string;
  pageToken?: string;
}

const STATE_NAMES = Object.keys(JobState).filter(
  (name) => name.startsWith('JOB_STATE_') && name !== 'JOB_STATE_UNSPECIFIED',
);

/** `pending`, `PENDING` or `JOB_STATE_PENDING` as the proto enum. */
export function parseJobState(value: string): JobState {
  const upper = value.trim().toUpperCase();
  const name = upper.startsWith('JOB_STATE_') ? upper : `JOB_STATE_${upper}`;
  if (!STATE_NAMES.includes(name)) {
    const known = STATE_NAMES.map((state) => state.slice('JOB_STATE_'.length).toLowerCase()).join(', ');
    throw new CliError(`--state: expected one of ${known}, got ${JSON.stringify(value)}`);
  }
  return JobState[name as keyof typeof JobState];
}

/** `aetheris jobs create|get|list|cancel` (RuntimeService). */
export function registerJobCommands(program: Command): void {
  const jobs = program.command('jobs').description('create, inspect, list and cancel jobs');

  withConnectionOptions(
    jobs
      .command('create')
      .description('create a job; prints {job, created}')
      .argument('<job_type>', 'the handler that runs it, e.g. refund-agent')
      .option('--queue <queue>', 'task queue (server default: default)')
      .option('--input <json>', 'input as a JSON document')
      .option('--idempotency-key <key>', 'makes the create idempotent within the tenant')
      .option('--priority <n>', 'higher runs first, -1000..1000')
      .option('--max-attempts <n>', 'attempts in all, the first included (server default: 3)')
      .option('--label <key=value>', 'a label; repeat for more', collect),
  ).action(async (jobType: string, flags: CreateFlags) => {
    // Everything is parsed before connecting, so a bad flag never reaches the server. The
    // bounds are the documented limits; they also keep int32 fields from wrapping on the wire.
    const request = CreateJobRequest.fromPartial({
      jobType,
      queue: flags.queue ?? '',
      input: flags.input === undefined ? Buffer.alloc(0) : parseJsonFlag('--input', flags.input),
      idempotencyKey: flags.idempotencyKey ?? '',
      priority: flags.priority === undefined ? 0 : parseInteger('--priority', flags.priority, -1000, 1000),
      retryPolicy:
        flags.maxAttempts === undefined
          ? undefined
          : { maxAttempts: parseInteger('--max-attempts', flags.maxAttempts, 1, 1000) },
      labels: parseLabels('--label', flags.label ?? []),
    });
    await withClient(flags, async (client) => {
      const response = await client.call(client.runtime, client.runtime.createJob, request);
      printObject({ job: response.job ? jobJson(response.job) : null, created: response.created });
    });
  });

  withConnectionOptions(
    jobs.command('get').description('print one job').argument('<job_id>', 'the job id (UUID)'),
  ).action(async (jobId: string, flags: ConnectionFlags) => {
    await withClient(flags, async (client) => {
      const response = await client.call(client.runtime, client.runtime.getJob, GetJobRequest.fromPartial({ jobId }));
      printObject({ job: response.job ? jobJson(response.job) : null });
    });
  });

  withConnectionOptions(
    jobs
      .command('list')
      .description('list jobs, newest first, one JSON line each')
      .option('--state <state>', 'only jobs in this state (pending, running, …); repeat or comma-separate', collect)
      .option('--type <job_type>', 'only jobs of this type')
      .option('--queue <queue>', 'only jobs of this queue')
      .option('--label <key=value>', 'only jobs having this label; repeat for more', collect)
      .option('--limit <n>', 'page size, 1..500 (server default: 50)')
      .option('--page-token <token>', 'continue a previous listing made with the same filters'),
  ).action(async (flags: ListFlags) => {
    const request = ListJobsRequest.fromPartial({
      states: (flags.state ?? []).flatMap((value) => value.split(',')).map(parseJobState),
      jobType: flags.type ?? '',
      queue: flags.queue ?? '',
      labels: parseLabels('--label', flags.label ?? []),
      pageSize: flags.limit === undefined ? 0 : parseInteger('--limit', flags.limit, 1, 500),
      pageToken: flags.pageToken ?? '',
    });
    await withClient(flags, async (client) => {
      const response = await client.call(client.runtime, client.runtime.listJobs, request);
      for (const job of response.jobs) printLine(jobJson(job));
      // stdout stays one job per line; the continuation goes to stderr.
      if (response.nextPageToken !== '') printHint(`more jobs: --page-token ${response.nextPageToken}`);
    });
  });

  withConnectionOptions(
    jobs
      .command('cancel')
      .description('cancel a job that is not finished')
      .argument('<job_id>', 'the job id (UUID)')
      .option('--reason <reason>', 'recorded in the aetheris.job.cancelled event'),
  ).action(async (jobId: string, flags: ConnectionFlags & { reason?: string }) => {
    await withClient(flags, async (client) => {
      const response = await client.call(
        client.runtime,
        client.runtime.cancelJob,
        CancelJobRequest.fromPartial({ jobId, reason: flags.reason ?? '' }),
      );
      printObject({ job: response.job ? jobJson(response.job) : null });
    });
  });
}
