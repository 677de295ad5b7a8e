import { hash } from 'node:crypto';
import { invalidField } from '../domain/errors.js';
import { isUuid } from '../domain/ids.js';
import type { Micros } from '../domain/records.js';
import type { JobCursor } from '../store/jobs.js';
import type { StuckCursor } from '../store/operations.js';

/**
 * Opaque page tokens: base64url JSON of the keyset cursor plus a digest of the filters, so a
 * token replayed with other filters is rejected instead of silently skipping rows.
 */
export function encodeJobPageToken(cursor: JobCursor, filterKey: string): string {
  return encodeCursor(cursor.createdAt, cursor.jobId, filterKey);
}

export function decodeJobPageToken(token: string, filterKey: string): JobCursor | null {
  const cursor = decodeCursor(token, filterKey);
  return cursor && { createdAt: cursor.at, jobId: cursor.jobId };
}

/** ListStuckJobs tokens; the filter key is prefixed so a ListJobs token is never accepted. */
export function encodeStuckPageToken(cursor: StuckCursor, filterKey: string): string {
  return encodeCursor(cursor.since, cursor.jobId, `stuck:${filterKey}`);
}

export function decodeStuckPageToken(token: string, filterKey: string): StuckCursor | null {
  const cursor = decodeCursor(token, `stuck:${filterKey}`);
  return cursor && { since: cursor.at, jobId: cursor.jobId };
}

/** A keyset position: a timestamp (µs) and the job id breaking ties. */
function encodeCursor(at: Micros, jobId: string, filterKey: string): string {
  return Buffer.from(JSON.stringify({ c: at.toString(), j: jobId, f: digest(filterKey) })).toString('base64url');
}

function decodeCursor(token: string, filterKey: string): { at: Micros; jobId: string } | null {
  if (token === '') return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalidField('page_token', 'is not a token returned by this API');
  }
  // `null` and other non-objects are valid JSON too.
  const value = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as {
    c?: unknown;
    j?: unknown;
    f?: unknown;
  };
  if (typeof value.c !== 'string' || !/^\d{1,19}$/.test(value.c) || typeof value.j !== 'string' || !isUuid(value.j)) {
    throw invalidField('page_token', 'is not a token returned by this API');
  }
  if (value.f !== digest(filterKey)) throw invalidField('page_token', 'was issued for different filters');
  return { at: BigInt(value.c), jobId: value.j };
}

function digest(text: string): string {
  return hash('sha256', text, 'base64url').slice(0, 16);
}
