import type { JobError } from '../../gen/ts/aetheris/runtime/v1/job.js';
import { canonicalize, type JsonValue } from '../domain/canonical-json.js';
import { invalidField } from '../domain/errors.js';
import { requireJson, requireMaxLength } from '../domain/validation.js';

/** A caller's JobError as canonical JSON `{details?, message, reason}`. */
export function canonicalError(field: string, error: JobError | undefined, defaultReason = 'HANDLER_ERROR'): string {
  const reason = error?.reason || defaultReason;
  if (reason.length > 128) throw invalidField(`${field}.reason`, 'must be at most 128 characters');
  const message = requireMaxLength(`${field}.message`, error?.message ?? '', 4096);
  const details =
    error && error.details.length > 0
      ? (JSON.parse(requireJson(`${field}.details`, error.details, 65_536)) as JsonValue)
      : undefined;
  return canonicalize(details === undefined ? { message, reason } : { details, message, reason });
}
