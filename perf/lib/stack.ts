/**
 * The stack under test, on loopback: an embedded PostgreSQL cluster (fsync on) in a fresh temp
 * dir, a migrated database, a worker and an operator API key of tenant `perf`, the server
 * in-process, and clients for both keys. Everything registers its teardown.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { type AetherisClients, connect } from '../../src/client/connect.js';
import { mintApiKey, type Role } from '../../src/domain/api-key.js';
import { createLogger } from '../../src/server/logger.js';
import { type RunningServer, startServer } from '../../src/server/server.js';
import { startEmbeddedPostgres } from '../../src/store/embedded-postgres.js';
import { migrateUp } from '../../src/store/migrator.js';
import { parentPid } from './cpu.js';
import { onTeardown, progress } from './lifecycle.js';

/** The tenant of the benchmark's keys. */
export const TENANT = 'perf';

export async function createKey(databaseUrl: string, tenant: string, role: Role): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const key = mintApiKey();
    await client.query('insert into aetheris.tenants (tenant_id) values ($1) on conflict do nothing', [tenant]);
    await client.query(
      'insert into aetheris.api_keys (tenant_id, key_id, name, role, secret_hash) values ($1, $2, $3, $4, $5)',
      [tenant, key.keyId, `perf-${role}`, role, key.secretHash],
    );
    return key.token;
  } finally {
    await client.end();
  }
}

/** A raw `pg` connection, ended at teardown. */
export async function connectPg(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {}); // a dying cluster at teardown is not news
  await client.connect();
  onTeardown('pg client', () => client.end());
  return client;
}

export interface Stack {
  databaseUrl: string;
  /** A raw connection to the migrated database (superuser). */
  db: pg.Client;
  /** `select version()`. */
  postgresVersion: string;
  /** The settings that matter for commit latency. */
  postgresSettings: Record<string, string>;
  /** The postmaster's pid (Linux, best effort): the parent of every backend. */
  postmasterPid: number | undefined;
  server: RunningServer;
  workerKey: string;
  operatorKey: string;
  /** The actor recorded for calls made with the worker key: `key:<key id>`. */
  workerActor: string;
  /** Clients with the operator key. */
  ops: AetherisClients;
  /** Clients with the worker key. */
  worker: AetherisClients;
}

/** Starts PostgreSQL, migrates, mints the keys and starts the server; refuses a cluster without fsync. */
export async function startStack(): Promise<Stack> {
  // PostgreSQL in a fresh temp dir, fsync on (the default), a migrated database, two keys.
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'aetheris-perf-'));
  onTeardown('temp dir', () => fs.rm(root, { recursive: true, force: true }));
  // mkdtemp makes 0700 dirs; as root, postgres runs as `postgres` and must traverse it.
  await fs.chmod(root, 0o755);
  progress(`starting PostgreSQL in ${root}`);
  const cluster = await startEmbeddedPostgres({ dataDir: path.join(root, 'pg') });
  onTeardown('PostgreSQL', async () => {
    await cluster.stop();
    // As root the cluster may live elsewhere (relocated); remove it too.
    if (!cluster.dataDir.startsWith(root)) await fs.rm(cluster.dataDir, { recursive: true, force: true });
  });
  const admin = await connectPg(cluster.connectionString);
  await admin.query('create database aetheris_perf');
  const databaseUrl = cluster.urlFor('aetheris_perf');
  await migrateUp(databaseUrl);
  const workerKey = await createKey(databaseUrl, TENANT, 'worker');
  const operatorKey = await createKey(databaseUrl, TENANT, 'operator');
  const workerActor = `key:${workerKey.split('_')[1] ?? ''}`;

  const db = await connectPg(databaseUrl);
  const postgresVersion = (await db.query<{ version: string }>('select version()')).rows[0]?.version ?? 'unknown';
  const settingRows = await db.query<{ name: string; setting: string }>(
    `select name, setting from pg_settings
      where name in ('fsync', 'synchronous_commit', 'wal_sync_method', 'full_page_writes', 'shared_buffers',
                     'max_connections', 'wal_level')
      order by name`,
  );
  const postgresSettings = Object.fromEntries(settingRows.rows.map((row) => [row.name, row.setting]));
  if (postgresSettings.fsync !== 'on')
    throw new Error(`fsync is ${postgresSettings.fsync}; this benchmark needs it on`);
  const backendPid = (await db.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
  const postmasterPid = backendPid === undefined ? undefined : await parentPid(backendPid);

  // The server, in-process.
  const server: RunningServer = await startServer({
    databaseUrl,
    host: '127.0.0.1',
    port: 0,
    logger: createLogger('warn'),
    shutdownGraceMs: 2000,
  });
  onTeardown('server', () => server.shutdown());
  const ops = connect({ address: server.address, apiKey: operatorKey });
  onTeardown('operator client', () => ops.close());
  const worker = connect({ address: server.address, apiKey: workerKey });
  onTeardown('worker client', () => worker.close());
  progress(`server on ${server.address}, PostgreSQL ${postgresVersion.split(' ').slice(0, 2).join(' ')}`);
  return {
    databaseUrl,
    db,
    postgresVersion,
    postgresSettings,
    postmasterPid,
    server,
    workerKey,
    operatorKey,
    workerActor,
    ops,
    worker,
  };
}
