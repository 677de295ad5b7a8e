import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { loadMigrations, migrateUp, migrationStatus } from '../src/store/migrator.js';
import { query } from './helpers/harness.js';
import { createDatabase, dropDatabase } from './helpers/pg-admin.js';

const created: string[] = [];
async function emptyDatabase(): Promise<string> {
  const name = `m_${randomBytes(5).toString('hex')}`;
  created.push(name);
  return createDatabase(inject('pgAdminUrl'), name);
}
afterAll(async () => {
  for (const name of created) await dropDatabase(inject('pgAdminUrl'), name);
});

describe('migrator', () => {
  it('applies every migration once, even when several processes migrate at the same time', async () => {
    const url = await emptyDatabase();
    const results = await Promise.all([1, 2, 3, 4].map(() => migrateUp(url)));
    const all = await loadMigrations();
    expect(results.map((applied) => applied.length).sort()).toEqual([0, 0, 0, all.length]);
    const rows = await query<{ n: number }>(url, 'select count(*)::int as n from aetheris.schema_migrations');
    expect(rows[0]?.n).toBe(all.length);
    expect((await migrationStatus(url)).every((status) => status.state === 'applied')).toBe(true);
    expect(await migrateUp(url)).toEqual([]);
  });

  it('refuses to run when an applied migration was edited', async () => {
    const url = await emptyDatabase();
    await migrateUp(url);
    const edited = (await loadMigrations()).map((migration, index) =>
      index === 0 ? { ...migration, checksum: 'f'.repeat(64), sql: `${migration.sql}\n-- edited` } : migration,
    );
    await expect(migrateUp(url, edited)).rejects.toThrow(/changed after it was applied/);
    expect((await migrationStatus(url, edited))[0]?.state).toBe('checksum-mismatch');
  });

  it('rolls back a failing migration and records nothing', async () => {
    const url = await emptyDatabase();
    const good = await loadMigrations();
    const bad = [
      ...good,
      { version: 9999, name: 'broken', sql: 'create table aetheris.half (x int); select 1/0;', checksum: 'x' },
    ];
    await expect(migrateUp(url, bad)).rejects.toThrow(/9999_broken failed/);
    const rows = await query<{ n: number; t: string | null }>(
      url,
      `select (select count(*)::int from aetheris.schema_migrations where version = 9999) as n, to_regclass('aetheris.half')::text as t`,
    );
    expect(rows[0]).toEqual({ n: 0, t: null });
  });
});
