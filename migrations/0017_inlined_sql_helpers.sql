-- The SQL helpers on the hot paths were declared IMMUTABLE, but their bodies call STABLE functions
-- (extract from a timestamptz, to_json, convert_to). PostgreSQL inlines a SQL function into the
-- calling expression only when its body is no less immutable than its declaration, so each call
-- ran as a function of its own: an executor for one expression, per event and per JSON string
-- (fmgr_sql, 6% of PostgreSQL's CPU in a job's lifecycle, sampled with perf). STABLE is what they
-- are; declared so, they are inlined and planned once with the statement or PL/pgSQL expression
-- that calls them. No index, constraint or default uses them, which would need IMMUTABLE.
alter function aetheris.to_us(timestamptz) stable;
alter function aetheris.jstr(text) stable;
alter function aetheris.chain_hash(bytea, bigint, bigint, uuid, uuid, text, text, text, bytea) stable;
