import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { mintApiKey } from '../domain/api-key.js';
import {
  CREDENTIALS_FILE,
  type EmbeddedPostgres,
  startEmbeddedPostgres,
  urlWithDatabase,
} from '../store/embedded-postgres.js';
import { readCredentials } from '../store/embedded-postgres-root.js';
import { migrateUp } from '../store/migrator.js';
import type { Logger } from './logger.js';

export const ADMIN_KEY_FILE = 'admin-key';
export const DEFAULT_TENANT = 'default';
const EMBEDDED_DATABASE = 'aetheris';

/** A database ready to serve: migrated, with its embedded cluster if any. */
export interface PreparedDatabase {
  url: string;
  embedded: EmbeddedPostgres | undefined;
  /** Stops the embedded cluster, if this process started it. */
  close(): Promise<void>;
}

/**
 * Opens the configured database, or starts the embedded PostgreSQL in `<dataDir>/pg`, then
 * applies migrations. The embedded mode needs no Docker and no system install.
 */
export async function prepareDatabase(
  config: { databaseUrl?: string | undefined; dataDir: string },
  logger: Logger,
  mode: 'serve' | 'tool' = 'serve',
): Promise<PreparedDatabase> {
  let url = config.databaseUrl;
  let embedded: EmbeddedPostgres | undefined;
  let releaseLock = async (): Promise<void> => {};
  if (!url && mode === 'tool') {
    // A tool (migrate, tenants) next to a running server uses its cluster, never restarts it.
    url = await runningEmbeddedUrl(config.dataDir);
  }
  if (!url) {
    if (mode === 'serve') releaseLock = await acquireServeLock(config.dataDir);
    // 0755: the unprivileged PostgreSQL user must reach `pg/` when we run as root; secrets inside are 0600.
    await mkdir(config.dataDir, { recursive: true, mode: 0o755 });
    const pgLog = logger.child({ component: 'postgres' });
    embedded = await startEmbeddedPostgres({
      dataDir: path.join(config.dataDir, 'pg'),
      onLog: (line) => pgLog.debug({ line }, 'postgres'),
    });
    await ensureDatabase(embedded.connectionString, EMBEDDED_DATABASE);
    url = embedded.urlFor(EMBEDDED_DATABASE);
    logger.info({ dataDir: embedded.dataDir, port: embedded.port }, 'embedded PostgreSQL running');
  }
  const applied = await migrateUp(url);
  if (applied.length > 0) logger.info({ applied: applied.map((m) => `${m.version}_${m.name}`) }, 'migrations applied');
  const cluster = embedded;
  return {
    url,
    embedded,
    close: async () => {
      await cluster?.stop();
      await releaseLock();
    },
  };
}

const SERVE_LOCK_FILE = 'serve.pid';

/**
 * One `serve` owns an embedded cluster: a second one on the same data directory would stop the
 * first one's PostgreSQL as an orphan. (Several servers on one database: use DATABASE_URL.)
 */
async function acquireServeLock(dataDir: string): Promise<() => Promise<void>> {
  await mkdir(dataDir, { recursive: true, mode: 0o755 });
  const file = path.join(dataDir, SERVE_LOCK_FILE);
  const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  if (holder > 0 && holder !== process.pid && isAlive(holder)) {
    throw new Error(
      `another aetheris serve (pid ${holder}) is using ${dataDir}; stop it, or share a database with DATABASE_URL`,
    );
  }
  await writeFile(file, `${process.pid}\n`, { mode: 0o644 });
  return () => rm(file, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The URL of the embedded cluster of `dataDir` if it is running and reachable, else undefined. */
async function runningEmbeddedUrl(dataDir: string): Promise<string | undefined> {
  const credentials = await readCredentials(path.join(dataDir, 'pg', CREDENTIALS_FILE));
  if (!credentials) return undefined;
  const adminUrl = `postgres://${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@127.0.0.1:${credentials.port}/postgres`;
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    const exists = await client.query('select 1 from pg_database where datname = $1', [EMBEDDED_DATABASE]);
    return exists.rowCount === 0 ? undefined : urlWithDatabase(adminUrl, EMBEDDED_DATABASE);
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
}

/**
 * On the first start (no tenant yet) creates the `default` tenant and an admin key, writes the
 * key to `<dataDir>/admin-key` (mode 0600) and returns it so the caller prints it once.
 * Later starts return null. Serialised by an advisory lock for concurrent first starts.
 */
export async function bootstrapAdminKey(databaseUrl: string, dataDir: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('begin');
    await client.query('select pg_advisory_xact_lock(7356120992)');
    const tenants = await client.query('select 1 from aetheris.tenants limit 1');
    if ((tenants.rowCount ?? 0) > 0) {
      await client.query('commit');
      return null;
    }
    const key = mintApiKey();
    await client.query('insert into aetheris.tenants (tenant_id) values ($1)', [DEFAULT_TENANT]);
    await client.query(
      `insert into aetheris.api_keys (tenant_id, key_id, name, role, secret_hash) values ($1, $2, 'bootstrap-admin', 'admin', $3)`,
      [DEFAULT_TENANT, key.keyId, key.secretHash],
    );
    await mkdir(dataDir, { recursive: true, mode: 0o755 });
    await writeFile(path.join(dataDir, ADMIN_KEY_FILE), `${key.token}\n`, { mode: 0o600 });
    await client.query('commit');
    return key.token;
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
}

/** The admin key saved by the first start, if present. */
export async function readSavedAdminKey(dataDir: string): Promise<string | undefined> {
  try {
    return (await readFile(path.join(dataDir, ADMIN_KEY_FILE), 'utf8')).trim() || undefined;
  } catch {
    return undefined;
  }
}
