import type { CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { sql } from './sql.js';

/**
 * Jobs in a live state (pending, running, parked, retrying) by tenant and state, for the
 * metrics gauge. An index-only scan of `jobs_live_by_state`: its size follows the live jobs,
 * never the history of finished ones.
 */
export async function countLiveJobs(
  db: CommonQueryMethods,
): Promise<{ tenant: string; state: string; count: number }[]> {
  const rows = await db.any(sql.type(z.object({ tenant_id: z.string(), state: z.string(), n: z.bigint() }))`
    select tenant_id, state, count(*) as n from aetheris.jobs
     where state in ('pending', 'running', 'parked', 'retrying')
     group by tenant_id, state`);
  return rows.map((row) => ({ tenant: row.tenant_id, state: row.state, count: Number(row.n) }));
}
