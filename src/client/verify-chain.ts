/**
 * Recomputes the hash chain of a job's events as received from the server (ReadEvents,
 * StreamEvents, SubscribeEvents), without trusting it. Byte layout: docs/hash-chain.md.
 */
import type { Event } from '../../gen/ts/aetheris/runtime/v1/event.js';
import { type ChainViolation, type StoredChainedEvent, verifyChain } from '../domain/hash-chain.js';

/** A wire event as the pure verifier sees it; `tenant` is the reading key's tenant. */
export function chainedEvent(tenant: string, event: Event): StoredChainedEvent {
  if (!event.recordedAt) throw new TypeError(`event ${event.jobId}#${event.seq} has no recorded_at`);
  return {
    tenant,
    jobId: event.jobId,
    eventId: event.eventId,
    seq: event.seq,
    type: event.type,
    actor: event.actor,
    recordedAtUs: event.recordedAt.seconds * 1_000_000n + BigInt(Math.floor(event.recordedAt.nanos / 1000)),
    payload: event.payload,
    payloadDigest: event.payloadDigest,
    prevHash: event.prevHash,
    hash: event.hash,
  };
}

/** Every violation in a job's events from seq 1 (empty: the server's hashes are all reproduced). */
export function verifyEventChain(tenant: string, events: readonly Event[]): ChainViolation[] {
  return verifyChain(events.map((event) => chainedEvent(tenant, event)));
}
