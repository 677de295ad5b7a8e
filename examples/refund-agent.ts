/**
 * The refund agent: a durable job with three tool calls, run by the TypeScript worker SDK
 * against a running server, then its timeline as the event stream recorded it. A refund above
 * APPROVAL_OVER_CENTS waits for a person's approval (a signal) before any money moves: the job
 * is parked meanwhile, holding no lease and no worker slot.
 *
 *   npm start                                  # terminal 1: server on the embedded PostgreSQL
 *   npm run example:refund                     # terminal 2 (uses .aetheris/admin-key, or AETHERIS_API_KEY)
 *   node bin/aetheris.js signal send <job> approval --payload '{"approved":true}'   # terminal 3, as printed
 *   npm run example:refund -- --auto-approve   # or: the example sends the approval itself after 1 s
 *
 * Kill it (Ctrl-C) in the middle and run it again with `--resume <job id>`: the recorded tool
 * calls (and a consumed approval) are answered from the ledger, the rest run once.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { JobState } from '../gen/ts/aetheris/runtime/v1/job.js';
import {
  CreateJobRequest,
  GetJobRequest,
  type StreamEventsResponse,
} from '../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { SendSignalRequest } from '../gen/ts/aetheris/signal/v1/signal_service.js';
import { connect, messages, unary } from '../src/client/connect.js';
import { Worker } from '../src/worker/index.js';

const address = process.env.AETHERIS_ADDRESS ?? '127.0.0.1:50051';
const dataDir = process.env.AETHERIS_DATA_DIR ?? '.aetheris';
const apiKey = process.env.AETHERIS_API_KEY ?? (await readFile(path.join(dataDir, 'admin-key'), 'utf8')).trim();
const resumeIndex = process.argv.indexOf('--resume');
const autoApprove = process.argv.includes('--auto-approve');
const queue = 'refunds';
/** Refunds above this wait for a person's approval. */
const APPROVAL_OVER_CENTS = 1000;
/** How long the approval may take before the refund is dropped. */
const APPROVAL_TIMEOUT_MS = 24 * 3600 * 1000;

interface RefundRequest {
  order: string;
  amountCents: number;
  reason: string;
}

interface Approval {
  approved: boolean;
  by?: string;
}

const worker = new Worker({ address, apiKey, taskQueue: queue, concurrency: 1, logger: quietLogger() });
worker.register('refund-agent', async (ctx, raw) => {
  const request = raw as unknown as RefundRequest;
  const order = await ctx.tool('lookup-order', { order: request.order }, async () => {
    await pause(300);
    return { order: request.order, paidCents: 4200, customer: 'ada@example.com' };
  });
  if (request.amountCents > order.paidCents) throw new Error('refund exceeds the amount paid');
  if (request.amountCents > APPROVAL_OVER_CENTS) {
    // Parks the job until someone sends the `approval` signal (or a day passes).
    const approval = await ctx.waitForSignal<Approval>('approval', { timeoutMs: APPROVAL_TIMEOUT_MS });
    if (approval.timedOut) return { refunded: false, why: 'nobody approved it within a day' };
    if (!approval.payload?.approved) return { refunded: false, why: 'approval refused', by: approval.payload?.by };
  }
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
      if (event.type === 'aetheris.job.parked') {
        awaitApproval().catch((error: unknown) => process.stderr.write(`approval: ${(error as Error).message}\n`));
      }
    }
  }
})();

/** The job parked: if it (still) waits for the approval, say how to approve it, or approve it ourselves. */
async function awaitApproval(): Promise<void> {
  if (!(await waitsForApproval())) return; // e.g. an old park replayed by --resume
  if (!autoApprove) {
    process.stdout.write(
      `\n  The refund waits for approval (the job is parked; no worker slot is held). Approve it with:\n` +
        `    node bin/aetheris.js signal send ${jobId} approval --payload '{"approved":true}'\n` +
        `  (or refuse it with '{"approved":false}'; run this example with --auto-approve to skip this step)\n\n`,
    );
    return;
  }
  process.stdout.write('\n  --auto-approve: sending the approval signal in 1 s\n\n');
  await pause(1_000);
  const request = SendSignalRequest.fromPartial({
    jobId,
    name: 'approval',
    payload: Buffer.from(JSON.stringify({ approved: true, by: 'refund-agent --auto-approve' })),
    // Chosen once: a retry of this very send would reuse it, so the job is never approved twice.
    signalId: randomUUID(),
  });
  await unary(clients.signal, clients.signal.sendSignal, request, clients.metadata());
}

async function waitsForApproval(): Promise<boolean> {
  const { job } = await unary(
    clients.runtime,
    clients.runtime.getJob,
    GetJobRequest.fromPartial({ jobId }),
    clients.metadata(),
  );
  return job?.state === JobState.JOB_STATE_PARKED && job.waitingFor?.signalName === 'approval';
}

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
