import pg from 'pg';
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

// AcquireJob's one-queue scan is planned once per session (migrations/0016), and that plan must be
// the ordered walk of the runnable index even when it was made while `jobs` was nearly empty.
it("plans AcquireJob's queue scan once per session, as the ordered index walk, made on a tiny table", async () => {
  const own = await createTestDatabase();
  const jobs = (queue: string, state: string, count: number) =>
    query(
      own.url,
      `insert into aetheris.jobs (tenant_id, job_id, job_type, queue, state, input, max_attempts,
                                    next_run_at, head_hash, retry_policy)
         select 'plans', gen_random_uuid(), 'bench', $1, $2, '{}', 1, now(), sha256(''), '{}'
           from generate_series(1, $3::int)`,
      [queue, state, count],
    );
  // Statistics taken while the tenant's runnable jobs were those of one other queue.
  await jobs('elsewhere', 'pending', 64);
  await query(own.url, 'vacuum analyze aetheris.jobs');
  await jobs('acq', 'pending', 3);
  // A session as the server's (sequential scans disabled), explaining its nested plans on demand.
  const session = new pg.Client({ connectionString: own.url, options: '-c enable_seqscan=off' });
  const plans: string[] = [];
  session.on('notice', (notice) => plans.push(notice.message ?? ''));
  await session.connect();
  try {
    await session.query(`load 'auto_explain'`);
    await session.query(`set auto_explain.log_nested_statements = on; set auto_explain.log_level = notice`);
    const acquire = async () => {
      await session.query('begin');
      const { rows } = await session.query<{ outcome: string }>(
        `select outcome from aetheris.acquire_job('plans', 'w', array['acq'], '{bench}', '{}', 30000, 'test')`,
      );
      await session.query('rollback');
      return rows[0]?.outcome;
    };
    // More than five calls, while the table is a page: a plan cache would settle by now.
    for (let i = 0; i < 8; i++) expect(await acquire()).toBe('acquired');
    await jobs('other', 'completed', 20_000);
    await jobs('acq', 'pending', 50);

    await session.query('set auto_explain.log_min_duration = 0');
    expect(await acquire()).toBe('acquired');
    const scan = plans.find((plan) => plan.includes('from aetheris.jobs j') && plan.includes('skip locked'));
    expect(scan).toBeDefined();
    // The walk of the runnable index that stops at the first job it locks: no sort, no other
    // index, and generic (its keys are parameters, so it was not planned again for this call).
    expect(scan).toMatch(/Index Scan using jobs_runnable_in_order on jobs j/);
    expect(scan).toMatch(/Index Cond: \(\(tenant_id = \$\d+\) AND \(queue = \$\d+\)\)/);
    expect(scan).not.toMatch(/Sort|Bitmap|Seq Scan/);
  } finally {
    await session.end();
    await own.drop();
  }
});
