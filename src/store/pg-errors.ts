/** SQLSTATE classes and Node errors that mean "the database cannot be reached right now". */
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '08007',
]);
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND']);
const UNAVAILABLE_NAMES = new Set(['ConnectionError', 'BackendTerminatedError', 'BackendTerminatedUnexpectedlyError']);
const UNAVAILABLE_MESSAGES = [
  /connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /connection.*(closed|ended)/i,
  /client has encountered a connection error/i,
];

/** How a database failure should surface. */
export type PgFailureKind = 'unavailable' | 'timeout' | 'serialization' | 'other';

/** Classifies an error thrown by slonik/pg, following `cause` chains. */
export function classifyPgError(error: unknown): PgFailureKind {
  for (let current: unknown = error, depth = 0; current && depth < 6; depth++) {
    if (typeof current !== 'object') break;
    const record = current as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
    const code = typeof record.code === 'string' ? record.code : '';
    if (code === '57014') return 'timeout';
    if (code === '40001' || code === '40P01') return 'serialization';
    if (UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_ERRNOS.has(code)) return 'unavailable';
    if (typeof record.name === 'string' && UNAVAILABLE_NAMES.has(record.name)) return 'unavailable';
    if (typeof record.name === 'string' && record.name === 'StatementTimeoutError') return 'timeout';
    if (
      typeof record.message === 'string' &&
      UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(record.message as string))
    ) {
      return 'unavailable';
    }
    current = record.cause;
  }
  return 'other';
}
