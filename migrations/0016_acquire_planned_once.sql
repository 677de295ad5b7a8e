-- AcquireJob's one-queue scan was planned on every poll. PL/pgSQL's plan cache kept choosing a
-- custom plan for it (the job types and capabilities fold into constants, which looks cheaper than
-- any generic plan), and planning a select over `jobs` and its seven indexes cost ~0.18 ms, more
-- than the scan, the lease update and the event insert together (gate job_e2e, pg_stat_statements
-- with track_planning). Forcing the generic plan alone is not safe: one made while `jobs` held a
-- few rows was a bitmap scan of the tenant's jobs and a sort, kept as the table grew (2.5 ms per
-- poll, measured). With sorts disabled as well, the only plan left without a disabled node is the
-- ordered walk of jobs_runnable_in_order that stops at the first job it can lock: planned once per
-- session, whatever the table's size then. The scan moves into its own function because the
-- settings hold for a whole function, and the many-queue select needs its sort.
create function aetheris.next_in_queue(
  p_tenant text, p_queue text, p_job_types text[], p_capabilities text[],
  out job_id uuid, out attempt integer, out fencing_token bigint, out head_seq bigint, out head_hash bytea
) language plpgsql
set plan_cache_mode = force_generic_plan
set enable_sort = off
as $$
begin
  select j.job_id, j.attempt, j.fencing_token, j.head_seq, j.head_hash
    into job_id, attempt, fencing_token, head_seq, head_hash
    from aetheris.jobs j
   where j.tenant_id = p_tenant and j.state in ('pending', 'retrying') and j.queue = p_queue
     and j.next_run_at <= clock_timestamp()
     and (cardinality(p_job_types) = 0 or j.job_type = any(p_job_types))
     and j.required_capabilities <@ p_capabilities
   order by j.priority desc, j.next_run_at, j.created_at
   limit 1
   for update skip locked;
end $$;

-- AcquireJob as in 0014, the one-queue case through next_in_queue.
create or replace function aetheris.acquire_job(
  p_tenant text, p_worker text, p_queues text[], p_job_types text[], p_capabilities text[],
  p_lease_ms integer, p_actor text,
  out outcome text, out job aetheris.jobs, out next_due timestamptz, out others_runnable boolean
) language plpgsql as $$
declare
  v_id uuid;
  v_attempt integer;
  v_token bigint;
  v_seq bigint;
  v_prev bytea;
  v_now timestamptz;
  v_expires timestamptz;
  v_hash bytea;
begin
  if cardinality(p_queues) = 1 then
    select n.job_id, n.attempt, n.fencing_token, n.head_seq, n.head_hash
      into v_id, v_attempt, v_token, v_seq, v_prev
      from aetheris.next_in_queue(p_tenant, p_queues[1], p_job_types, p_capabilities) n;
  else
    select j.job_id, j.attempt, j.fencing_token, j.head_seq, j.head_hash
      into v_id, v_attempt, v_token, v_seq, v_prev
      from aetheris.jobs j
     where j.tenant_id = p_tenant and j.state in ('pending', 'retrying') and j.queue = any(p_queues)
       and j.next_run_at <= clock_timestamp()
       and (cardinality(p_job_types) = 0 or j.job_type = any(p_job_types))
       and j.required_capabilities <@ p_capabilities
     order by j.priority desc, j.next_run_at, j.created_at
     limit 1
     for update skip locked;
  end if;
  if v_id is null then
    outcome := 'none';
    -- One pass over the queue's runnable jobs for both answers.
    select min(j.next_run_at) filter (where (cardinality(p_job_types) = 0 or j.job_type = any(p_job_types))
                                        and j.required_capabilities <@ p_capabilities),
           coalesce(bool_or(j.next_run_at <= clock_timestamp()
                            and not ((cardinality(p_job_types) = 0 or j.job_type = any(p_job_types))
                                     and j.required_capabilities <@ p_capabilities)), false)
      into next_due, others_runnable
      from aetheris.jobs j
     where j.tenant_id = p_tenant and j.state in ('pending', 'retrying') and j.queue = any(p_queues);
    return;
  end if;
  v_now := clock_timestamp();
  v_expires := v_now + p_lease_ms * interval '1 millisecond';
  v_hash := aetheris.insert_event(p_tenant, v_id, v_seq + 1, v_prev, v_now, 'aetheris.job.leased',
    format('{"attempt":%s,"fencing_token":%s,"lease_expires_at_us":%s,"worker_id":%s}',
           v_attempt + 1, v_token + 1, aetheris.to_us(v_expires), aetheris.jstr(p_worker)),
    p_actor);
  update aetheris.jobs
     set state = 'running', attempt = v_attempt + 1, fencing_token = v_token + 1,
         lease_owner = p_worker, lease_ms = p_lease_ms, lease_expires_at = v_expires,
         heartbeat_at = v_now, attempt_started_at = v_now,
         head_seq = v_seq + 1, head_hash = v_hash, updated_at = v_now
   where tenant_id = p_tenant and job_id = v_id
  returning * into job;
  -- Due jobs left behind (this one is 'running' now): only then is another poll worth waking.
  others_runnable := exists (
    select 1 from aetheris.jobs j
     where j.tenant_id = p_tenant and j.state in ('pending', 'retrying') and j.queue = any(p_queues)
       and j.next_run_at <= clock_timestamp());
  outcome := 'acquired';
end $$;
