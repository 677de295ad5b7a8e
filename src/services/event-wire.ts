/**
 * Protobuf encoding of the responses that carry events (StreamEvents, ReadEvents,
 * SubscribeEvents), byte for byte what the generated encoders write, in one pass into one
 * buffer. A replay sends 100,000+ events a second, and the generated path (a BinaryWriter that
 * forks and joins per sub-message, then two copies of the result) was the largest cost of the
 * server after garbage collection in the replay profile. Tested against the generated encoders
 * (test/event-wire.test.ts).
 */
import type { Event, GlobalPosition } from '../../gen/ts/aetheris/runtime/v1/event.js';
import {
  type ReadEventsResponse,
  RuntimeServiceService,
  type StreamEventsResponse,
  type SubscribeEventsResponse,
} from '../../gen/ts/aetheris/runtime/v1/runtime_service.js';
import type { Timestamp } from '../../gen/ts/google/protobuf/timestamp.js';

/**
 * The fields each message's encoder here writes. A field added to one of these messages must be
 * added here too: test/event-wire.test.ts compares these lists with the generated messages.
 */
export const ENCODED_FIELDS = {
  Event: [
    'jobId',
    'seq',
    'position',
    'eventId',
    'type',
    'payload',
    'actor',
    'recordedAt',
    'payloadDigest',
    'prevHash',
    'hash',
  ],
  GlobalPosition: ['transactionId', 'position'],
  Timestamp: ['seconds', 'nanos'],
  StreamEventsResponse: ['events', 'caughtUp', 'jobState'],
  ReadEventsResponse: ['events', 'headSeq'],
  SubscribeEventsResponse: ['events', 'checkpoint', 'caughtUp'],
} as const;

function uint64(value: bigint, field: string): bigint {
  if (BigInt.asUintN(64, value) !== value)
    throw new Error(`value provided for field ${field} of type uint64 too large`);
  return value;
}

function varintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  let size = 5;
  for (let rest = Math.floor(value / 0x800000000); rest > 0; rest = Math.floor(rest / 128)) size++;
  return size;
}

/** Size of an unsigned 64-bit varint (`value` already in [0, 2^64)). */
function varint64Size(value: bigint): number {
  if (value < 0x20000000000000n) return varintSize(Number(value));
  let size = 1;
  for (let rest = value >> 7n; rest > 0n; rest >>= 7n) size++;
  return size;
}

/** Node's Buffer#utf8Write: Buffer#write without the argument normalisation. */
interface Utf8Writable {
  utf8Write(value: string, offset: number, length: number): number;
}

/** Writes buffers of a size computed beforehand. */
class Out {
  readonly buffer: Buffer;
  offset = 0;
  constructor(size: number) {
    this.buffer = Buffer.allocUnsafe(size);
  }
  varint(value: number): void {
    const buffer = this.buffer;
    while (value >= 0x80) {
      buffer[this.offset++] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    buffer[this.offset++] = value;
  }
  varint64(value: bigint): void {
    if (value < 0x20000000000000n) {
      this.varint(Number(value));
      return;
    }
    while (value >= 0x80n) {
      this.buffer[this.offset++] = Number(value & 0x7fn) | 0x80;
      value >>= 7n;
    }
    this.buffer[this.offset++] = Number(value);
  }
  string(tag: number, value: string, bytes: number): void {
    const buffer = this.buffer;
    buffer[this.offset++] = tag;
    this.varint(bytes);
    if (bytes === value.length && bytes <= SHORT) {
      // ASCII (one byte per UTF-16 unit): a loop beats the native call for ids and type names.
      for (let i = 0; i < bytes; i++) buffer[this.offset + i] = value.charCodeAt(i);
      this.offset += bytes;
    } else {
      this.offset += (buffer as Buffer & Utf8Writable).utf8Write(value, this.offset, bytes);
    }
  }
  bytes(tag: number, value: Uint8Array): void {
    const buffer = this.buffer;
    const length = value.length;
    buffer[this.offset++] = tag;
    this.varint(length);
    if (length <= SHORT) for (let i = 0; i < length; i++) buffer[this.offset + i] = value[i] as number;
    else buffer.set(value, this.offset);
    this.offset += length;
  }
}

/** Strings and bytes up to this length are copied by a loop rather than a native call. */
const SHORT = 64;

/** UTF-8 length of a string; short ASCII strings are measured without a native call. */
function utf8Length(value: string): number {
  if (value.length > SHORT) return Buffer.byteLength(value);
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) >= 0x80) return Buffer.byteLength(value);
  return value.length;
}

const lengthDelimited = (bytes: number): number => 1 + varintSize(bytes) + bytes;

function positionSize(position: GlobalPosition): number {
  return (
    (position.transactionId === 0n ? 0 : 1 + varint64Size(uint64(position.transactionId, 'transactionId'))) +
    (position.position === 0n ? 0 : 1 + varint64Size(uint64(position.position, 'position')))
  );
}

function writePosition(out: Out, tag: number, position: GlobalPosition, size: number): void {
  out.buffer[out.offset++] = tag;
  out.varint(size);
  if (position.transactionId !== 0n) {
    out.buffer[out.offset++] = 8;
    out.varint64(position.transactionId);
  }
  if (position.position !== 0n) {
    out.buffer[out.offset++] = 16;
    out.varint64(position.position);
  }
}

// int64 and int32 fields write negative values as their 64-bit two's complement.
const int64Bits = (value: bigint): bigint => BigInt.asUintN(64, value);
const int32Size = (value: number): number => (value < 0 ? 10 : varintSize(value));

function timestampSize(timestamp: Timestamp): number {
  return (
    (timestamp.seconds === 0n ? 0 : 1 + varint64Size(int64Bits(timestamp.seconds))) +
    (timestamp.nanos === 0 ? 0 : 1 + int32Size(timestamp.nanos))
  );
}

function writeTimestamp(out: Out, tag: number, timestamp: Timestamp, size: number): void {
  out.buffer[out.offset++] = tag;
  out.varint(size);
  if (timestamp.seconds !== 0n) {
    out.buffer[out.offset++] = 8;
    out.varint64(int64Bits(timestamp.seconds));
  }
  if (timestamp.nanos !== 0) {
    out.buffer[out.offset++] = 16;
    if (timestamp.nanos < 0) out.varint64(BigInt.asUintN(64, BigInt(timestamp.nanos)));
    else out.varint(timestamp.nanos);
  }
}

/** Sizes of one event's variable parts, computed once and used to write it. */
interface EventSizes {
  total: number;
  jobId: number;
  position: number;
  eventId: number;
  type: number;
  actor: number;
  recordedAt: number;
}

/** Event sizes for a list of events; the job id's byte length is measured once per distinct id. */
function eventSizes(events: readonly Event[]): EventSizes[] {
  let lastJobId = '';
  let lastJobIdBytes = 0;
  return events.map((event) => {
    if (event.jobId !== lastJobId) {
      lastJobId = event.jobId;
      lastJobIdBytes = utf8Length(event.jobId);
    }
    const sizes: EventSizes = {
      total: 0,
      jobId: lastJobIdBytes,
      position: event.position ? positionSize(event.position) : 0,
      eventId: utf8Length(event.eventId),
      type: utf8Length(event.type),
      actor: utf8Length(event.actor),
      recordedAt: event.recordedAt ? timestampSize(event.recordedAt) : 0,
    };
    sizes.total =
      (sizes.jobId === 0 ? 0 : lengthDelimited(sizes.jobId)) +
      (event.seq === 0n ? 0 : 1 + varint64Size(uint64(event.seq, 'message.seq'))) +
      (event.position ? lengthDelimited(sizes.position) : 0) +
      (sizes.eventId === 0 ? 0 : lengthDelimited(sizes.eventId)) +
      (sizes.type === 0 ? 0 : lengthDelimited(sizes.type)) +
      (event.payload.length === 0 ? 0 : lengthDelimited(event.payload.length)) +
      (sizes.actor === 0 ? 0 : lengthDelimited(sizes.actor)) +
      (event.recordedAt ? lengthDelimited(sizes.recordedAt) : 0) +
      (event.payloadDigest.length === 0 ? 0 : lengthDelimited(event.payloadDigest.length)) +
      (event.prevHash.length === 0 ? 0 : lengthDelimited(event.prevHash.length)) +
      (event.hash.length === 0 ? 0 : lengthDelimited(event.hash.length));
    return sizes;
  });
}

const eventsSize = (sizes: readonly EventSizes[]): number =>
  sizes.reduce((sum, size) => sum + lengthDelimited(size.total), 0);

/** Writes `events` as field 1 (`repeated Event events = 1`) of the enclosing message. */
function writeEvents(out: Out, events: readonly Event[], sizes: readonly EventSizes[]): void {
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as Event;
    const size = sizes[i] as EventSizes;
    out.buffer[out.offset++] = 10;
    out.varint(size.total);
    if (size.jobId !== 0) out.string(10, event.jobId, size.jobId);
    if (event.seq !== 0n) {
      out.buffer[out.offset++] = 16;
      out.varint64(event.seq);
    }
    if (event.position) writePosition(out, 26, event.position, size.position);
    if (size.eventId !== 0) out.string(34, event.eventId, size.eventId);
    if (size.type !== 0) out.string(42, event.type, size.type);
    if (event.payload.length !== 0) out.bytes(50, event.payload);
    if (size.actor !== 0) out.string(58, event.actor, size.actor);
    if (event.recordedAt) writeTimestamp(out, 66, event.recordedAt, size.recordedAt);
    if (event.payloadDigest.length !== 0) out.bytes(74, event.payloadDigest);
    if (event.prevHash.length !== 0) out.bytes(82, event.prevHash);
    if (event.hash.length !== 0) out.bytes(90, event.hash);
  }
}

function finished(out: Out): Buffer {
  if (out.offset !== out.buffer.length) throw new Error(`encoded ${out.offset} bytes, sized ${out.buffer.length}`);
  return out.buffer;
}

export function encodeStreamEventsResponse(message: StreamEventsResponse): Buffer {
  const sizes = eventSizes(message.events);
  const state = message.jobState;
  const out = new Out(eventsSize(sizes) + (message.caughtUp ? 2 : 0) + (state === 0 ? 0 : 1 + int32Size(state)));
  writeEvents(out, message.events, sizes);
  if (message.caughtUp) {
    out.buffer[out.offset++] = 16;
    out.buffer[out.offset++] = 1;
  }
  if (state !== 0) {
    out.buffer[out.offset++] = 24;
    if (state < 0) out.varint64(BigInt.asUintN(64, BigInt(state)));
    else out.varint(state);
  }
  return finished(out);
}

export function encodeReadEventsResponse(message: ReadEventsResponse): Buffer {
  const sizes = eventSizes(message.events);
  const head = message.headSeq === 0n ? 0 : 1 + varint64Size(uint64(message.headSeq, 'message.headSeq'));
  const out = new Out(eventsSize(sizes) + head);
  writeEvents(out, message.events, sizes);
  if (message.headSeq !== 0n) {
    out.buffer[out.offset++] = 16;
    out.varint64(message.headSeq);
  }
  return finished(out);
}

export function encodeSubscribeEventsResponse(message: SubscribeEventsResponse): Buffer {
  const sizes = eventSizes(message.events);
  const checkpoint = message.checkpoint ? positionSize(message.checkpoint) : 0;
  const out = new Out(
    eventsSize(sizes) + (message.checkpoint ? lengthDelimited(checkpoint) : 0) + (message.caughtUp ? 2 : 0),
  );
  writeEvents(out, message.events, sizes);
  if (message.checkpoint) writePosition(out, 18, message.checkpoint, checkpoint);
  if (message.caughtUp) {
    out.buffer[out.offset++] = 24;
    out.buffer[out.offset++] = 1;
  }
  return finished(out);
}

/** RuntimeService's definition with its event-carrying responses encoded by this module. */
export const runtimeServiceDefinition: typeof RuntimeServiceService = {
  ...RuntimeServiceService,
  streamEvents: { ...RuntimeServiceService.streamEvents, responseSerialize: encodeStreamEventsResponse },
  readEvents: { ...RuntimeServiceService.readEvents, responseSerialize: encodeReadEventsResponse },
  subscribeEvents: { ...RuntimeServiceService.subscribeEvents, responseSerialize: encodeSubscribeEventsResponse },
};
