/**
 * The append loop shared by append.ts and subscribe.ts: each VU appends to a job of its own (made
 * on its first iteration), so it is the job's only writer and knows its head. That gives k6 a
 * loss check without reading the database: the server's `firstSeq` for an append must be the
 * head this VU last had acknowledged + 1. A smaller value means acknowledged events vanished and
 * counts them as lost; a larger one means someone else wrote to the job (an error). The last
 * append of each VU is not re-checked (the ghz/driver gate counts the rows in the database).
 */
import { type AppendEventsResponse, createJob } from './aetheris.ts';
import { call, fail, int64, jsonBytes, lost, RUNTIME } from './grpc.ts';

interface OwnJob {
  id: string;
  head: number;
}

let own: OwnJob | undefined;
const batches = new Map<string, { type: string; payload: string }[]>();

/** The events of one call (built once: k6 converts the request on every call anyway). */
function batchOf(eventType: string, perCall: number): { type: string; payload: string }[] {
  const key = `${eventType}/${perCall}`;
  let batch = batches.get(key);
  if (!batch) {
    batch = Array.from({ length: perCall }, (_, step) => ({ type: eventType, payload: jsonBytes({ step }) }));
    batches.set(key, batch);
  }
  return batch;
}

/** The result of one append: how many events it wrote, or 0 after counting an error. */
export interface Appended {
  events: number;
  ms: number;
}

/**
 * Appends `perCall` events of `eventType` to this VU's job (created on `queue`, where no worker
 * polls), checking the sequence numbers.
 */
export function appendOwn(queue: string, eventType: string, perCall: number): Appended {
  if (!own) {
    const job = createJob('perf.k6.append', queue, { purpose: 'append' });
    if (!job) return { events: 0, ms: 0 };
    own = { id: job.id, head: int64(job.headSeq) };
  }
  const job = own;
  const started = Date.now();
  const response = call<AppendEventsResponse>(
    `${RUNTIME}/AppendEvents`,
    { jobId: job.id, events: batchOf(eventType, perCall) },
    'admin',
  );
  const ms = Date.now() - started;
  if (!response) return { events: 0, ms };
  const first = int64(response.firstSeq);
  const last = int64(response.lastSeq);
  if (first <= job.head) {
    lost.add(job.head + 1 - first, { rpc: 'AppendEvents' });
    fail('AppendEvents', 'seq regression', `job ${job.id}: first_seq ${first} after acknowledged head ${job.head}`);
  } else if (first !== job.head + 1) {
    fail('AppendEvents', 'seq gap', `job ${job.id}: first_seq ${first}, expected ${job.head + 1}`);
  }
  if (last - first + 1 !== perCall) {
    fail('AppendEvents', 'count', `job ${job.id}: ${last - first + 1} events acknowledged for ${perCall} sent`);
  }
  job.head = last;
  return { events: perCall, ms };
}
