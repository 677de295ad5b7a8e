import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Event, GlobalPosition } from '../gen/ts/aetheris/runtime/v1/event.js';
import { JobState } from '../gen/ts/aetheris/runtime/v1/job.js';
import {
  ReadEventsResponse,
  StreamEventsResponse,
  SubscribeEventsResponse,
} from '../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { Timestamp } from '../gen/ts/google/protobuf/timestamp.js';
import {
  ENCODED_FIELDS,
  encodeReadEventsResponse,
  encodeStreamEventsResponse,
  encodeSubscribeEventsResponse,
} from '../src/services/event-wire.js';

// A small deterministic generator, so a failure names a seed that reproduces it.
function generator(seed: number) {
  let state = seed >>> 0 || 1;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4_294_967_296;
  };
  const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)] as T;
  const bigints = [
    0n,
    1n,
    127n,
    128n,
    16_383n,
    16_384n,
    2n ** 31n,
    2n ** 32n,
    2n ** 53n - 1n,
    2n ** 53n,
    2n ** 63n,
    2n ** 64n - 1n,
  ];
  const seconds = [0n, 1n, -1n, 1_764_335_534n, -62_135_596_800n, 253_402_300_799n, 2n ** 62n, -(2n ** 63n)];
  const strings = ['', 'a', 'aetheris.tool.started', 'é', '🙂 emoji', 'x'.repeat(130), 'ü'.repeat(9000), randomUUID()];
  const bytes = (): Buffer =>
    pick([Buffer.alloc(0), randomBytes(32), randomBytes(1), randomBytes(200), randomBytes(20_000)]);
  const event = (jobId: string): Event => ({
    jobId,
    seq: pick(bigints),
    position: next() < 0.2 ? undefined : { transactionId: pick(bigints), position: pick(bigints) },
    eventId: pick([randomUUID(), '']),
    type: pick(strings),
    payload: bytes(),
    actor: pick(strings),
    recordedAt: next() < 0.2 ? undefined : { seconds: pick(seconds), nanos: pick([0, 1, 999_999_000, 127, 128, -1]) },
    payloadDigest: bytes(),
    prevHash: bytes(),
    hash: bytes(),
  });
  const events = (): Event[] => {
    const jobIds = [randomUUID(), '', 'ジョブ'];
    return Array.from({ length: pick([0, 1, 2, 7, 40]) }, () => event(pick(jobIds)));
  };
  return { next, pick, bigints, events };
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('event responses on the wire', () => {
  it('are byte for byte what the generated encoders write, over random messages', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const g = generator(seed);
      const stream = StreamEventsResponse.fromPartial({
        events: g.events(),
        caughtUp: g.next() < 0.5,
        jobState: g.pick([
          JobState.JOB_STATE_UNSPECIFIED,
          JobState.JOB_STATE_RUNNING,
          JobState.JOB_STATE_COMPLETED,
          -3 as JobState,
        ]),
      });
      expect(hex(encodeStreamEventsResponse(stream)), `seed ${seed}`).toBe(
        hex(StreamEventsResponse.encode(stream).finish()),
      );
      const read = ReadEventsResponse.fromPartial({ events: g.events(), headSeq: g.pick(g.bigints) });
      expect(hex(encodeReadEventsResponse(read)), `seed ${seed}`).toBe(hex(ReadEventsResponse.encode(read).finish()));
      const subscribe = SubscribeEventsResponse.fromPartial({
        events: g.events(),
        checkpoint: g.next() < 0.3 ? undefined : { transactionId: g.pick(g.bigints), position: g.pick(g.bigints) },
        caughtUp: g.next() < 0.5,
      });
      expect(hex(encodeSubscribeEventsResponse(subscribe)), `seed ${seed}`).toBe(
        hex(SubscribeEventsResponse.encode(subscribe).finish()),
      );
      // And they decode back to the message.
      expect(StreamEventsResponse.decode(encodeStreamEventsResponse(stream))).toEqual(stream);
    }
  });

  it('cover every field of the messages they encode', () => {
    const generated = {
      Event: Event.fromPartial({}),
      GlobalPosition: GlobalPosition.fromPartial({}),
      Timestamp: Timestamp.fromPartial({}),
      StreamEventsResponse: StreamEventsResponse.fromPartial({}),
      ReadEventsResponse: ReadEventsResponse.fromPartial({}),
      SubscribeEventsResponse: SubscribeEventsResponse.fromPartial({}),
    };
    for (const [name, message] of Object.entries(generated)) {
      expect(Object.keys(message).sort(), name).toEqual(
        [...ENCODED_FIELDS[name as keyof typeof ENCODED_FIELDS]].sort(),
      );
    }
  });

  it('refuse a uint64 out of range, as the generated encoders do', () => {
    const base = StreamEventsResponse.fromPartial({ events: [{ jobId: 'j', seq: 2n ** 64n }] });
    expect(() => StreamEventsResponse.encode(base)).toThrow(/too large/);
    expect(() => encodeStreamEventsResponse(base)).toThrow(/too large/);
    const negative = ReadEventsResponse.fromPartial({ events: [], headSeq: -1n });
    expect(() => encodeReadEventsResponse(negative)).toThrow(/too large/);
  });
});
