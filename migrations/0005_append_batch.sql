-- Group commit for AppendEvents: concurrent appends (to any jobs of any tenants) are written in
-- one transaction, with one commit and one WAL flush for the batch, instead of one each.
-- Each request keeps its own outcome (appended, duplicate, wrong_expected_seq, ...), computed by
-- aetheris.append_events exactly as for a single call. Requests arrive sorted by (tenant, job)
-- from the server, so concurrent batches lock job rows in one global order (no deadlocks).
create function aetheris.append_events_batch(
  p_tenants text[], p_jobs uuid[], p_expected_seqs bigint[], p_fencing_tokens bigint[],
  p_actors text[], p_counts integer[],
  p_event_ids uuid[], p_types text[], p_payloads text[], p_digests bytea[]
) returns table (
  ord integer, outcome text, first_seq bigint, last_seq bigint, last_hash bytea, actual_seq bigint
) language plpgsql as $$
declare
  v_from integer := 1;
  v_to integer;
  r record;
begin
  for i in 1..cardinality(p_jobs) loop
    v_to := v_from + p_counts[i] - 1;
    select * into r from aetheris.append_events(
      p_tenants[i], p_jobs[i], p_expected_seqs[i], p_fencing_tokens[i],
      p_event_ids[v_from:v_to], p_types[v_from:v_to], p_payloads[v_from:v_to], p_digests[v_from:v_to],
      p_actors[i]);
    ord := i;
    outcome := r.outcome;
    first_seq := r.first_seq;
    last_seq := r.last_seq;
    last_hash := r.last_hash;
    actual_seq := r.actual_seq;
    return next;
    v_from := v_to + 1;
  end loop;
end $$;
