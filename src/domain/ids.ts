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
