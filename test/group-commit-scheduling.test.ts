import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../src/store/group-commit.js';

// The scheduling of group commit, with writes that finish when the test says so.
// Each request weighs 1; a batch carries at most 8 (and at most `maxBatch` requests).
function harness(options: { maxInFlight: number; overflowInFlight?: number; maxBatch: number }) {
  const writes: { size: number; finish: () => void }[] = [];
  const write = (params: number[]) =>
    new Promise<number[]>((resolve) => {
      writes.push({ size: params.length, finish: () => resolve(params) });
    });
  const commit = new GroupCommit<number, number, number>({
    single: async (params) => {
      singles++;
      return (await write([params]))[0] as number;
    },
    batch: write,
    fromRow: (row) => row,
    key: (params) => String(params).padStart(8, '0'),
    weight: () => 1,
    maxWeight: 8,
    ...options,
  });
  const results: number[] = [];
  const send = (...values: number[]) => {
    for (const value of values) void commit.run(value).then((result) => results.push(result));
  };
  let singles = 0;
  // A timer, then a check phase: every batch start scheduled before it has run.
  const settle = () => new Promise((resolve) => setTimeout(() => setImmediate(resolve), 0));
  return { writes, send, results, settle, singles: () => singles };
}

describe('group commit scheduling', () => {
  it('sends the requests of one event-loop turn as one batch, not the first alone', async () => {
    const h = harness({ maxInFlight: 1, maxBatch: 8 });
    h.send(1, 2, 3);
    expect(h.writes).toEqual([]); // nothing starts inside the turn that queued it
    await h.settle();
    expect(h.writes.map((w) => w.size)).toEqual([3]);
    expect(h.singles()).toBe(0);
    h.writes[0]?.finish();
    // Requests arriving in the turn that finished the batch join the next one.
    h.send(4);
    h.send(5);
    await h.settle();
    expect(h.writes.map((w) => w.size)).toEqual([3, 2]);
    h.writes[1]?.finish();
    await h.settle();
    expect(h.results.sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('writes a lone request by the one-call path, within a turn', async () => {
    const h = harness({ maxInFlight: 1, maxBatch: 8 });
    h.send(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(h.writes.map((w) => w.size)).toEqual([1]);
    expect(h.singles()).toBe(1);
  });

  it('queues light requests behind a write in flight, to go out as one batch', async () => {
    const h = harness({ maxInFlight: 1, overflowInFlight: 1, maxBatch: 8 });
    h.send(1);
    await h.settle();
    h.send(2, 3, 4);
    await h.settle();
    expect(h.writes.map((w) => w.size)).toEqual([1]); // weight 3 queued: under half a batch
    h.writes[0]?.finish();
    await h.settle();
    expect(h.writes.map((w) => w.size)).toEqual([1, 3]);
    h.writes[1]?.finish();
    await h.settle();
    expect(h.results.sort()).toEqual([1, 2, 3, 4]);
  });

  it('starts one more batch while half a batch or more is queued, never more than the allowance', async () => {
    const h = harness({ maxInFlight: 1, overflowInFlight: 1, maxBatch: 8 });
    h.send(1);
    await h.settle();
    h.send(2, 3, 4, 5);
    await h.settle();
    // 1 alone; weight 4 queued is half a batch: it goes out beside it.
    expect(h.writes.map((w) => w.size)).toEqual([1, 4]);
    h.send(6, 7, 8, 9, 10, 11);
    await h.settle();
    expect(h.writes.map((w) => w.size)).toEqual([1, 4]); // in flight at 1 + 1
    h.writes[0]?.finish();
    await h.settle();
    expect(h.writes.map((w) => w.size)).toEqual([1, 4, 6]);
    h.send(12, 13, 14);
    await h.settle();
    // Weight 3 queued: under half a batch, it waits for a regular slot.
    expect(h.writes.map((w) => w.size)).toEqual([1, 4, 6]);
    h.writes[1]?.finish();
    h.writes[2]?.finish();
    await h.settle();
    expect(h.writes.map((w) => w.size)).toEqual([1, 4, 6, 3]);
    h.writes[3]?.finish();
    await h.settle();
    expect(h.results.sort((a, b) => a - b)).toEqual(Array.from({ length: 14 }, (_, i) => i + 1));
  });

  it('never exceeds maxInFlight without an overflow allowance', async () => {
    const h = harness({ maxInFlight: 1, maxBatch: 2 });
    h.send(1, 2, 3, 4, 5);
    await h.settle();
    expect(h.writes.map((w) => w.size)).toEqual([2]);
    h.writes[0]?.finish();
    await h.settle();
    expect(h.writes.map((w) => w.size)).toEqual([2, 2]);
  });
});
