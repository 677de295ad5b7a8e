import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { projectRoot } from './project-root.js';

/** A migration file: `NNNN_name.sql`. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

/** Where a migration stands in a database. */
export interface MigrationStatus {
  version: number;
  name: string;
  state: 'applied' | 'pending' | 'checksum-mismatch' | 'unknown-applied';
  appliedAt?: string;
}

// Serialises migrators across processes (several `aetheris serve` on one database).
const MIGRATION_LOCK_KEY = 7_356_120_991;

/** Reads the ordered migration files. */
export async function loadMigrations(dir = path.join(projectRoot(), 'migrations')): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file)).sort();
  return Promise.all(
    files.map(async (file) => {
      const sql = await readFile(path.join(dir, file), 'utf8');
      return {
        version: Number(file.slice(0, 4)),
        name: file.slice(5, -4),
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    }),
  );
}

/**
 * Applies pending migrations, each in its own transaction, under an advisory lock. Refuses to
 * run when an applied migration's file changed (checksum) or is missing: history is not
 * rewritten silently.
 */
export async function migrateUp(connectionString: string, migrations?: Migration[]): Promise<Migration[]> {
  const all = migrations ?? (await loadMigrations());
  return withClient(connectionString, async (client) => {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await ensureMigrationsTable(client);
      const applied = await appliedMigrations(client);
      assertConsistent(all, applied);
      const pending = all.filter((migration) => !applied.has(migration.version));
      for (const migration of pending) {
        await client.query('begin');
        try {
          await client.query(migration.sql);
          await client.query('insert into aetheris.schema_migrations (version, name, checksum) values ($1, $2, $3)', [
            migration.version,
            migration.name,
            migration.checksum,
          ]);
          await client.query('commit');
        } catch (error) {
          await client.query('rollback');
          throw new Error(`migration ${migration.version}_${migration.name} failed: ${(error as Error).message}`, {
            cause: error,
          });
        }
      }
      return pending;
    } finally {
      await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  });
}

/** Lists every migration with its state in the database. */
export async function migrationStatus(connectionString: string, migrations?: Migration[]): Promise<MigrationStatus[]> {
  const all = migrations ?? (await loadMigrations());
  return withClient(connectionString, async (client) => {
    await ensureMigrationsTable(client);
    const applied = await appliedMigrations(client);
    const statuses: MigrationStatus[] = all.map((migration) => {
      const row = applied.get(migration.version);
      if (!row) return { version: migration.version, name: migration.name, state: 'pending' };
      return {
        version: migration.version,
        name: migration.name,
        state: row.checksum === migration.checksum ? 'applied' : 'checksum-mismatch',
        appliedAt: row.appliedAt,
      };
    });
    for (const [version, row] of applied) {
      if (!all.some((migration) => migration.version === version)) {
        statuses.push({
          version,
          name: row.name,
          state: 'unknown-applied',
          appliedAt: row.appliedAt,
        });
      }
    }
    return statuses.sort((a, b) => a.version - b.version);
  });
}

interface AppliedRow {
  name: string;
  checksum: string;
  appliedAt: string;
}

function assertConsistent(all: Migration[], applied: Map<number, AppliedRow>): void {
  for (const [version, row] of applied) {
    const migration = all.find((candidate) => candidate.version === version);
    if (!migration) throw new Error(`migration ${version}_${row.name} is applied but its file is missing`);
    if (migration.checksum !== row.checksum) {
      throw new Error(`migration ${version}_${row.name} was changed after it was applied (checksum mismatch)`);
    }
  }
}

async function ensureMigrationsTable(client: pg.Client): Promise<void> {
  await client.query(`
    create schema if not exists aetheris;
    create table if not exists aetheris.schema_migrations (
      version    integer primary key,
      name       text not null,
      checksum   text not null,
      applied_at timestamptz not null default now()
    )`);
}

async function appliedMigrations(client: pg.Client): Promise<Map<number, AppliedRow>> {
  const result = await client.query<{
    version: number;
    name: string;
    checksum: string;
    applied_at: Date;
  }>('select version, name, checksum, applied_at from aetheris.schema_migrations order by version');
  return new Map(
    result.rows.map((row) => [
      row.version,
      { name: row.name, checksum: row.checksum, appliedAt: row.applied_at.toISOString() },
    ]),
  );
}

async function withClient<T>(connectionString: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
