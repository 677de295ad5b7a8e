import { credentials, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForensicsServiceClient } from '../gen/ts/aetheris/forensics/v1/forensics_service.js';
import { CreateJobRequest, type StreamEventsResponse } from '../gen/ts/aetheris/runtime/v1/runtime_service.js';
import { type AetherisClients, connect, deadlineIn, messages, unary } from '../src/client/connect.js';
import { expectGrpcError } from './helpers/grpc-assert.js';
import { createKey, createTestDatabase, startTestEnv, startTestServer, type TestEnv } from './helpers/harness.js';
import { healthCheck, reflectServices } from './helpers/standard-clients.js';

let env: TestEnv;
let acme: AetherisClients;

beforeAll(async () => {
  env = await startTestEnv();
  acme = await env.clients('admin', 'acme');
});
afterAll(() => env.close());

async function newJob(): Promise<string> {
  const { job } = await unary(
    acme.runtime,
    acme.runtime.createJob,
    CreateJobRequest.fromPartial({ jobType: 'x' }),
    acme.metadata(),
  );
  return job?.id ?? '';
}

describe('standard services', () => {
  it('answers gRPC health checks for the server and each service', async () => {
    expect(await healthCheck(env.server.address)).toBe('SERVING');
    expect(await healthCheck(env.server.address, 'aetheris.runtime.v1.RuntimeService')).toBe('SERVING');
  });

  it('lists every Aetheris service through server reflection', async () => {
    const services = await reflectServices(env.server.address);
    expect(services).toEqual(
      expect.arrayContaining([
        'aetheris.runtime.v1.RuntimeService',
        'aetheris.runtime.v1.AdminService',
        'aetheris.signal.v1.SignalService',
        'aetheris.forensics.v1.ForensicsService',
        'aetheris.compliance.v1.ComplianceService',
      ]),
    );
  });
});

describe('contracts not built yet', () => {
  it('answer UNIMPLEMENTED after authentication', async () => {
    const forensics = new ForensicsServiceClient(env.server.address, credentials.createInsecure());
    const jobId = '00000000-0000-4000-8000-000000000000';
    await expectGrpcError(
      unary(forensics, forensics.verifyJob, { jobId }, acme.metadata()),
      status.UNIMPLEMENTED,
      'UNIMPLEMENTED',
    );
    const anonymous = connect({ address: env.server.address, apiKey: 'aek_bad' });
    await expectGrpcError(
      unary(forensics, forensics.verifyJob, { jobId }, anonymous.metadata()),
      status.UNAUTHENTICATED,
    );
    anonymous.close();
    forensics.close();
  });
});

describe('deadlines and cancellation', () => {
  it('ends a follow stream at the caller’s deadline', async () => {
    const jobId = await newJob();
    const started = performance.now();
    const stream = acme.runtime.streamEvents({ jobId, afterSeq: 0n, follow: true, maxBatch: 0 }, acme.metadata(), {
      deadline: deadlineIn(300),
    });
    await expectGrpcError(
      (async () => {
        for await (const _ of messages<StreamEventsResponse>(stream)) {
          // replay, then wait for the deadline
        }
      })(),
      status.DEADLINE_EXCEEDED,
    );
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it('keeps serving after many cancelled streams', async () => {
    const jobId = await newJob();
    for (let i = 0; i < 20; i++) {
      const stream = acme.runtime.streamEvents({ jobId, afterSeq: 0n, follow: true, maxBatch: 0 }, acme.metadata());
      stream.on('error', () => undefined);
      await new Promise((resolve) => stream.once('data', resolve));
      stream.cancel();
    }
    const { job } = await unary(acme.runtime, acme.runtime.getJob, { jobId }, acme.metadata());
    expect(job?.id).toBe(jobId);
  });
});

describe('graceful shutdown', () => {
  it('ends follow streams with UNAVAILABLE, refuses new calls and closes the pool', async () => {
    const database = await createTestDatabase();
    const server = await startTestServer(database.url);
    const clients = connect({ address: server.address, apiKey: await createKey(database.url, 'acme', 'operator') });
    try {
      const { job } = await unary(
        clients.runtime,
        clients.runtime.createJob,
        CreateJobRequest.fromPartial({ jobType: 'x' }),
        clients.metadata(),
      );
      const stream = clients.runtime.streamEvents(
        { jobId: job?.id ?? '', afterSeq: 0n, follow: true, maxBatch: 0 },
        clients.metadata(),
      );
      const ended = expectGrpcError(
        (async () => {
          for await (const _ of messages<StreamEventsResponse>(stream)) {
            // until shutdown
          }
        })(),
        status.UNAVAILABLE,
        'SHUTTING_DOWN',
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = performance.now();
      const shutdown = server.shutdown();
      await ended;
      await shutdown;
      expect(performance.now() - started).toBeLessThan(1000);
      await expect(
        unary(clients.runtime, clients.runtime.getJob, { jobId: job?.id ?? '' }, clients.metadata(), {
          deadline: deadlineIn(1000),
        }),
      ).rejects.toMatchObject({
        code: status.UNAVAILABLE,
      });
    } finally {
      clients.close();
      await server.shutdown();
      await database.drop();
    }
  });
});
