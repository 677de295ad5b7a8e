import type { Command } from 'commander';
import type { GlobalPosition } from '../../gen/ts/aetheris/runtime/v1/event.js';
import {
  AppendEventsRequest,
  AppendEventsResponse,
  ReadEventsRequest,
  StreamEventsRequest,
  SubscribeEventsRequest,
} from '../../gen/ts/aetheris/runtime/v1/runtime_service.js';
import {
  CliError,
  type ConnectionFlags,
  collect,
  parseInteger,
  parseJsonFlag,
  parseUint64,
  withClient,
  withConnectionOptions,
} from './cli-client.js';
import { asObject, eventJson, hex, positionToken, printHint, printLine, printObject } from './output.js';

/** `txid:position` (as printed in checkpoint lines) as a GlobalPosition. */
export function parsePositionToken(flag: string, value: string): GlobalPosition {
  const match = /^(\d+):(\d+)$/.exec(value.trim());
  if (!match?.[1] || !match[2]) throw new CliError(`${flag}: expected <txid:position>, got ${JSON.stringify(value)}`);
  return { transactionId: parseUint64(flag, match[1]), position: parseUint64(flag, match[2]) };
}

/** `aetheris events append|read|tail|subscribe` (RuntimeService). */
export function registerEventCommands(program: Command): void {
  const events = program.command('events').description("append to and read jobs' event histories");

  withConnectionOptions(
    events
      .command('append')
      .description('append one event to a job')
      .argument('<job_id>', 'the job id (UUID)')
      .argument('<type>', 'event type, e.g. refund.approved')
      .option('--payload <json>', 'payload as a JSON document (default null)')
      .option('--expected-seq <n>', "fail with ABORTED unless the job's last seq is n (0: empty history)")
      .option('--event-id <uuid>', 'makes the append idempotent'),
  ).action(
    async (
      jobId: string,
      type: string,
      flags: ConnectionFlags & { payload?: string; expectedSeq?: string; eventId?: string },
    ) => {
      const request = AppendEventsRequest.fromPartial({
        jobId,
        expectedSeq: flags.expectedSeq === undefined ? undefined : parseUint64('--expected-seq', flags.expectedSeq),
        events: [
          {
            eventId: flags.eventId ?? '',
            type,
            payload: flags.payload === undefined ? Buffer.alloc(0) : parseJsonFlag('--payload', flags.payload),
          },
        ],
      });
      await withClient(flags, async (client) => {
        const response = await client.call(client.runtime, client.runtime.appendEvents, request);
        // proto3 JSON omits `duplicate: false`; it is worth showing either way.
        printObject({
          ...asObject(AppendEventsResponse.toJSON(response)),
          lastHash: hex(response.lastHash),
          duplicate: response.duplicate,
        });
      });
    },
  );

  withConnectionOptions(
    events
      .command('read')
      .description("read one page of a job's history, one JSON line per event")
      .argument('<job_id>', 'the job id (UUID)')
      .option('--after <seq>', 'only events after this seq (default 0: from the start)')
      .option('--limit <n>', 'events in the page, 1..1000 (server default: 100)'),
  ).action(async (jobId: string, flags: ConnectionFlags & { after?: string; limit?: string }) => {
    const request = ReadEventsRequest.fromPartial({
      jobId,
      afterSeq: flags.after === undefined ? 0n : parseUint64('--after', flags.after),
      limit: flags.limit === undefined ? 0 : parseInteger('--limit', flags.limit, 1, 1000),
    });
    await withClient(flags, async (client) => {
      const response = await client.call(client.runtime, client.runtime.readEvents, request);
      for (const event of response.events) printLine(eventJson(event));
      const last = response.events.at(-1)?.seq ?? request.afterSeq;
      if (last < response.headSeq) printHint(`more events: --after ${last} (head seq ${response.headSeq})`);
    });
  });

  withConnectionOptions(
    events
      .command('tail')
      .description("print a job's events as JSON lines, then follow until the job ends (or Ctrl-C)")
      .argument('<job_id>', 'the job id (UUID)')
      .option('--after <seq>', 'only events after this seq (default 0: the whole history)')
      .option('--no-follow', 'stop after the history instead of following'),
  ).action(async (jobId: string, flags: ConnectionFlags & { after?: string; follow: boolean }) => {
    const request = StreamEventsRequest.fromPartial({
      jobId,
      afterSeq: flags.after === undefined ? 0n : parseUint64('--after', flags.after),
      follow: flags.follow,
    });
    await withClient(flags, async (client) => {
      await client.stream(
        (metadata) => client.runtime.streamEvents(request, metadata),
        (message) => {
          for (const event of message.events) printLine(eventJson(event));
        },
      );
    });
  });

  withConnectionOptions(
    events
      .command('subscribe')
      .description("stream all of the tenant's events in global order, one JSON line each")
      .option('--after <txid:position>', 'resume strictly after this position (a checkpoint)')
      .option('--from-end', 'only events written from now on', false)
      .option('--no-follow', 'stop once caught up instead of following')
      .option('--type <type>', 'only events of this type (`prefix.*` for a prefix); repeat for more', collect)
      .option('--checkpoints', 'also print {"checkpoint": "txid:position"} lines', false),
  ).action(
    async (
      flags: ConnectionFlags & {
        after?: string;
        fromEnd: boolean;
        follow: boolean;
        type?: string[];
        checkpoints: boolean;
      },
    ) => {
      if (flags.after !== undefined && flags.fromEnd) throw new CliError('--after and --from-end exclude each other');
      const request = SubscribeEventsRequest.fromPartial({
        after: flags.after === undefined ? undefined : parsePositionToken('--after', flags.after),
        fromEnd: flags.fromEnd,
        follow: flags.follow,
        filter: flags.type ? { eventTypes: flags.type } : undefined,
      });
      await withClient(flags, async (client) => {
        await client.stream(
          (metadata) => client.runtime.subscribeEvents(request, metadata),
          (message) => {
            for (const event of message.events) printLine(eventJson(event));
            if (flags.checkpoints && message.checkpoint) printLine({ checkpoint: positionToken(message.checkpoint) });
          },
        );
      });
    },
  );
}
