import { sql } from 'slonik';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { createDatabasePool, parseTimestampUs } from '../src/store/pool.js';

// The pool reads timestamptz text by position for the form UTC sessions print; the exact
// microsecond comes from PostgreSQL itself (extract(epoch) is numeric, so exact).
describe('timestamptz text → microseconds since the epoch', () => {
  let pool: Awaited<ReturnType<typeof createDatabasePool>>;
  beforeAll(async () => {
    pool = await createDatabasePool({ connectionString: inject('pgAdminUrl'), maximumPoolSize: 1 });
  });
  afterAll(async () => {
    await pool.end();
  });

  const row = z.object({ parsed: z.bigint(), exact: z.bigint(), text: z.string() });

  it('agrees with PostgreSQL on every timestamp it prints, years 1 to 9999, any fraction length', async () => {
    const rows = await pool.any(sql.type(row)`
      with us as (
        select unnest(array[0, -1, 1, 500000, -500000, 951825600500000, -2203891200000000,
                            13574563199000001, 253402300799999999, -62135596800000000, 1764336734288123,
                            1764336734000000, 1764336734100000, 1764336734120000, 1764336734123000,
                            1764336734123400, 1764336734123450]::int8[]) as n
        union all
        -- random instants across the whole range PostgreSQL prints without "BC"
        select (-62135596800000000 + floor(random() * 315537897600000000))::int8
          from generate_series(1, 3000)
      ), t as (
        select n, 'epoch'::timestamptz + (n / 1000000) * interval '1 second'
                                       + (n % 1000000) * interval '1 microsecond' as ts from us
      )
      select ts as parsed, n as exact, ts::text as text from t`);
    expect(rows.length).toBe(3017);
    const wrong = rows.filter((r) => r.parsed !== r.exact).map((r) => `${r.text}: ${r.parsed} ≠ ${r.exact}`);
    expect(wrong).toEqual([]);
    // The printed forms include every fraction length and none (the positional path's cases).
    const fractionLengths = new Set(rows.map((r) => /\.(\d+)\+00$/.exec(r.text)?.[1]?.length ?? 0));
    expect([...fractionLengths].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('reads other offsets, and refuses what is not a timestamp', () => {
    const utc = parseTimestampUs('2026-11-28 13:12:14.288123+00');
    expect(utc).toBe(1795871534288123n);
    expect(parseTimestampUs('2026-11-28 18:42:14.288123+05:30')).toBe(utc);
    expect(parseTimestampUs('2026-11-28 08:12:14.288123-05')).toBe(utc);
    expect(parseTimestampUs('1969-12-31 23:59:59.5+00')).toBe(-500000n);
    for (const bad of ['2026-11-28 13:12:14.+00', '2026-11-28T13:12:14+00', '2026-1x-28 13:12:14+00', 'infinity', ''])
      expect(() => parseTimestampUs(bad), bad).toThrow(/unexpected timestamptz text/);
  });
});
