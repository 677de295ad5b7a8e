-- Group commit for CreateJob (0006 did it for the worker's writes): concurrent creates of any
-- jobs are written in one transaction, one commit and one WAL flush per batch. Each request keeps
-- its own outcome, computed by the single-call function unchanged; two requests with one
-- idempotency key in a batch see each other as they would in two transactions (the second finds
-- the first's row: `existing`, or `idempotency_conflict` for another request). jsonb values come
-- as text, capabilities as a JSON array of strings (arrays of arrays must be rectangular), the
-- start time as microseconds since the epoch (null: now).
create function aetheris.create_job_batch(
  p_tenants text[], p_jobs uuid[], p_job_types text[], p_queues text[], p_inputs text[], p_priorities integer[],
  p_max_attempts integer[], p_retry_policies text[], p_labels text[], p_idempotency_keys text[],
  p_request_digests bytea[], p_run_at_us bigint[], p_attempt_timeouts_us bigint[], p_event_ids uuid[],
  p_payloads text[], p_digests bytea[], p_actors text[], p_capabilities text[], p_trace_parents text[]
) returns table (ord integer, outcome text, job aetheris.jobs)
language plpgsql as $$
declare
  r record;
begin
  for i in 1..cardinality(p_jobs) loop
    select * into r
      from aetheris.create_job(p_tenants[i], p_jobs[i], p_job_types[i], p_queues[i], p_inputs[i], p_priorities[i],
             p_max_attempts[i], p_retry_policies[i]::jsonb, p_labels[i]::jsonb, p_idempotency_keys[i],
             p_request_digests[i], 'epoch'::timestamptz + p_run_at_us[i] * interval '1 microsecond',
             p_attempt_timeouts_us[i], p_event_ids[i], p_payloads[i], p_digests[i], p_actors[i],
             array(select jsonb_array_elements_text(p_capabilities[i]::jsonb)), p_trace_parents[i]);
    ord := i;
    outcome := r.outcome;
    job := r.job;
    return next;
  end loop;
end $$;
