import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, query } from './helpers/harness.js';

// Event ids are unique per tenant and job, through an index led by the id (migrations/0018):
// time-ordered ids then land at the index's right edge instead of in their job's range.
describe('the unique index of event ids', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const job = '01930000-0000-7000-8000-000000000001';
  const other = '01930000-0000-7000-8000-000000000002';
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  /** Inserts events `from..to` of a job, with the given id for each (an SQL expression over `n`). */
  const insertEvents = (tenant: string, jobId: string, from: number, to: number, id = 'uuidv7()') =>
    query(
      db.url,
      `insert into aetheris.events (tenant_id, job_id, seq, event_id, type, payload, payload_digest, actor,
                                    recorded_at, prev_hash, hash)
       select $1, $2::uuid, n, ${id}, 't', '{}', sha256('{}'), 'a', now(), sha256(''), sha256(n::text::bytea)
         from generate_series($3::int, $4::int) as n`,
      [tenant, jobId, from, to],
    );

  it('leads with the event id', async () => {
    const rows = await query<{ definition: string }>(
      db.url,
      `select pg_get_indexdef(i.indexrelid) as definition
         from pg_index i join pg_constraint c on c.conindid = i.indexrelid
        where c.conrelid = 'aetheris.events'::regclass and c.contype = 'u'`,
    );
    expect(rows.map((row) => row.definition)).toEqual([
      'CREATE UNIQUE INDEX events_event_id_unique ON aetheris.events USING btree (event_id, tenant_id, job_id)',
    ]);
  });

  it('keeps ids unique per tenant and job, not across them', async () => {
    const id = '01930000-0000-7000-8000-0000000000aa';
    await insertEvents('acme', job, 1, 1, `'${id}'::uuid`);
    await expect(insertEvents('acme', job, 2, 2, `'${id}'::uuid`)).rejects.toMatchObject({
      code: '23505',
      constraint: 'events_event_id_unique',
    });
    await insertEvents('acme', other, 1, 1, `'${id}'::uuid`);
    await insertEvents('zeta', job, 1, 1, `'${id}'::uuid`);
    const rows = await query<{ n: string }>(
      db.url,
      'select count(*)::text as n from aetheris.events where event_id = $1',
      [id],
    );
    expect(rows[0]?.n).toBe('3');
  });

  it("finds a retried append's client-chosen ids through it, not through the job's whole range", async () => {
    await insertEvents('acme', job, 2, 20_000);
    await query(db.url, 'analyze aetheris.events');
    // As the server's sessions plan (src/store/pool.ts): without sequential scans.
    const plan = await query<{ 'QUERY PLAN': string }>(
      `${db.url}?options=${encodeURIComponent('-c enable_seqscan=off')}`,
      `explain (costs off)
       select count(*), min(e.seq), max(e.seq) from aetheris.events e
        where e.tenant_id = 'acme' and e.job_id = '${job}'
          and e.event_id = any('{01930000-0000-7000-8000-0000000000bb,01930000-0000-7000-8000-0000000000cc}'::uuid[])`,
    );
    const text = plan.map((row) => row['QUERY PLAN']).join('\n');
    expect(text).toContain('events_event_id_unique');
    expect(text).not.toContain('events_pkey');
  });
  it('swaps the constraint over to an index an operator built beforehand, concurrently', async () => {
    const migration = readFileSync(
      new URL('../migrations/0018_event_ids_indexed_by_time.sql', import.meta.url),
      'utf8',
    );
    // The schema as it was before the migration, and the index built ahead of it.
    await query(
      db.url,
      `alter table aetheris.events drop constraint events_event_id_unique,
         add constraint events_tenant_id_job_id_event_id_key unique (tenant_id, job_id, event_id)`,
    );
    await query(
      db.url,
      'create unique index concurrently events_event_id_unique on aetheris.events (event_id, tenant_id, job_id)',
    );
    await query(db.url, `begin; ${migration}; commit;`);
    const rows = await query<{ conname: string; index: string }>(
      db.url,
      `select conname, conindid::regclass::text as index from pg_constraint
        where conrelid = 'aetheris.events'::regclass and contype = 'u'`,
    );
    expect(rows).toEqual([{ conname: 'events_event_id_unique', index: 'aetheris.events_event_id_unique' }]);
  });
});
