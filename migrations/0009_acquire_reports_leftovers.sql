-- AcquireJob says whether due jobs remain in its queues that it did not lease, on success too,
-- so the server wakes another idle poll only then. Before, every successful poll handed the wake
-- on in case more work had come with it, and with one job per wake that next poll found nothing:
-- 7.7 acquire statements per signal resume in the gate with 16 idle workers.
-- When it finds nothing, next_due and others_runnable come from one pass over the queue's
-- runnable jobs (two queries before; the EXISTS one was planned as a scan that could not stop
-- early and took ~4 ms in one full gate run).
create or replace function aetheris.acquire_job(
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
  -- Due jobs left behind (this one is 'running' now): only then is another poll worth waking.
  others_runnable := exists (
    select 1 from aetheris.jobs j
     where j.tenant_id = p_tenant and j.state in ('pending', 'retrying') and j.queue = any(p_queues)
       and j.next_run_at <= clock_timestamp());
  outcome := 'acquired';
end $$;
