/**
 * gRPC plumbing for the k6 scripts: one client per VU over the Aetheris contracts, the bearer
 * metadata, calls that count every non-OK status into the shared `aetheris_errors` counter, and
 * the JSON conventions of k6's gRPC (`bytes` are base64 strings, 64-bit integers are strings,
 * enums are names, Timestamps RFC 3339 strings, Durations strings like `"5s"`).
 */
import { randomBytes, sha256 } from 'k6/crypto';
import { b64decode, b64encode } from 'k6/encoding';
import { Counter } from 'k6/metrics';
import { Client, type GrpcError, type Params, type Response, StatusOK, Stream } from 'k6/net/grpc';
import { ERRORS_METRIC, env, LOST_METRIC } from './config.ts';

export const RUNTIME = 'aetheris.runtime.v1.RuntimeService';
export const SIGNALS = 'aetheris.signal.v1.SignalService';

/** Every failed call or broken expectation, tagged with `rpc` (the method) and `code`. */
export const errors = new Counter(ERRORS_METRIC);
/** Acknowledged work the server did not keep (events missing from a log, jobs never completed). */
export const lost = new Counter(LOST_METRIC);

// The contracts, from proto/ at the repository root. Client.load must run in the init context.
// import.meta.resolve gives an absolute file:// URL (Client.load strips the scheme), so the import
// path depends neither on the entry script nor on the working directory; resolving a file (and
// cutting its name) rather than the directory keeps to what import specifiers name.
const RUNTIME_PROTO = 'aetheris/runtime/v1/runtime_service.proto';
const SIGNAL_PROTO = 'aetheris/signal/v1/signal_service.proto';
const protoRoot = import.meta.resolve(`../../../proto/${RUNTIME_PROTO}`).slice(0, -RUNTIME_PROTO.length);
const client = new Client();
client.load([protoRoot], RUNTIME_PROTO, SIGNAL_PROTO);

let connected = false;

/** Connects this VU's client once (the connection is kept across iterations and scenarios). */
export function connection(): Client {
  if (!connected) {
    client.connect(env.address, { plaintext: env.plaintext, timeout: '10s' });
    connected = true;
  }
  return client;
}

export type Role = 'admin' | 'worker';

/** Call parameters: the bearer key of `role`, a `rpc` tag, and any extra parameters. */
export function params(role: Role, rpc: string, extra: Params = {}): Params {
  const key = role === 'worker' ? env.workerKey : env.apiKey;
  return { ...extra, metadata: { authorization: `Bearer ${key}` }, tags: { rpc } };
}

const MAX_LOGGED = 5;
let logged = 0;

/** Counts an error (and logs the first few of this VU). */
export function fail(rpc: string, code: string, detail: string): void {
  errors.add(1, { rpc, code });
  if (logged < MAX_LOGGED) {
    logged++;
    console.error(
      `${rpc}: ${code}: ${detail}${logged === MAX_LOGGED ? ' (further errors of this VU not logged)' : ''}`,
    );
  }
}

const CODES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** A gRPC status code by name (`UNAVAILABLE`), as the `code` tag of the errors counter. */
export const codeName = (code: number): string => CODES[code] ?? `status ${code}`;

/**
 * The message of a non-OK response and, when the server attached one, the `reason` of its
 * google.rpc.ErrorInfo (docs/errors.md), which k6 renders as `details[{"@type", reason, …}]`.
 */
function errorText(response: Response): string {
  const error = response.error as { message?: unknown; details?: unknown } | null | undefined;
  const message = typeof error?.message === 'string' ? error.message : JSON.stringify(response.error);
  const details = Array.isArray(error?.details) ? (error.details as { '@type'?: unknown; reason?: unknown }[]) : [];
  const info = details.find((d) => typeof d?.['@type'] === 'string' && d['@type'].endsWith('google.rpc.ErrorInfo'));
  return typeof info?.reason === 'string' ? `${info.reason}: ${message}` : message;
}

const shortName = (method: string): string => method.slice(method.lastIndexOf('/') + 1);

function settle<T>(method: string, response: Response): T | undefined {
  if (response.status !== StatusOK) {
    fail(shortName(method), codeName(response.status), errorText(response));
    return undefined;
  }
  return response.message as T;
}

/**
 * A unary call, e.g. `call<CreateJobResponse>(`${RUNTIME}/CreateJob`, {...}, 'admin')`: the
 * response message, or undefined after counting the error (non-OK status or a thrown exception).
 */
export function call<T>(method: string, request: object, role: Role, extra?: Params): T | undefined {
  const rpc = shortName(method);
  try {
    return settle<T>(method, connection().invoke(method, request, params(role, rpc, extra)));
  } catch (error) {
    fail(rpc, 'exception', String(error));
    return undefined;
  }
}

/** The same as `call`, without blocking the VU: for long polls that must overlap another call. */
export async function callAsync<T>(
  method: string,
  request: object,
  role: Role,
  extra?: Params,
): Promise<T | undefined> {
  const rpc = shortName(method);
  try {
    return settle<T>(method, await connection().asyncInvoke(method, request, params(role, rpc, extra)));
  } catch (error) {
    fail(rpc, 'exception', String(error));
    return undefined;
  }
}

/** How a server stream ended. */
export interface StreamEnd {
  /** The gRPC status code (0 when the server closed the stream normally). */
  code: number;
  message: string;
}

/**
 * Opens a server stream, sends its one request, and resolves when it ends (never rejects). The
 * caller decides which ending is an error: a `timeout` ends a follow stream with
 * DEADLINE_EXCEEDED on purpose.
 */
export function serverStream<T>(
  method: string,
  request: object,
  role: Role,
  onMessage: (message: T) => void,
  extra?: Params,
): Promise<StreamEnd> {
  const rpc = shortName(method);
  return new Promise<StreamEnd>((resolve) => {
    let ended: StreamEnd | undefined;
    const finish = (end: StreamEnd): void => {
      if (ended) return;
      ended = end;
      resolve(end);
    };
    const stream = new Stream(connection(), method, params(role, rpc, extra));
    stream.on('data', (message) => {
      if (!ended) onMessage(message as T);
    });
    // On an error k6 calls the error listeners, then the end listeners.
    stream.on('error', (error) => {
      const e = error as GrpcError | undefined;
      finish({ code: typeof e?.code === 'number' ? e.code : -1, message: e?.message ?? String(error) });
    });
    stream.on('end', () => finish({ code: StatusOK, message: 'end' }));
    stream.write(request);
    stream.end(); // half-close: the server streams; this client sends nothing more
  });
}

// ---------------------------------------------------------------------------------------------
// Values

/** A random UUID v4 (k6/crypto randomness). */
export function uuidv4(): string {
  const bytes = Array.from(new Uint8Array(randomBytes(16)), (byte, i) => {
    if (i === 6) return (byte & 0x0f) | 0x40;
    if (i === 8) return (byte & 0x3f) | 0x80;
    return byte;
  });
  const hex = bytes.map((byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A `bytes` field holding a JSON document: base64 of its UTF-8 JSON text. */
export const jsonBytes = (value: unknown): string => b64encode(JSON.stringify(value));

/** Parses a `bytes` field holding JSON (as the server stores it: canonical RFC 8785). */
export function parseJsonBytes(base64: string): unknown {
  return JSON.parse(b64decode(base64, 'std', 's'));
}

/** SHA-256 of a string, as a `bytes` field (base64): e.g. a tool call's `argsDigest`. */
export const sha256Bytes = (text: string): string => sha256(text, 'base64');

/** A 64-bit integer field (a string in k6's JSON) as a number; NaN when absent. */
export const int64 = (value: string | number | null | undefined): number =>
  value === null || value === undefined || value === '' ? Number.NaN : Number(value);

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;

/**
 * A Timestamp field (RFC 3339 in UTC, as k6 renders it, up to nanoseconds) as fractional ms since
 * the epoch, keeping the microseconds that Date.parse would drop. NaN when absent or malformed.
 */
export function timestampMs(value: string | null | undefined): number {
  const m = value ? TIMESTAMP.exec(value) : null;
  if (!m) return Number.NaN;
  const n = (i: number): number => Number(m[i] ?? 0);
  const whole = Date.UTC(n(1), n(2) - 1, n(3), n(4), n(5), n(6));
  const fraction = m[7] ? Number(`0.${m[7]}`) * 1000 : 0;
  return whole + fraction;
}

/** A short id for this run's queues and event types: [a-z0-9], safe in any Aetheris name. */
export const runId = (): string => `${Date.now().toString(36)}${uuidv4().slice(0, 8)}`;
