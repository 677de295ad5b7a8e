/**
 * The refund agent: a durable job with three tool calls, run by the TypeScript worker SDK
 * against a running server, then its timeline as the event stream recorded it.
 *
 *   npm start                      # terminal 1: server on the embedded PostgreSQL
 *   npm run example:refund         # terminal 2 (uses .aetheris/admin-key, or AETHERIS_API_KEY)
 *
 * Kill it (Ctrl-C) in the middle and run it again with `--resume <job id>`: the recorded tool
 * calls are answered from the ledger, the rest run once.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CreateJobRequest, type StreamEventsResponse } from '../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { connect, messages, unary } from '../src/client/connect.js';
import { Worker } from '../src/worker/index.js';

const address = process.env.AETHERIS_ADDRESS ?? '127.0.0.1:50051';
const dataDir = process.env.AETHERIS_DATA_DIR ?? '.aetheris';
const apiKey = process.env.AETHERIS_API_KEY ?? (await readFile(path.join(dataDir, 'admin-key'), 'utf8')).trim();
const resumeIndex = process.argv.indexOf('--resume');
const queue = 'refunds';

interface RefundRequest {
  order: string;
  amountCents: number;
  reason: string;
}

const worker = new Worker({ address, apiKey, taskQueue: queue, concurrency: 1, logger: quietLogger() });
worker.register('refund-agent', async (ctx, raw) => {
  const request = raw as unknown as RefundRequest;
  const order = await ctx.tool('lookup-order', { order: request.order }, async () => {
    await pause(300);
    return { order: request.order, paidCents: 4200, customer: 'ada@example.com' };
  });
  if (request.amountCents > order.paidCents) throw new Error('refund exceeds the amount paid');
  const refund = await ctx.tool(
    'issue-refund',
    { order: request.order, amountCents: request.amountCents },
    async ({ idempotencyKey }) => {
      // A payment API deduplicates on this key: a retry after a crash cannot refund twice.
      await pause(500);
      return { refundId: `re_${idempotencyKey.slice(0, 8)}`, amountCents: request.amountCents };
    },
    { idempotent: true },
  );
  const notifiedAt = await ctx.now();
  await ctx.tool('notify-customer', { to: order.customer, refund: refund.refundId }, async () => {
    await pause(200);
    return { delivered: true };
  });
  return { refund, notifiedAt: notifiedAt.toISOString() };
});

const clients = connect({ address, apiKey });
const jobId =
  resumeIndex > 0
    ? (process.argv[resumeIndex + 1] ?? '')
    : ((
        await unary(
          clients.runtime,
          clients.runtime.createJob,
          CreateJobRequest.fromPartial({
            jobType: 'refund-agent',
            queue,
            input: Buffer.from(JSON.stringify({ order: 'A-1001', amountCents: 1500, reason: 'damaged' })),
          }),
          clients.metadata(),
        )
      ).job?.id ?? '');
process.stdout.write(`job ${jobId}\n`);

// Follow the job's history until it finishes, while the worker runs it.
const timeline: string[] = [];
let first: number | undefined;
const follow = (async () => {
  const stream = clients.runtime.streamEvents({ jobId, afterSeq: 0n, follow: true, maxBatch: 0 }, clients.metadata());
  for await (const message of messages<StreamEventsResponse>(stream)) {
    for (const event of message.events) {
      const at = Number(event.recordedAt?.seconds ?? 0n) * 1000 + (event.recordedAt?.nanos ?? 0) / 1e6;
      first ??= at;
      const payload = Buffer.from(event.payload).toString();
      const line = `${String(event.seq).padStart(3)}  +${String(Math.round(at - first)).padStart(5)} ms  ${event.type.padEnd(28)} ${payload.length > 90 ? `${payload.slice(0, 87)}...` : payload}`;
      timeline.push(line);
      process.stdout.write(`${line}\n`);
    }
  }
})();

await worker.runUntil(follow);
clients.close();
process.stdout.write(
  `\n${timeline.length} events; the job's hash chain can be checked offline (docs/hash-chain.md).\n`,
);

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function quietLogger() {
  const write = (level: string) => (object: object, message: string) =>
    process.stderr.write(`${JSON.stringify({ level, message, ...object })}\n`);
  return { info: () => undefined, warn: write('warn'), error: write('error') };
}
