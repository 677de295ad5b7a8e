import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { jobStateToJSON } from '../../gen/ts/aetheris/runtime/v1/job.js';
import { ToolCall } from '../../gen/ts/aetheris/runtime/v1/worker.js';
import { Signal, SignalState } from '../../gen/ts/aetheris/signal/v1/signal.js';
import {
  InDoubtResolution,
  ListSignalsRequest,
  ResolveInDoubtRequest,
  SendSignalRequest,
} from '../../gen/ts/aetheris/signal/v1/signal_service.js';
import { isUuid } from '../domain/ids.js';
import {
  CliError,
  type ConnectionFlags,
  collect,
  parseInteger,
  parseJsonFlag,
  withClient,
  withConnectionOptions,
} from './cli-client.js';
import {
  asObject,
  decodeJsonBytes,
  hex,
  type JsonObject,
  jobErrorJson,
  jobJson,
  printHint,
  printLine,
  printObject,
} from './output.js';

/** Flags of `signal send`. */
interface SendFlags extends ConnectionFlags {
  payload?: string;
  id?: string;
}

/** Flags of `signal list`. */
interface ListFlags extends ConnectionFlags {
  state?: string[];
  name?: string;
  limit?: string;
  pageToken?: string;
}

/** Flags of `signal resolve`. */
interface ResolveFlags extends ConnectionFlags {
  retry?: boolean;
  skip?: string;
  fail?: string;
  reason?: string;
  failJob?: boolean;
  note?: string;
  id?: string;
}

/** A signal with its payload as JSON. */
export function signalJson(signal: Signal): JsonObject {
  const out = asObject(Signal.toJSON(signal));
  out.payload = decodeJsonBytes(signal.payload);
  return out;
}

/** A ledger entry with its result as JSON and its args digest as hex. */
export function toolCallJson(call: ToolCall): JsonObject {
  const out = asObject(ToolCall.toJSON(call));
  if (call.result.length > 0) out.result = decodeJsonBytes(call.result);
  if (call.argsDigest.length > 0) out.argsDigest = hex(call.argsDigest);
  if (call.error) out.error = jobErrorJson(call.error);
  return out;
}

/** `pending`, `PENDING` or `SIGNAL_STATE_PENDING` (and the same for consumed) as the proto enum. */
export function parseSignalState(value: string): SignalState {
  const upper = value.trim().toUpperCase();
  const name = upper.startsWith('SIGNAL_STATE_') ? upper : `SIGNAL_STATE_${upper}`;
  if (name === 'SIGNAL_STATE_PENDING') return SignalState.SIGNAL_STATE_PENDING;
  if (name === 'SIGNAL_STATE_CONSUMED') return SignalState.SIGNAL_STATE_CONSUMED;
  throw new CliError(`--state: expected pending or consumed, got ${JSON.stringify(value)}`);
}

function parseUuidFlag(flag: string, value: string): string {
  const trimmed = value.trim();
  if (!isUuid(trimmed)) throw new CliError(`${flag}: expected a UUID, got ${JSON.stringify(value)}`);
  return trimmed;
}

/** The one decision of `signal resolve`, from its mutually exclusive flags. */
function resolution(flags: ResolveFlags): ResolveInDoubtRequest['resolution'] {
  const chosen = [
    flags.retry ? '--retry' : '',
    flags.skip !== undefined ? '--skip' : '',
    flags.fail !== undefined ? '--fail' : '',
  ];
  const given = chosen.filter((flag) => flag !== '');
  if (given.length !== 1) {
    throw new CliError(
      given.length === 0
        ? 'signal resolve: one of --retry, --skip <json> or --fail <message> is required'
        : `signal resolve: ${given.join(', ')} exclude each other; choose one`,
    );
  }
  if (flags.failJob && flags.fail === undefined) throw new CliError('--fail-job: only with --fail <message>');
  if (flags.reason !== undefined && flags.fail === undefined)
    throw new CliError('--reason: only with --fail <message>');
  if (flags.retry) return { $case: 'retry', value: {} };
  if (flags.skip !== undefined) return { $case: 'skip', value: { result: parseJsonFlag('--skip', flags.skip) } };
  return {
    $case: 'fail',
    value: {
      error: { reason: flags.reason ?? '', message: flags.fail ?? '', details: Buffer.alloc(0) },
      failJob: flags.failJob ?? false,
    },
  };
}

/** `aetheris signal send|list|resolve` (SignalService): people talking to waiting jobs. */
export function registerSignalCommands(program: Command): void {
  const signal = program
    .command('signal')
    .description('send signals to jobs, list them, and resolve in-doubt tool calls of parked jobs');

  withConnectionOptions(
    signal
      .command('send')
      .description('send a signal to a job (idempotent on --id); prints {signal, duplicate, jobState}')
      .argument('<job_id>', 'the job id (UUID)')
      .argument('<name>', 'the signal name the job waits for, e.g. approval')
      .option('--payload <json>', 'payload as a JSON document (default null)')
      .option('--id <uuid>', 'signal id; re-sending with the same id is a no-op (default: a random UUID)'),
  ).action(async (jobId: string, name: string, flags: SendFlags) => {
    const request = SendSignalRequest.fromPartial({
      jobId,
      name,
      payload: flags.payload === undefined ? Buffer.alloc(0) : parseJsonFlag('--payload', flags.payload),
      signalId: flags.id === undefined ? randomUUID() : parseUuidFlag('--id', flags.id),
    });
    await withClient(flags, async (client) => {
      const response = await client.call(client.signal, client.signal.sendSignal, request);
      // proto3 JSON omits `duplicate: false`; it is worth showing either way.
      printObject({
        signal: response.signal ? signalJson(response.signal) : null,
        duplicate: response.duplicate,
        jobState: jobStateToJSON(response.jobState),
      });
    });
  });

  withConnectionOptions(
    signal
      .command('list')
      .description("list a job's signals, oldest first (the order waits consume them), one JSON line each")
      .argument('<job_id>', 'the job id (UUID)')
      .option('--state <state>', 'only signals in this state (pending, consumed); repeat or comma-separate', collect)
      .option('--name <name>', 'only signals with this name')
      .option('--limit <n>', 'page size, 1..500 (server default)')
      .option('--page-token <token>', 'continue a previous listing made with the same filters'),
  ).action(async (jobId: string, flags: ListFlags) => {
    const request = ListSignalsRequest.fromPartial({
      jobId,
      states: (flags.state ?? []).flatMap((value) => value.split(',')).map(parseSignalState),
      name: flags.name ?? '',
      pageSize: flags.limit === undefined ? 0 : parseInteger('--limit', flags.limit, 1, 500),
      pageToken: flags.pageToken ?? '',
    });
    await withClient(flags, async (client) => {
      const response = await client.call(client.signal, client.signal.listSignals, request);
      for (const item of response.signals) printLine(signalJson(item));
      if (response.nextPageToken !== '') printHint(`more signals: --page-token ${response.nextPageToken}`);
    });
  });

  withConnectionOptions(
    signal
      .command('resolve')
      .description(
        'decide on an in-doubt tool call of a parked job: run it again, skip it with a result, or fail it; ' +
          'prints {call, job, resolution, duplicate}',
      )
      .argument('<job_id>', 'the job id (UUID)')
      .argument('<call_key>', "the key of the in-doubt call (the job's waitingFor.toolCallKey)")
      .option('--retry', 'run the tool again, with the same idempotency key')
      .option('--skip <json>', 'do not run it: the call returns this JSON result')
      .option('--fail <message>', 'do not run it: the call fails with this message')
      .option('--reason <reason>', 'with --fail: the machine-readable reason (server default: RESOLVED_FAILED)')
      .option('--fail-job', 'with --fail: fail the whole job at once instead of resuming it')
      .option('--note <text>', 'why, recorded in the job history')
      .option('--id <uuid>', 'resolution id: repeating the same decision with it is a no-op'),
  ).action(async (jobId: string, callKey: string, flags: ResolveFlags) => {
    const request = ResolveInDoubtRequest.fromPartial({
      jobId,
      callKey,
      resolution: resolution(flags),
      note: flags.note ?? '',
      resolutionId: flags.id === undefined ? '' : parseUuidFlag('--id', flags.id),
    });
    await withClient(flags, async (client) => {
      const response = await client.call(client.signal, client.signal.resolveInDoubt, request);
      printObject({
        call: response.call ? toolCallJson(response.call) : null,
        job: response.job ? jobJson(response.job) : null,
        resolution: response.resolution ? asObject(InDoubtResolution.toJSON(response.resolution)) : null,
        duplicate: response.duplicate,
      });
    });
  });
}
