/**
 * What every client command shares: the connection options, the API key lookup, unary calls
 * with a deadline, server streams that stop on Ctrl-C, and one-line errors.
 */
import os from 'node:os';
import path from 'node:path';
import { type Client, type ClientReadableStream, type Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { type Command, Option } from 'commander';
import { type AetherisClients, connect, deadlineIn, messages, type UnaryMethod, unary } from '../client/connect.js';
import { errorInfoOf } from '../client/errors.js';
import { ADMIN_KEY_FILE, readSavedAdminKey } from '../server/bootstrap.js';
import { guardStdout } from './output.js';

/** The default server address (the default of `aetheris serve`). */
export const DEFAULT_ADDRESS = '127.0.0.1:50051';
const DEFAULT_DATA_DIR = '.aetheris';
const DEFAULT_TIMEOUT_MS = 10_000;

/** Flags added by {@link withConnectionOptions}, as commander parses them. */
export interface ConnectionFlags {
  address?: string;
  apiKey?: string;
  dataDir?: string;
  timeout?: string;
}

/** Adds `--address`, `--api-key`, `--data-dir` and `--timeout` to a client command. */
export function withConnectionOptions(command: Command): Command {
  return command
    .addOption(new Option('--address <host:port>', 'server address').env('AETHERIS_ADDRESS').default(DEFAULT_ADDRESS))
    .addOption(new Option('--api-key <key>', 'API key (default: <data dir>/admin-key)').env('AETHERIS_API_KEY'))
    .addOption(
      new Option('--data-dir <dir>', 'data directory holding admin-key')
        .env('AETHERIS_DATA_DIR')
        .default(DEFAULT_DATA_DIR),
    )
    .addOption(new Option('--timeout <ms>', 'deadline of unary calls in ms').default(String(DEFAULT_TIMEOUT_MS)));
}

/** An error whose message is already the one line to print (after `aetheris: `). */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/** A connected client as the commands use it. */
export interface CliClient {
  readonly address: string;
  readonly runtime: AetherisClients['runtime'];
  readonly admin: AetherisClients['admin'];
  readonly signal: AetherisClients['signal'];
  /** A unary call with the `--timeout` deadline; gRPC errors become one-line {@link CliError}s. */
  call<Req, Res>(client: Client, method: UnaryMethod<Req, Res>, request: Req): Promise<Res>;
  /**
   * Consumes a server stream until it ends, the server fails it (thrown as a {@link CliError}),
   * or the user presses Ctrl-C (the call is cancelled and the exit code is 130).
   */
  stream<Res>(
    open: (metadata: Metadata) => ClientReadableStream<Res>,
    onMessage: (message: Res) => void,
  ): Promise<void>;
  close(): void;
}

/**
 * Connects with the command's flags. Flag values are checked before anything is sent; the
 * API key comes from `--api-key`, `AETHERIS_API_KEY`, or `<data dir>/admin-key`, in that order.
 */
export async function openClient(flags: ConnectionFlags): Promise<CliClient> {
  const address = flags.address || DEFAULT_ADDRESS;
  const timeoutMs = parseInteger('--timeout', flags.timeout ?? String(DEFAULT_TIMEOUT_MS), 1, 2_147_483_647);
  const apiKey = await resolveApiKey(flags);
  guardStdout();
  // A caller that traces (a script, CI) hands its context on through the standard variable.
  const traceparent = process.env.TRACEPARENT?.trim();
  const clients = connect({ address, apiKey, ...(traceparent ? { metadata: { traceparent } } : {}) });
  const describe = (error: unknown): Error => describeGrpcError(error, address);
  return {
    address,
    runtime: clients.runtime,
    admin: clients.admin,
    signal: clients.signal,
    async call(client, method, request) {
      try {
        return await unary(client, method, request, clients.metadata(), { deadline: deadlineIn(timeoutMs) });
      } catch (error) {
        throw describe(error);
      }
    },
    async stream(open, onMessage) {
      const call = open(clients.metadata());
      let interrupted = false;
      // Ctrl-C ends a follow stream cleanly instead of killing the process mid-line.
      const onSigint = (): void => {
        interrupted = true;
        call.cancel();
      };
      process.once('SIGINT', onSigint);
      try {
        for await (const message of messages(call)) onMessage(message);
      } catch (error) {
        if (interrupted && isServiceError(error) && error.code === status.CANCELLED) {
          process.exitCode = 130;
          return;
        }
        throw describe(error);
      } finally {
        process.removeListener('SIGINT', onSigint);
      }
    },
    close: () => clients.close(),
  };
}

/** Runs `fn` with a connected client and always closes the channel (else the process would not exit). */
export async function withClient(flags: ConnectionFlags, fn: (client: CliClient) => Promise<void>): Promise<void> {
  const client = await openClient(flags);
  try {
    await fn(client);
  } finally {
    client.close();
  }
}

async function resolveApiKey(flags: ConnectionFlags): Promise<string> {
  const explicit = flags.apiKey?.trim();
  if (explicit) return explicit;
  const dataDir = resolveDir(flags.dataDir || DEFAULT_DATA_DIR);
  const saved = await readSavedAdminKey(dataDir);
  if (saved) return saved;
  throw new CliError(
    `no API key: pass --api-key, set AETHERIS_API_KEY, or point --data-dir/AETHERIS_DATA_DIR at the server's data directory (${path.join(dataDir, ADMIN_KEY_FILE)} not found)`,
  );
}

/** Resolves a directory flag like the server does (`~/` is the home directory). */
export function resolveDir(dir: string): string {
  return path.resolve(dir.startsWith('~/') ? path.join(os.homedir(), dir.slice(2)) : dir);
}

/** True for errors produced by a gRPC call (they carry a numeric status code). */
export function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === 'number' && 'details' in error;
}

/**
 * Formats a gRPC error as `<STATUS_NAME> <reason>: <message>` (the reason only when the server
 * sent an ErrorInfo). Anything else is returned unchanged.
 */
export function describeGrpcError(error: unknown, address: string): Error {
  if (!isServiceError(error)) return error instanceof Error ? error : new Error(String(error));
  const name = status[error.code] ?? `STATUS_${error.code}`;
  const info = errorInfoOf(error);
  let message = oneLine(error.details || error.message);
  // Without ErrorInfo an UNAVAILABLE comes from the channel, not the server: say where we looked.
  if (error.code === status.UNAVAILABLE && !info) {
    message = `${message.replace(/\s*Resolution note:\s*$/, '')} (is the server running at ${address}?)`;
  }
  const reason = info?.reason && info.reason !== name ? ` ${info.reason}` : '';
  return new CliError(`${name}${reason}: ${message}`);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

// Flag parsing. Commander hands over strings; each parser names the flag in its error so the
// user gets one clear line before any call is made.

/** An integer flag within bounds (bounds also keep int32/uint32 fields from wrapping on the wire). */
export function parseInteger(flag: string, value: string, min: number, max: number): number {
  const trimmed = value.trim();
  const parsed = /^[+-]?\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new CliError(`${flag}: expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return parsed;
}

const UINT64_MAX = (1n << 64n) - 1n;

/** A uint64 flag (seqs, positions). */
export function parseUint64(flag: string, value: string): bigint {
  const trimmed = value.trim();
  const parsed = /^\d+$/.test(trimmed) ? BigInt(trimmed) : -1n;
  if (parsed < 0n || parsed > UINT64_MAX) {
    throw new CliError(`${flag}: expected a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return parsed;
}

/** A JSON document flag: validated here so that invalid JSON is never sent; returns its UTF-8 bytes. */
export function parseJsonFlag(flag: string, value: string): Buffer {
  try {
    JSON.parse(value);
  } catch (error) {
    throw new CliError(`${flag}: invalid JSON (${(error as Error).message})`);
  }
  return Buffer.from(value, 'utf8');
}

/** Repeated `k=v` flags as a map. */
export function parseLabels(flag: string, values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const value of values) {
    const index = value.indexOf('=');
    if (index <= 0) throw new CliError(`${flag}: expected key=value, got ${JSON.stringify(value)}`);
    labels[value.slice(0, index)] = value.slice(index + 1);
  }
  return labels;
}

/** Commander argument collector for repeatable flags (`--label a=1 --label b=2`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
