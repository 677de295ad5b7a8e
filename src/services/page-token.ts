import { createHash } from 'node:crypto';
import { invalidField } from '../domain/errors.js';
import { isUuid } from '../domain/ids.js';
import type { JobCursor } from '../store/jobs.js';

/**
 * Opaque page tokens: base64url JSON of the keyset cursor plus a digest of the filters, so a
 * token replayed with other filters is rejected instead of silently skipping rows.
 */
export function encodeJobPageToken(cursor: JobCursor, filterKey: string): string {
  return Buffer.from(
    JSON.stringify({ c: cursor.createdAt.toString(), j: cursor.jobId, f: digest(filterKey) }),
  ).toString('base64url');
}

export function decodeJobPageToken(token: string, filterKey: string): JobCursor | null {
  if (token === '') return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalidField('page_token', 'is not a token returned by this API');
  }
  const value = parsed as { c?: unknown; j?: unknown; f?: unknown };
  if (typeof value.c !== 'string' || !/^\d{1,19}$/.test(value.c) || typeof value.j !== 'string' || !isUuid(value.j)) {
    throw invalidField('page_token', 'is not a token returned by this API');
  }
  if (value.f !== digest(filterKey)) throw invalidField('page_token', 'was issued for different filters');
  return { createdAt: BigInt(value.c), jobId: value.j };
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 16);
}
