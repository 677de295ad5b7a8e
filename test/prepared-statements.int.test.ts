import { type DatabasePool, sql } from 'slonik';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDatabasePool } from '../src/store/pool.js';
import { createTestDatabase, query } from './helpers/harness.js';

// Each pooled connection prepares the statements it runs, so PostgreSQL plans them once per
// connection; a migration that changes a prepared statement's result must not break callers.
describe('pooled connections prepare their statements', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  /** Runs `fn` with a one-connection pool preparing at most `preparedStatements` (default: ours). */
  async function withPool<T>(preparedStatements: number | undefined, fn: (pool: DatabasePool) => Promise<T>) {
    const pool = await createDatabasePool({ connectionString: db.url, maximumPoolSize: 1, preparedStatements });
    try {
      return await fn(pool);
    } finally {
      await pool.end();
    }
  }

  const prepared = sql.type(z.object({ statement: z.string() }))`
    select statement from pg_prepared_statements where statement like '%prepared_probe%' order by prepare_time`;

  it('parses a statement once per connection and runs it again by name', async () => {
    await withPool(undefined, (pool) =>
      pool.connect(async (connection) => {
        for (const n of [1, 2, 3]) {
          const row = await connection.one(sql.type(z.object({ n: z.number() }))`
            select ${n}::int4 as n -- prepared_probe`);
          expect(row.n).toBe(n);
        }
        const statements = await connection.many(prepared);
        // The probe itself, once, whatever its values; the listing query is the other row.
        expect(statements.filter((s) => s.statement.includes('as n'))).toHaveLength(1);
      }),
    );
  });

  it('runs texts beyond the cap unnamed', async () => {
    await withPool(2, (pool) =>
      pool.connect(async (connection) => {
        await connection.query(sql.unsafe`select 1 -- prepared_probe a`);
        await connection.query(sql.unsafe`select 2 -- prepared_probe b`);
        await connection.query(sql.unsafe`select 3 -- prepared_probe c`);
        const statements = await connection.many(prepared);
        expect(statements.map((s) => s.statement)).toEqual([
          'select 1 -- prepared_probe a',
          'select 2 -- prepared_probe b',
        ]);
      }),
    );
  });

  it('prepares nothing when told 0 (a pooler that does not track prepared statements)', async () => {
    await withPool(0, (pool) =>
      pool.connect(async (connection) => {
        await connection.query(sql.unsafe`select 1 -- prepared_probe none`);
        await connection.query(sql.unsafe`select 1 -- prepared_probe none`);
        expect(await connection.any(prepared)).toEqual([]);
      }),
    );
  });

  it('answers a statement whose table changed shape under it, outside a transaction', async () => {
    await query(db.url, 'create table shape_probe (a int); insert into shape_probe values (1)');
    await withPool(undefined, async (pool) => {
      const select = sql.unsafe`select * from shape_probe`;
      expect(await pool.one(select)).toEqual({ a: 1 });
      expect(await pool.one(select)).toEqual({ a: 1 });
      // A migration by another server, as in a rolling upgrade.
      await query(db.url, 'alter table shape_probe add column b int default 7');
      expect(await pool.one(select)).toEqual({ a: 1, b: 7 });

      // Inside a transaction the failed statement aborted it: the caller sees the error, and the
      // connection's next statements are planned afresh.
      await query(db.url, 'alter table shape_probe add column c int default 8');
      await expect(pool.transaction(async (tx) => tx.one(select))).rejects.toThrow(/result type/);
      expect(await pool.one(select)).toEqual({ a: 1, b: 7, c: 8 });
    });
  });
});
