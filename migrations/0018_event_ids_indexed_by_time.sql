-- Event ids stay unique per tenant and job, but the unique index leads with the id. Led by
-- (tenant_id, job_id), each new entry went into its job's range: a descent from the root with a
-- text and two uuid comparisons per level, for every event (index inserts were 45% of
-- PostgreSQL's CPU in 100-event appends, sampled with perf). Server-generated ids are time-ordered
-- (0013), so led by the id each new entry lands at the right edge of the index, where a btree
-- inserts without descending (its rightmost-leaf fast path), as events_global_order's entries do.
-- A retried append's probe for client-chosen ids names all three columns and keeps an index.
--
-- On a large log, build the index first without blocking writes, and this migration only swaps
-- the constraint over to it:
--   create unique index concurrently events_event_id_unique
--     on aetheris.events (event_id, tenant_id, job_id);
create unique index if not exists events_event_id_unique on aetheris.events (event_id, tenant_id, job_id);
alter table aetheris.events
  add constraint events_event_id_unique unique using index events_event_id_unique,
  drop constraint events_tenant_id_job_id_event_id_key;
