import {
  type CallOptions,
  type ChannelCredentials,
  type Client,
  type ClientReadableStream,
  type ClientUnaryCall,
  credentials,
  Metadata,
  type ServiceError,
} from '@grpc/grpc-js';
import { AdminServiceClient } from '../../gen/ts/aetheris/runtime/v1/admin_service.js';
import { RuntimeServiceClient } from '../../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { SignalServiceClient } from '../../gen/ts/aetheris/signal/v1/signal_service.js';

/** How to reach a server. */
export interface ConnectOptions {
  /** `host:port`, e.g. `127.0.0.1:50051`. */
  address: string;
  /** The API key sent as `authorization: Bearer …`. */
  apiKey: string;
  /** TLS credentials; plaintext when omitted (loopback and tests). */
  channelCredentials?: ChannelCredentials;
  /** Extra metadata sent with every call, e.g. a `traceparent` (the CLI's `TRACEPARENT`). */
  metadata?: Readonly<Record<string, string>>;
}

/** Generated clients bound to one channel and one API key. */
export interface AetherisClients {
  runtime: RuntimeServiceClient;
  admin: AdminServiceClient;
  signal: SignalServiceClient;
  metadata(): Metadata;
  close(): void;
}

/** Creates the generated clients over one shared channel. */
export function connect(options: ConnectOptions): AetherisClients {
  const channelCredentials = options.channelCredentials ?? credentials.createInsecure();
  const channelOptions = { 'grpc.keepalive_time_ms': 30_000, 'grpc.keepalive_timeout_ms': 10_000 };
  const runtime = new RuntimeServiceClient(options.address, channelCredentials, channelOptions);
  // Share the runtime client's channel.
  const shared = { ...channelOptions, channelOverride: runtime.getChannel() };
  const admin = new AdminServiceClient(options.address, channelCredentials, shared);
  const signal = new SignalServiceClient(options.address, channelCredentials, shared);
  const extra = options.metadata ? Object.entries(options.metadata) : undefined;
  return {
    runtime,
    admin,
    signal,
    metadata: () => {
      const metadata = new Metadata();
      metadata.set('authorization', `Bearer ${options.apiKey}`);
      if (extra) for (const [key, value] of extra) metadata.set(key, value);
      return metadata;
    },
    close: () => {
      runtime.close();
    },
  };
}

export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** Calls a generated unary method as a promise: `await unary(c.runtime, c.runtime.getJob, req, md)`. */
export function unary<Req, Res>(
  client: Client,
  method: UnaryMethod<Req, Res>,
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions> = {},
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, request, metadata, options, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

/** Iterates a server stream's messages. */
export async function* messages<Res>(stream: ClientReadableStream<Res>): AsyncGenerator<Res> {
  for await (const message of stream) yield message as Res;
}

/** Milliseconds from now as a grpc deadline. */
export function deadlineIn(ms: number): Date {
  return new Date(Date.now() + ms);
}
