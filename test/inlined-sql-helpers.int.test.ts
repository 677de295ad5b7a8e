import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainHash } from '../src/domain/hash-chain.js';
import { createTestDatabase, query } from './helpers/harness.js';

// A SQL function that PostgreSQL cannot inline runs as a function call of its own, with its own
// executor, each time it is called: once per event for the chain link. The plan shows which:
// an inlined helper leaves only its body's built-in functions in the expression.
describe('the SQL helpers of the hot paths are inlined', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  /** The expressions a plan computes for `select <expression> from <table>` (over columns, so nothing folds). */
  const outputOf = async (expression: string, table: string): Promise<string> => {
    const rows = await query<{ 'QUERY PLAN': string }>(
      db.url,
      `explain (verbose, costs off) select ${expression} from ${table}`,
    );
    return rows
      .map((row) => row['QUERY PLAN'].trim())
      .filter((line) => line.startsWith('Output:'))
      .join('\n');
  };

  it.each([
    ['to_us', 'aetheris.to_us(created_at)', 'aetheris.tenants', 'EXTRACT(epoch FROM'],
    ['jstr', 'aetheris.jstr(tenant_id)', 'aetheris.tenants', 'to_json(tenant_id)'],
    [
      'chain_hash',
      'aetheris.chain_hash(prev_hash, seq, seq, job_id, event_id, tenant_id, type, actor, payload_digest)',
      'aetheris.events',
      'sha256(',
    ],
  ])('%s', async (_name, expression, table, body) => {
    const output = await outputOf(expression, table);
    expect(output).toContain(body);
    expect(output).not.toMatch(/aetheris\.\w+\(/);
  });

  it('keeps their results (the chain link of docs/hash-chain.md)', async () => {
    const rows = await query<{ us: string; js: string; link: string }>(
      db.url,
      `select aetheris.to_us('2026-11-28 12:00:00.123456+00')::text as us,
              aetheris.jstr(E'a"b\\n') as js,
              encode(aetheris.chain_hash('\\x00'::bytea, 1, 2, '00000000-0000-0000-0000-000000000001',
                                         '00000000-0000-0000-0000-000000000002', 't', 'ty', 'ac', '\\x01'::bytea), 'hex') as link`,
    );
    expect(rows[0]?.us).toBe('1795867200123456');
    expect(rows[0]?.js).toBe('"a\\"b\\n"');
    const link = chainHash(Buffer.alloc(1), {
      tenant: 't',
      jobId: '00000000-0000-0000-0000-000000000001',
      eventId: '00000000-0000-0000-0000-000000000002',
      seq: 1n,
      type: 'ty',
      actor: 'ac',
      recordedAtUs: 2n,
      payloadDigest: Buffer.from([1]),
    });
    expect(rows[0]?.link).toBe(link.toString('hex'));
  });
});
