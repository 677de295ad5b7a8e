/**
 * The transport reference: a bare grpc-js echo server (identity Buffer serializers, no proto) in
 * this process, and its sequential round trip.
 */
import { performance } from 'node:perf_hooks';
import {
  Client,
  credentials,
  type handleUnaryCall,
  Metadata,
  Server,
  ServerCredentials,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { type CpuUse, cpuMark, cpuSince } from './cpu.js';
import { onTeardown, sequential } from './lifecycle.js';
import { type Stats, summarize } from './stats.js';

const identity = (value: Buffer): Buffer => value;
const ECHO_PATH = '/aetheris.perf.Echo/Echo';
const echoDefinition: ServiceDefinition = {
  echo: {
    path: ECHO_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};
const echoHandler: handleUnaryCall<Buffer, Buffer> = (call, callback) => callback(null, call.request);

/** Starts the echo server on a loopback port; returns its address. */
export async function startEchoServer(): Promise<string> {
  const server = new Server();
  server.addService(echoDefinition, { echo: echoHandler });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
  onTeardown('echo server', () => server.forceShutdown());
  return `127.0.0.1:${port}`;
}

/** A client on its own channel, with the same keepalive options as `connect()`. */
export function echoClient(address: string): Client {
  const client = new Client(address, credentials.createInsecure(), {
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
  });
  onTeardown('echo client', () => client.close());
  return client;
}

export function echoOnce(client: Client, payload: Buffer, authorization: string): Promise<void> {
  // Same metadata shape as a real call (a bearer key), so the bytes on the wire are comparable.
  const metadata = new Metadata();
  metadata.set('authorization', authorization);
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(ECHO_PATH, identity, identity, payload, metadata, {}, (error, response) => {
      if (error) reject(error);
      else if (response?.length !== payload.length) reject(new Error('echo returned a different payload'));
      else resolve();
    });
  });
}

export type EchoSequential = Stats & { callsPerSecond: number; cpu: CpuUse };

/** `warmup` unmeasured then `calls` measured sequential round trips (stopping early past `budgetMs`). */
export async function echoSequential(
  client: Client,
  payload: Buffer,
  authorization: string,
  options: { warmup: number; calls: number; budgetMs: number },
): Promise<EchoSequential> {
  await sequential(options.warmup, options.budgetMs, () => echoOnce(client, payload, authorization));
  const mark = cpuMark();
  const phaseStart = performance.now();
  const samples = await sequential(options.calls, options.budgetMs, async () => {
    const t0 = performance.now();
    await echoOnce(client, payload, authorization);
    return performance.now() - t0;
  });
  const wall = performance.now() - phaseStart;
  const cpu = cpuSince(mark, samples.length);
  return { ...summarize(samples), callsPerSecond: Math.round((samples.length / wall) * 1000), cpu };
}
