import { randomUUID } from 'node:crypto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a UUID in its canonical hyphenated text form (any version). */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** A new random (v4) UUID. */
export function newId(): string {
  return randomUUID();
}

/**
 * A new time-ordered (v7, RFC 9562) UUID: the Unix time in milliseconds in the first 48 bits,
 * then the version, 74 random bits and the variant. Job ids and the server's event ids are v7 so
 * that a new job's rows go at the end of the job and event indexes instead of on a random leaf
 * page each (gate A/B: see docs/performance.md). The id tells the job's creation millisecond,
 * which GetJob shows anyone who may read the job anyway.
 */
export function newTimeOrderedId(nowMs: number = Date.now()): string {
  const random = randomUUID(); // xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx, variant V already set
  const time = Math.trunc(nowMs).toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.slice(15)}`;
}
