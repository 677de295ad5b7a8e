-- Group commit for the worker protocol's hot writes (see 0005 for appends): concurrent
-- BeginToolCall, CompleteToolCall, CompleteJob and Heartbeat calls of any jobs are written in
-- one transaction per kind, one commit and one WAL flush per batch. Each request keeps its own
-- outcome, computed by the single-call function unchanged. Requests arrive sorted by
-- (tenant, job), so concurrent batches lock job rows in one global order.

create function aetheris.begin_tool_call_batch(
  p_tenants text[], p_jobs uuid[], p_tokens bigint[], p_call_keys text[], p_tools text[],
  p_digests bytea[], p_idempotent boolean[], p_actors text[]
) returns table (ord integer, outcome text, ledger aetheris.tool_calls, detail text)
language plpgsql as $$
declare
  r record;
begin
  for i in 1..cardinality(p_jobs) loop
    select * into r
      from aetheris.begin_tool_call(p_tenants[i], p_jobs[i], p_tokens[i], p_call_keys[i], p_tools[i],
                                    p_digests[i], p_idempotent[i], p_actors[i]);
    ord := i;
    outcome := r.outcome;
    ledger := r.ledger;
    detail := r.detail;
    return next;
  end loop;
end $$;

create function aetheris.complete_tool_call_batch(
  p_tenants text[], p_jobs uuid[], p_tokens bigint[], p_call_keys text[], p_results text[],
  p_errors text[], p_actors text[]
) returns table (ord integer, outcome text, ledger aetheris.tool_calls)
language plpgsql as $$
declare
  r record;
begin
  for i in 1..cardinality(p_jobs) loop
    select * into r
      from aetheris.complete_tool_call(p_tenants[i], p_jobs[i], p_tokens[i], p_call_keys[i], p_results[i],
                                       p_errors[i], p_actors[i]);
    ord := i;
    outcome := r.outcome;
    ledger := r.ledger;
    return next;
  end loop;
end $$;

create function aetheris.complete_job_batch(
  p_tenants text[], p_jobs uuid[], p_tokens bigint[], p_outputs text[], p_actors text[]
) returns table (ord integer, outcome text, job aetheris.jobs)
language plpgsql as $$
declare
  r record;
begin
  for i in 1..cardinality(p_jobs) loop
    select * into r from aetheris.complete_job(p_tenants[i], p_jobs[i], p_tokens[i], p_outputs[i], p_actors[i]);
    ord := i;
    outcome := r.outcome;
    job := r.job;
    return next;
  end loop;
end $$;
