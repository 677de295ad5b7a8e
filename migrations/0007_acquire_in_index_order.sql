-- AcquireJob for one queue (the common case) walks the runnable index in the order it wants
-- (priority, due time, age) and stops at the first job it can lock, instead of collecting every
-- runnable job of `queue = any(...)` and sorting them (measured: ~1 ms per acquire with a backlog
-- of a hundred jobs). Several queues keep the general query.
--
-- When it finds nothing for the caller, it says whether the queues hold due jobs the caller may
-- not take (other job types, missing capabilities). The server passes a queue wake-up on to the
-- next idle poll only then: when the job was simply taken by another poll, waking every idle poll
-- in turn was a query each for nothing (measured: ~9 acquire statements per signal resume with 16
-- idle workers).
create index jobs_runnable_in_order on aetheris.jobs (tenant_id, queue, priority desc, next_run_at, created_at)
  where state in ('pending', 'retrying');
drop index aetheris.jobs_runnable;

drop function aetheris.acquire_job(text, text, text[], text[], text[], integer, text);

create function aetheris.acquire_job(
  p_tenant text, p_worker text, p_queues text[], p_job_types text[], p_capabilities text[],
  p_lease_ms integer, p_actor text,
  out outcome text, out job aetheris.jobs, out next_due timestamptz, out others_runnable boolean
) language plpgsql as $$
declare
  v_id uuid;
begin
  if cardinality(p_queues) = 1 then
    select j.job_id into v_id from aetheris.jobs j
     where j.tenant_id = p_tenant and j.state in ('pending', 'retrying') and j.queue = p_queues[1]
       and j.next_run_at <= clock_timestamp()
       and (cardinality(p_job_types) = 0 or j.job_type = any(p_job_types))
       and j.required_capabilities <@ p_capabilities
     order by j.priority desc, j.next_run_at, j.created_at
     limit 1
     for update skip locked;
  else
    select j.job_id into v_id from aetheris.jobs j
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
    select min(j.next_run_at) into next_due from aetheris.jobs j
     where j.tenant_id = p_tenant and j.state in ('pending', 'retrying') and j.queue = any(p_queues)
       and (cardinality(p_job_types) = 0 or j.job_type = any(p_job_types))
       and j.required_capabilities <@ p_capabilities;
    -- Due jobs this caller may not take (a job being leased right now counts too: harmless).
    others_runnable := exists (
      select 1 from aetheris.jobs j
       where j.tenant_id = p_tenant and j.state in ('pending', 'retrying') and j.queue = any(p_queues)
         and j.next_run_at <= clock_timestamp()
         and not ((cardinality(p_job_types) = 0 or j.job_type = any(p_job_types))
                  and j.required_capabilities <@ p_capabilities));
    return;
  end if;
  others_runnable := false;
  update aetheris.jobs
     set state = 'running', attempt = attempt + 1, fencing_token = fencing_token + 1,
         lease_owner = p_worker, lease_ms = p_lease_ms,
         lease_expires_at = clock_timestamp() + p_lease_ms * interval '1 millisecond',
         heartbeat_at = clock_timestamp(), attempt_started_at = clock_timestamp()
   where tenant_id = p_tenant and job_id = v_id
  returning * into job;
  perform aetheris.append_system(p_tenant, v_id, array['aetheris.job.leased'],
    array[format('{"attempt":%s,"fencing_token":%s,"lease_expires_at_us":%s,"worker_id":%s}',
                 job.attempt, job.fencing_token, aetheris.to_us(job.lease_expires_at), aetheris.jstr(p_worker))],
    p_actor);
  select * into job from aetheris.jobs where tenant_id = p_tenant and job_id = v_id;
  outcome := 'acquired';
end $$;
