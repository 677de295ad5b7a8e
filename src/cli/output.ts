/**
 * CLI output: messages as proto3 JSON (the generated `toJSON`), with the JSON `bytes` fields
 * (job input/output, event payloads, error details) decoded into JSON values and hashes as hex.
 */
import { ApiKey } from '../../gen/ts/aetheris/runtime/v1/admin_service.js';
import { Event, type GlobalPosition } from '../../gen/ts/aetheris/runtime/v1/event.js';
import { Job, JobError } from '../../gen/ts/aetheris/runtime/v1/job.js';

/** A JSON object as printed. */
export type JsonObject = Record<string, unknown>;

/** Prints one value as pretty JSON (single results: get, create, cancel…). */
export function printObject(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints one value as a JSON line (items of lists and streams). */
export function printLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Prints a hint for the user on stderr (never on stdout, which stays pure JSON). */
export function printHint(text: string): void {
  process.stderr.write(`aetheris: ${text}\n`);
}

let stdoutGuarded = false;

/** A closed stdout pipe (`aetheris events tail … | head`) ends the process quietly. */
export function guardStdout(): void {
  if (stdoutGuarded) return;
  stdoutGuarded = true;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

/** The JSON value held in a `bytes` field; the base64 text when it is not JSON (never expected). */
export function decodeJsonBytes(bytes: Uint8Array): unknown {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    return JSON.parse(buffer.toString('utf8'));
  } catch {
    return buffer.toString('base64');
  }
}

/** Bytes as lowercase hex. */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** A copy of a `toJSON` result as an object (they always are objects). */
export function asObject(value: unknown): JsonObject {
  return typeof value === 'object' && value !== null ? { ...(value as JsonObject) } : {};
}

/** A job error with its JSON details decoded. */
export function jobErrorJson(error: JobError): JsonObject {
  const out = asObject(JobError.toJSON(error));
  if (error.details.length > 0) out.details = decodeJsonBytes(error.details);
  return out;
}

/** A job with input/output as JSON and the head hash as hex. */
export function jobJson(job: Job): JsonObject {
  const out = asObject(Job.toJSON(job));
  if (job.input.length > 0) out.input = decodeJsonBytes(job.input);
  if (job.output.length > 0) out.output = decodeJsonBytes(job.output);
  if (job.lastError) out.lastError = jobErrorJson(job.lastError);
  if (job.headHash.length > 0) out.headHash = hex(job.headHash);
  return out;
}

/** An event with its payload as JSON and its digests/hashes as hex. */
export function eventJson(event: Event): JsonObject {
  const out = asObject(Event.toJSON(event));
  if (event.payload.length > 0) out.payload = decodeJsonBytes(event.payload);
  if (event.payloadDigest.length > 0) out.payloadDigest = hex(event.payloadDigest);
  if (event.prevHash.length > 0) out.prevHash = hex(event.prevHash);
  if (event.hash.length > 0) out.hash = hex(event.hash);
  return out;
}

/** An API key's metadata. */
export function apiKeyJson(key: ApiKey): JsonObject {
  return asObject(ApiKey.toJSON(key));
}

/** A global position as the `txid:position` token `events subscribe --after` accepts. */
export function positionToken(position: GlobalPosition): string {
  return `${position.transactionId}:${position.position}`;
}
