/** Clients of the standard gRPC services (health, reflection), built from their own protos. */
import { createRequire } from 'node:module';
import path from 'node:path';
import {
  type Client,
  type ClientDuplexStream,
  credentials,
  type GrpcObject,
  loadPackageDefinition,
  type ServiceClientConstructor,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';

const require = createRequire(import.meta.url);

function serviceClient(protoFile: string, pkg: string[], service: string, address: string): Client {
  const definition = loadPackageDefinition(
    loadSync(protoFile, { keepCase: true, longs: String, enums: String, defaults: true }),
  );
  let node: GrpcObject | ServiceClientConstructor = definition;
  for (const part of pkg) node = (node as GrpcObject)[part] as GrpcObject;
  const Constructor = (node as GrpcObject)[service] as ServiceClientConstructor;
  return new Constructor(address, credentials.createInsecure());
}

/** `grpc.health.v1.Health/Check` for `service` ('' = the whole server). */
export async function healthCheck(address: string, service = '', timeoutMs = 2000): Promise<string> {
  const client = serviceClient(healthProtoPath, ['grpc', 'health', 'v1'], 'Health', address);
  try {
    return await new Promise<string>((resolve, reject) => {
      const check = (client as unknown as Record<string, (...args: unknown[]) => void>).Check;
      check?.call(
        client,
        { service },
        { deadline: new Date(Date.now() + timeoutMs) },
        (error: ServiceError | null, response: { status: string }) =>
          error ? reject(error) : resolve(response.status),
      );
    });
  } finally {
    client.close();
  }
}

/** Lists the services a server exposes through reflection (v1). */
export async function reflectServices(address: string): Promise<string[]> {
  const protoFile = path.join(
    path.dirname(require.resolve('@grpc/reflection')),
    '..',
    'proto',
    'grpc',
    'reflection',
    'v1',
    'reflection.proto',
  );
  const client = serviceClient(protoFile, ['grpc', 'reflection', 'v1'], 'ServerReflection', address);
  try {
    return await new Promise<string[]>((resolve, reject) => {
      const open = (client as unknown as Record<string, () => ClientDuplexStream<unknown, unknown>>)
        .ServerReflectionInfo;
      const call = open?.call(client);
      if (!call) return reject(new Error('no reflection method'));
      call.on('data', (response: { list_services_response?: { service: { name: string }[] } }) => {
        resolve(response.list_services_response?.service.map((entry) => entry.name) ?? []);
        call.end();
      });
      call.on('error', reject);
      call.write({ list_services: '' });
    });
  } finally {
    client.close();
  }
}
