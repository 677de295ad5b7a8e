import { sql } from 'slonik';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDatabasePool } from '../src/store/pool.js';
import { createTestDatabase, query } from './helpers/harness.js';

// PL/pgSQL keeps each session's plan of a statement. A plan made while `jobs` held one page
// scanned the whole table once it had grown (until the next ANALYZE); the server's sessions
// plan with sequential scans disabled, so the job row lock stays an index lookup.
describe('pooled sessions keep index plans made on a small table', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: Awaited<ReturnType<typeof createDatabasePool>>;
  beforeAll(async () => {
    db = await createTestDatabase();
    pool = await createDatabasePool({ connectionString: db.url, maximumPoolSize: 1 });
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  const insertJobs = (from: number, to: number) =>
    query(
      db.url,
      `insert into aetheris.jobs (tenant_id, job_id, job_type, queue, state, input, max_attempts,
                                  next_run_at, head_hash, retry_policy)
       select 'plans', gen_random_uuid(), 'bench', 'q', 'completed', '{}', 1, now(), '\\x00', '{}'
         from generate_series($1::int, $2::int)`,
      [from, to],
    );
  const scans = z.object({ seq_scan: z.bigint(), idx_scan: z.bigint() });

  it('locks a job row by its key after the table grew from one page to thousands of rows', async () => {
    await insertJobs(1, 5);
    await query(db.url, 'vacuum analyze aetheris.jobs');
    // More than five calls: the plan cache settles on a generic plan, made for a one-page table.
    for (let i = 0; i < 8; i++) {
      await pool.query(sql.unsafe`select * from aetheris.lock_lease('plans', gen_random_uuid(), 1)`);
    }
    await insertJobs(1, 20_000);

    // The backend's counts not yet flushed to the cumulative statistics, before and after one call.
    const counts = sql.type(scans)`
      select seq_scan, idx_scan from pg_stat_xact_user_tables
       where schemaname = 'aetheris' and relname = 'jobs'`;
    const counted = await pool.transaction(async (tx) => {
      const before = await tx.one(counts);
      const outcome = await tx.oneFirst(
        sql.type(z.object({ outcome: z.string() }))`
          select outcome from aetheris.lock_lease('plans', gen_random_uuid(), 1)`,
      );
      expect(outcome).toBe('not_found');
      const after = await tx.one(counts);
      return { seq_scan: after.seq_scan - before.seq_scan, idx_scan: after.idx_scan - before.idx_scan };
    });
    expect(counted).toEqual({ seq_scan: 0n, idx_scan: 1n });
  });

  it('keeps operator options from the URL, after its own', async () => {
    const url = new URL(db.url);
    url.searchParams.set('options', '-c application_name=ops -c enable_seqscan=on');
    const own = await createDatabasePool({ connectionString: url.toString(), maximumPoolSize: 1 });
    try {
      const settings = await own.one(
        sql.type(z.object({ app: z.string(), seqscan: z.string(), zone: z.string() }))`
          select current_setting('application_name') as app, current_setting('enable_seqscan') as seqscan,
                 current_setting('TimeZone') as zone`,
      );
      expect(settings).toEqual({ app: 'ops', seqscan: 'on', zone: 'UTC' });
    } finally {
      await own.end();
    }
  });
});
