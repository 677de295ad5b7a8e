import { canonicalizeJsonBytes } from './canonical-json.js';
import { invalidField } from './errors.js';
import { isUuid } from './ids.js';

const NAME = /^[A-Za-z0-9._:/-]{1,128}$/;

/** Limits of request fields (documented in the .proto files). */
export const Limits = {
  maxEventsPerAppend: 1000,
  maxAppendBytes: 4 * 1024 * 1024,
  maxPayloadBytes: 1024 * 1024,
  maxLabels: 32,
  maxLabelKey: 63,
  maxLabelValue: 256,
  maxIdempotencyKey: 256,
  maxReason: 1024,
} as const;

/** A required UUID field. */
export function requireUuid(field: string, value: string): string {
  if (value === '') throw invalidField(field, 'is required');
  if (!isUuid(value)) throw invalidField(field, 'must be a UUID');
  return value.toLowerCase();
}

/** A name such as a job type, queue or event type. */
export function requireName(field: string, value: string): string {
  if (value === '') throw invalidField(field, 'is required');
  if (!NAME.test(value)) throw invalidField(field, 'must be 1..128 characters of [A-Za-z0-9._:/-]');
  return value;
}

/** JSON bytes → canonical text, naming the field on failure. */
export function requireJson(field: string, bytes: Uint8Array, maxBytes: number = Limits.maxPayloadBytes): string {
  if (bytes.length > maxBytes) throw invalidField(field, `exceeds ${maxBytes} bytes`);
  try {
    return canonicalizeJsonBytes(bytes);
  } catch (error) {
    throw invalidField(field, `must be UTF-8 JSON (${(error as Error).message})`);
  }
}

/** An integer within bounds. */
export function requireRange(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max)
    throw invalidField(field, `must be between ${min} and ${max}`);
  return value;
}

const INT64_MAX = 2n ** 63n - 1n;

/**
 * A uint64 of the wire that the database keeps as int8 (seqs, fencing tokens): larger values
 * cannot name anything stored, and would fail in SQL as an internal error.
 */
export function requireInt64(field: string, value: bigint): bigint {
  if (value < 0n || value > INT64_MAX) throw invalidField(field, `must be at most ${INT64_MAX}`);
  return value;
}

/** A string up to a length. */
export function requireMaxLength(field: string, value: string, max: number): string {
  if (value.length > max) throw invalidField(field, `must be at most ${max} characters`);
  return value;
}

/** Labels map: bounded count and sizes. */
export function requireLabels(field: string, labels: Record<string, string>): Record<string, string> {
  const entries = Object.entries(labels);
  if (entries.length > Limits.maxLabels) throw invalidField(field, `at most ${Limits.maxLabels} labels`);
  for (const [key, value] of entries) {
    if (key.length === 0 || key.length > Limits.maxLabelKey)
      throw invalidField(`${field}[${key}]`, 'key must be 1..63 characters');
    if (value.length > Limits.maxLabelValue)
      throw invalidField(`${field}[${key}]`, 'value must be at most 256 characters');
  }
  return labels;
}

/** A value of a generated enum; rejects UNSPECIFIED (0), UNRECOGNIZED (-1) and unknown numbers. */
export function requireEnum<E extends number>(field: string, value: E, known: readonly E[]): E {
  if (value === 0 || !known.includes(value)) throw invalidField(field, `unknown or unspecified value ${value}`);
  return value;
}
