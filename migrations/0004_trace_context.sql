-- Trace context: the W3C traceparent of the call that created a job travels with the job to the
-- worker that runs it (AcquireJob), so one trace shows client → server → worker → tool.
-- Plus the index behind the live jobs-by-state metrics gauge.

alter table aetheris.jobs add column trace_parent text
  check (trace_parent is null or trace_parent ~ '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$');

-- CreateJob now records the creating call's traceparent (null when it had none).
drop function aetheris.create_job(text, uuid, text, text, text, integer, integer, jsonb, jsonb, text, bytea,
  timestamptz, bigint, uuid, text, bytea, text, text[]);
create function aetheris.create_job(
  p_tenant text, p_job uuid, p_job_type text, p_queue text, p_input text, p_priority integer,
  p_max_attempts integer, p_retry_policy jsonb, p_labels jsonb, p_idempotency_key text,
  p_request_digest bytea, p_next_run_at timestamptz, p_attempt_timeout_us bigint,
  p_event_id uuid, p_payload text, p_digest bytea, p_actor text, p_required_capabilities text[],
  p_trace_parent text,
  out outcome text, out job aetheris.jobs
) language plpgsql as $$
declare
  v_inserted uuid;
begin
  insert into aetheris.jobs
    (tenant_id, job_id, job_type, queue, state, input, max_attempts, priority, idempotency_key,
     request_digest, next_run_at, head_hash, labels, retry_policy, attempt_timeout_us, required_capabilities,
     trace_parent)
  values
    (p_tenant, p_job, p_job_type, p_queue, 'pending', p_input, p_max_attempts, p_priority,
     p_idempotency_key, p_request_digest, coalesce(p_next_run_at, clock_timestamp()),
     '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea,
     p_labels, p_retry_policy, p_attempt_timeout_us, p_required_capabilities, p_trace_parent)
  on conflict (tenant_id, idempotency_key) where idempotency_key is not null do nothing
  returning job_id into v_inserted;

  if v_inserted is null then
    -- ON CONFLICT waited for the other writer to commit, so its row is visible now.
    select * into job from aetheris.jobs
     where tenant_id = p_tenant and idempotency_key = p_idempotency_key;
    outcome := case when job.request_digest = p_request_digest then 'existing'
                    else 'idempotency_conflict' end;
    return;
  end if;

  perform aetheris.insert_events_locked(p_tenant, p_job, 0,
    '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea,
    array[p_event_id], array['aetheris.job.created'], array[p_payload], array[p_digest], p_actor);
  select * into job from aetheris.jobs where tenant_id = p_tenant and job_id = p_job;
  outcome := 'created';
end $$;

-- The aetheris_jobs gauge counts live jobs by tenant and state: an index-only scan whose size
-- follows the live jobs, not the ever-growing history of finished ones. `state` already decides
-- HOT eligibility (jobs_runnable's predicate), so updates that keep the state stay HOT.
create index jobs_live_by_state on aetheris.jobs (tenant_id, state)
  where state in ('pending', 'running', 'parked', 'retrying');
