/** Test harness: a fresh database per file, a real server on loopback, real generated clients. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { type AetherisClients, connect } from '../../src/client/connect.js';
import { mintApiKey, type Role } from '../../src/domain/api-key.js';
import { createLogger } from '../../src/server/logger.js';
import { type RunningServer, type ServerOptions, startServer } from '../../src/server/server.js';
import { TEMPLATE_DATABASE } from '../setup/global-setup.js';
import { createDatabase, dropDatabase } from './pg-admin.js';

/** A database cloned from the migrated template, dropped by `drop()`. */
export async function createTestDatabase(): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const adminUrl = inject('pgAdminUrl');
  const name = `t_${randomBytes(6).toString('hex')}`;
  const url = await createDatabase(adminUrl, name, TEMPLATE_DATABASE);
  return { url, name, drop: () => dropDatabase(adminUrl, name) };
}

/** Creates the tenant if needed and a key with `role`; returns the bearer token. */
export async function createKey(databaseUrl: string, tenant: string, role: Role): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const key = mintApiKey();
    await client.query('insert into aetheris.tenants (tenant_id) values ($1) on conflict do nothing', [tenant]);
    await client.query(
      `insert into aetheris.api_keys (tenant_id, key_id, name, role, secret_hash) values ($1, $2, $3, $4, $5)`,
      [tenant, key.keyId, `test-${role}`, role, key.secretHash],
    );
    return key.token;
  } finally {
    await client.end();
  }
}

/** Server options a test may change (e.g. a huge `sweepIntervalMs` keeps expired leases in place). */
export type TestServerOverrides = Partial<Pick<ServerOptions, 'maxReceiveMessageBytes' | 'sweepIntervalMs'>>;

/** Starts the server in-process on a free loopback port. */
export function startTestServer(databaseUrl: string, overrides: TestServerOverrides = {}): Promise<RunningServer> {
  return startServer({
    databaseUrl,
    host: '127.0.0.1',
    port: 0,
    logger: createLogger(process.env.AETHERIS_TEST_LOG ?? 'silent'),
    shutdownGraceMs: 2000,
    ...overrides,
  });
}

/** Everything most test files need. */
export interface TestEnv {
  url: string;
  server: RunningServer;
  /** Clients authenticated as `role` in `tenant` (default tenant `acme`). */
  clients(role?: Role, tenant?: string): Promise<AetherisClients>;
  close(): Promise<void>;
}

export async function startTestEnv(overrides: TestServerOverrides = {}): Promise<TestEnv> {
  const database = await createTestDatabase();
  const server = await startTestServer(database.url, overrides);
  const opened: AetherisClients[] = [];
  return {
    url: database.url,
    server,
    async clients(role: Role = 'admin', tenant = 'acme') {
      const apiKey = await createKey(database.url, tenant, role);
      const clients = connect({ address: server.address, apiKey });
      opened.push(clients);
      return clients;
    },
    async close() {
      for (const clients of opened) clients.close();
      await server.shutdown();
      await database.drop();
    },
  };
}

/** Runs a query on the test database with a short-lived connection. */
export async function query<T extends pg.QueryResultRow>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}
