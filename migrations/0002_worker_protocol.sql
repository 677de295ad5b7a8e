-- Worker protocol: leases with fencing, retries with backoff, the at-most-once tool call ledger.
-- Every transition writes its lifecycle event in the same transaction as the projection update.

alter table aetheris.jobs
  add column required_capabilities text[] not null default '{}',
  add column lease_ms integer,
  add column heartbeat_at timestamptz,
  add column attempt_started_at timestamptz;

-- CreateJob now records the capabilities a worker must offer.
drop function aetheris.create_job(text, uuid, text, text, text, integer, integer, jsonb, jsonb, text, bytea,
  timestamptz, bigint, uuid, text, bytea, text);
create function aetheris.create_job(
  p_tenant text, p_job uuid, p_job_type text, p_queue text, p_input text, p_priority integer,
  p_max_attempts integer, p_retry_policy jsonb, p_labels jsonb, p_idempotency_key text,
  p_request_digest bytea, p_next_run_at timestamptz, p_attempt_timeout_us bigint,
  p_event_id uuid, p_payload text, p_digest bytea, p_actor text, p_required_capabilities text[],
  out outcome text, out job aetheris.jobs
) language plpgsql as $$
declare
  v_inserted uuid;
begin
  insert into aetheris.jobs
    (tenant_id, job_id, job_type, queue, state, input, max_attempts, priority, idempotency_key,
     request_digest, next_run_at, head_hash, labels, retry_policy, attempt_timeout_us, required_capabilities)
  values
    (p_tenant, p_job, p_job_type, p_queue, 'pending', p_input, p_max_attempts, p_priority,
     p_idempotency_key, p_request_digest, coalesce(p_next_run_at, clock_timestamp()),
     '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea,
     p_labels, p_retry_policy, p_attempt_timeout_us, p_required_capabilities)
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

create index jobs_live_leases on aetheris.jobs (lease_expires_at) where state = 'running';

create table aetheris.tool_calls (
  tenant_id     text not null,
  job_id        uuid not null,
  call_key      text not null,
  tool_name     text not null,
  args_digest   bytea not null,
  state         text not null check (state in ('started', 'succeeded', 'failed', 'in_doubt', 'resolved')),
  result        text,
  error         jsonb,
  attempt       integer not null,
  fencing_token bigint not null,
  idempotent    boolean not null,
  -- Handed to external systems: job and call position only, never the attempt, so a retry
  -- after a crash presents the same key to the system that must deduplicate it.
  external_key  text not null,
  started_at    timestamptz not null default clock_timestamp(),
  finished_at   timestamptz,
  primary key (tenant_id, job_id, call_key)
);

-- A JSON string literal exactly as RFC 8785 (and JSON.stringify) writes it.
create function aetheris.jstr(value text) returns text
  language sql immutable parallel safe
  return coalesce(to_json(value)::text, 'null');

-- Appends runtime events (canonical JSON built by the caller) at the locked job's head.
create function aetheris.append_system(
  p_tenant text, p_job uuid, p_types text[], p_payloads text[], p_actor text
) returns void language plpgsql as $$
declare
  v_seq bigint;
  v_hash bytea;
begin
  select head_seq, head_hash into v_seq, v_hash from aetheris.jobs
   where tenant_id = p_tenant and job_id = p_job;
  perform aetheris.insert_events_locked(p_tenant, p_job, v_seq, v_hash,
    array_fill(null::uuid, array[cardinality(p_types)]), p_types, p_payloads,
    (select array_agg(sha256(convert_to(p, 'UTF8')) order by o) from unnest(p_payloads) with ordinality as x(p, o)),
    p_actor);
end $$;

-- Exponential backoff with equal jitter: half the step fixed, half random.
create function aetheris.backoff_ms(policy jsonb, attempt integer) returns bigint
  language sql volatile
  return (least((policy ->> 'maxBackoffMs')::numeric,
                (policy ->> 'initialBackoffMs')::numeric
                  * power((policy ->> 'backoffCoefficient')::numeric, greatest(attempt - 1, 0)))
          * (0.5 + random() * 0.5))::bigint;

-- Locks a job for a worker write and checks its lease.
create function aetheris.lock_lease(p_tenant text, p_job uuid, p_token bigint, out outcome text, out job aetheris.jobs)
language plpgsql as $$
begin
  select * into job from aetheris.jobs where tenant_id = p_tenant and job_id = p_job for update;
  if not found then
    outcome := 'not_found';
  elsif job.fencing_token <> p_token or job.state <> 'running' then
    outcome := 'lease_lost';
  else
    outcome := 'ok';
  end if;
end $$;

-- Ends the current attempt as failed: retry with backoff, or fail the job when attempts are
-- spent or the failure is permanent. The lease is fenced off either way.
create function aetheris.fail_attempt(
  p_tenant text, p_job uuid, p_error text, p_cause text, p_non_retryable boolean, p_actor text
) returns text language plpgsql as $$
declare
  v_job aetheris.jobs;
  v_delay bigint;
  v_retry_at timestamptz;
  v_final text;
begin
  select * into v_job from aetheris.jobs where tenant_id = p_tenant and job_id = p_job;
  if p_non_retryable or v_job.attempt >= v_job.max_attempts then
    v_final := case when p_non_retryable then 'non_retryable' else 'max_attempts_exceeded' end;
    update aetheris.jobs
       set state = 'failed', last_error = p_error::jsonb, finished_at = clock_timestamp(),
           fencing_token = fencing_token + 1, lease_owner = null, lease_expires_at = null
     where tenant_id = p_tenant and job_id = p_job;
    perform aetheris.append_system(p_tenant, p_job,
      array['aetheris.attempt.failed', 'aetheris.job.failed'],
      array[format('{"attempt":%s,"cause":%s,"error":%s,"retry_at_us":null}', v_job.attempt, aetheris.jstr(p_cause), p_error),
            format('{"attempts":%s,"cause":%s,"error":%s}', v_job.attempt, aetheris.jstr(v_final), p_error)],
      p_actor);
    return 'failed';
  end if;
  v_delay := aetheris.backoff_ms(v_job.retry_policy, v_job.attempt);
  v_retry_at := clock_timestamp() + v_delay * interval '1 millisecond';
  update aetheris.jobs
     set state = 'retrying', last_error = p_error::jsonb, next_run_at = v_retry_at,
         fencing_token = fencing_token + 1, lease_owner = null, lease_expires_at = null
   where tenant_id = p_tenant and job_id = p_job;
  perform aetheris.append_system(p_tenant, p_job,
    array['aetheris.attempt.failed', 'aetheris.job.retrying'],
    array[format('{"attempt":%s,"cause":%s,"error":%s,"retry_at_us":%s}', v_job.attempt, aetheris.jstr(p_cause), p_error, aetheris.to_us(v_retry_at)),
          format('{"next_attempt":%s,"next_run_at_us":%s}', v_job.attempt + 1, aetheris.to_us(v_retry_at))],
    p_actor);
  return 'retrying';
end $$;

-- Leases the best runnable job (priority, then age) or reports when the next one is due.
create function aetheris.acquire_job(
  p_tenant text, p_worker text, p_queues text[], p_job_types text[], p_capabilities text[],
  p_lease_ms integer, p_actor text,
  out outcome text, out job aetheris.jobs, out next_due timestamptz
) language plpgsql as $$
declare
  v_id uuid;
begin
  select j.job_id into v_id from aetheris.jobs j
   where j.tenant_id = p_tenant and j.state in ('pending', 'retrying') and j.queue = any(p_queues)
     and j.next_run_at <= clock_timestamp()
     and (cardinality(p_job_types) = 0 or j.job_type = any(p_job_types))
     and j.required_capabilities <@ p_capabilities
   order by j.priority desc, j.next_run_at, j.created_at
   limit 1
   for update skip locked;
  if v_id is null then
    outcome := 'none';
    select min(j.next_run_at) into next_due from aetheris.jobs j
     where j.tenant_id = p_tenant and j.state in ('pending', 'retrying') and j.queue = any(p_queues)
       and (cardinality(p_job_types) = 0 or j.job_type = any(p_job_types))
       and j.required_capabilities <@ p_capabilities;
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
  outcome := 'acquired';
end $$;

-- Extends a lease for its current token only. No event: heartbeats are frequent and say nothing new.
create function aetheris.heartbeat(
  p_tenant text, p_job uuid, p_token bigint, p_lease_ms integer,
  out outcome text, out lease_expires_at timestamptz
) language plpgsql as $$
begin
  update aetheris.jobs j
     set lease_expires_at = clock_timestamp() + coalesce(p_lease_ms, j.lease_ms) * interval '1 millisecond',
         heartbeat_at = clock_timestamp()
   where j.tenant_id = p_tenant and j.job_id = p_job and j.fencing_token = p_token and j.state = 'running'
  returning j.lease_expires_at into lease_expires_at;
  if found then
    outcome := 'ok';
  elsif exists (select 1 from aetheris.jobs where tenant_id = p_tenant and job_id = p_job) then
    outcome := 'lease_lost';
  else
    outcome := 'not_found';
  end if;
end $$;

create function aetheris.complete_job(
  p_tenant text, p_job uuid, p_token bigint, p_output text, p_actor text,
  out outcome text, out job aetheris.jobs
) language plpgsql as $$
declare
  v_lease record;
begin
  select * into v_lease from aetheris.lock_lease(p_tenant, p_job, p_token);
  outcome := v_lease.outcome;
  job := v_lease.job;
  -- A retried completion whose first try committed (its answer was lost) succeeds again.
  if outcome = 'lease_lost' and job.state = 'completed' and job.fencing_token = p_token
     and job.output = p_output then
    outcome := 'completed';
    return;
  end if;
  if outcome <> 'ok' then return; end if;
  update aetheris.jobs
     set state = 'completed', output = p_output, finished_at = clock_timestamp(),
         lease_owner = null, lease_expires_at = null
   where tenant_id = p_tenant and job_id = p_job;
  perform aetheris.append_system(p_tenant, p_job, array['aetheris.job.completed'],
    array[format('{"attempt":%s,"output":%s}', job.attempt, p_output)], p_actor);
  select * into job from aetheris.jobs where tenant_id = p_tenant and job_id = p_job;
  outcome := 'completed';
end $$;

create function aetheris.fail_job(
  p_tenant text, p_job uuid, p_token bigint, p_error text, p_non_retryable boolean, p_actor text,
  out outcome text, out job aetheris.jobs
) language plpgsql as $$
declare
  v_lease record;
begin
  select * into v_lease from aetheris.lock_lease(p_tenant, p_job, p_token);
  outcome := v_lease.outcome;
  job := v_lease.job;
  if outcome <> 'ok' then return; end if;
  outcome := aetheris.fail_attempt(p_tenant, p_job, p_error, 'worker', p_non_retryable, p_actor);
  select * into job from aetheris.jobs where tenant_id = p_tenant and job_id = p_job;
end $$;

-- Gives the lease back without spending the attempt.
create function aetheris.release_job(
  p_tenant text, p_job uuid, p_token bigint, p_delay_ms bigint, p_reason text, p_actor text,
  out outcome text, out job aetheris.jobs
) language plpgsql as $$
declare
  v_lease record;
begin
  select * into v_lease from aetheris.lock_lease(p_tenant, p_job, p_token);
  outcome := v_lease.outcome;
  job := v_lease.job;
  if outcome <> 'ok' then return; end if;
  update aetheris.jobs
     set state = 'pending', attempt = attempt - 1, next_run_at = clock_timestamp() + p_delay_ms * interval '1 millisecond',
         lease_owner = null, lease_expires_at = null
   where tenant_id = p_tenant and job_id = p_job;
  perform aetheris.append_system(p_tenant, p_job, array['aetheris.job.released'],
    array[format('{"attempt":%s,"delay_ms":%s,"reason":%s}', job.attempt, p_delay_ms, aetheris.jstr(p_reason))], p_actor);
  select * into job from aetheris.jobs where tenant_id = p_tenant and job_id = p_job;
  outcome := 'released';
end $$;

-- The ledger's decision for a tool call (see ToolCallDecision in worker.proto).
create function aetheris.begin_tool_call(
  p_tenant text, p_job uuid, p_token bigint, p_call_key text, p_tool text, p_digest bytea,
  p_idempotent boolean, p_actor text,
  out outcome text, out ledger aetheris.tool_calls, out detail text
) language plpgsql as $$
declare
  v_lease record;
  v_job aetheris.jobs;
  v_lock text;
  v_started text;
begin
  select * into v_lease from aetheris.lock_lease(p_tenant, p_job, p_token);
  v_lock := v_lease.outcome;
  v_job := v_lease.job;
  if v_lock <> 'ok' then
    outcome := v_lock;
    return;
  end if;
  v_started := format('{"args_digest":%s,"attempt":%s,"call_key":%s,"external_key":%s,"idempotent":%s,"tool":%s}',
    aetheris.jstr(encode(p_digest, 'hex')), v_job.attempt, aetheris.jstr(p_call_key),
    aetheris.jstr(p_job::text || ':' || p_call_key), case when p_idempotent then 'true' else 'false' end,
    aetheris.jstr(p_tool));

  select * into ledger from aetheris.tool_calls
   where tenant_id = p_tenant and job_id = p_job and call_key = p_call_key for update;
  if not found then
    insert into aetheris.tool_calls
      (tenant_id, job_id, call_key, tool_name, args_digest, state, attempt, fencing_token, idempotent, external_key)
    values (p_tenant, p_job, p_call_key, p_tool, p_digest, 'started', v_job.attempt, p_token, p_idempotent,
            p_job::text || ':' || p_call_key)
    returning * into ledger;
    perform aetheris.append_system(p_tenant, p_job, array['aetheris.tool_call.started'], array[v_started], p_actor);
    outcome := 'execute';
    return;
  end if;

  if ledger.tool_name <> p_tool or ledger.args_digest <> p_digest then
    outcome := 'nondeterminism';
    detail := format('call %s was recorded as %s(args %s) but the handler asked for %s(args %s)',
      p_call_key, ledger.tool_name, left(encode(ledger.args_digest, 'hex'), 16), p_tool, left(encode(p_digest, 'hex'), 16));
    return;
  end if;

  if ledger.state in ('succeeded', 'resolved') or (ledger.state = 'failed' and ledger.fencing_token = p_token) then
    outcome := 'recorded';
    return;
  end if;

  if ledger.state = 'started' and ledger.fencing_token = p_token then
    outcome := 'execute';  -- the same lease asking again (its first answer was lost)
    return;
  end if;

  if ledger.state = 'failed' then
    -- A failure recorded by an earlier attempt: this attempt may run it again.
    update aetheris.tool_calls
       set state = 'started', attempt = v_job.attempt, fencing_token = p_token, error = null, finished_at = null,
           started_at = clock_timestamp()
     where tenant_id = p_tenant and job_id = p_job and call_key = p_call_key
    returning * into ledger;
    perform aetheris.append_system(p_tenant, p_job, array['aetheris.tool_call.started'], array[v_started], p_actor);
    outcome := 'execute';
    return;
  end if;

  -- Started by an attempt that died (or already in doubt): nobody knows whether it ran.
  if ledger.idempotent or p_idempotent then
    update aetheris.tool_calls
       set state = 'started', attempt = v_job.attempt, fencing_token = p_token, started_at = clock_timestamp()
     where tenant_id = p_tenant and job_id = p_job and call_key = p_call_key
    returning * into ledger;
    perform aetheris.append_system(p_tenant, p_job,
      array['aetheris.tool_call.in_doubt', 'aetheris.tool_call.started'],
      array[format('{"action":"retry","call_key":%s,"started_attempt":%s}', aetheris.jstr(p_call_key), ledger.attempt), v_started],
      p_actor);
    outcome := 'in_doubt';
    return;
  end if;
  update aetheris.tool_calls set state = 'in_doubt'
   where tenant_id = p_tenant and job_id = p_job and call_key = p_call_key
  returning * into ledger;
  update aetheris.jobs
     set state = 'parked', waiting_for = jsonb_build_object('toolCallKey', p_call_key),
         fencing_token = fencing_token + 1, lease_owner = null, lease_expires_at = null
   where tenant_id = p_tenant and job_id = p_job;
  perform aetheris.append_system(p_tenant, p_job,
    array['aetheris.tool_call.in_doubt', 'aetheris.job.parked'],
    array[format('{"action":"park","call_key":%s,"started_attempt":%s}', aetheris.jstr(p_call_key), ledger.attempt),
          format('{"waiting_for":{"tool_call_key":%s}}', aetheris.jstr(p_call_key))],
    p_actor);
  outcome := 'in_doubt';
end $$;

create function aetheris.complete_tool_call(
  p_tenant text, p_job uuid, p_token bigint, p_call_key text, p_result text, p_error text, p_actor text,
  out outcome text, out ledger aetheris.tool_calls
) language plpgsql as $$
declare
  v_lease record;
  v_lock text;
  v_job aetheris.jobs;
begin
  select * into v_lease from aetheris.lock_lease(p_tenant, p_job, p_token);
  v_lock := v_lease.outcome;
  v_job := v_lease.job;
  if v_lock <> 'ok' then
    outcome := v_lock;
    return;
  end if;
  select * into ledger from aetheris.tool_calls
   where tenant_id = p_tenant and job_id = p_job and call_key = p_call_key for update;
  if not found then
    outcome := 'not_started';
    return;
  end if;
  if ledger.fencing_token = p_token and ledger.state in ('succeeded', 'failed') then
    -- A retried completion: the same outcome is a success, another one a conflict.
    outcome := case when ledger.result is not distinct from p_result
                      and ledger.error is not distinct from p_error::jsonb then 'duplicate' else 'conflict' end;
    return;
  end if;
  if ledger.state <> 'started' or ledger.fencing_token <> p_token then
    outcome := 'not_started';
    return;
  end if;
  update aetheris.tool_calls
     set state = case when p_error is null then 'succeeded' else 'failed' end,
         result = p_result, error = p_error::jsonb, finished_at = clock_timestamp()
   where tenant_id = p_tenant and job_id = p_job and call_key = p_call_key
  returning * into ledger;
  perform aetheris.append_system(p_tenant, p_job, array['aetheris.tool_call.finished'],
    array[case when p_error is null
            then format('{"call_key":%s,"outcome":"succeeded","result_digest":%s}', aetheris.jstr(p_call_key),
                        aetheris.jstr(encode(sha256(convert_to(p_result, 'UTF8')), 'hex')))
            else format('{"call_key":%s,"error":%s,"outcome":"failed"}', aetheris.jstr(p_call_key), p_error) end],
    p_actor);
  outcome := 'completed';
end $$;

-- Returns expired leases (and attempts past their timeout) to the retry path. Safe in several
-- processes at once: each job is taken by one sweeper (SKIP LOCKED).
create function aetheris.expire_leases(p_limit integer)
returns table (tenant_id text, job_id uuid, queue text, outcome text)
language plpgsql as $$
declare
  v_job aetheris.jobs;
  v_timeout boolean;
begin
  for v_job in
    select * from aetheris.jobs j
     where j.state = 'running'
       and (j.lease_expires_at < clock_timestamp()
            or (j.attempt_timeout_us > 0
                and j.attempt_started_at + j.attempt_timeout_us * interval '1 microsecond' < clock_timestamp()))
     order by j.lease_expires_at
     limit p_limit
     for update skip locked
  loop
    v_timeout := v_job.lease_expires_at >= clock_timestamp();
    tenant_id := v_job.tenant_id;
    job_id := v_job.job_id;
    queue := v_job.queue;
    outcome := aetheris.fail_attempt(v_job.tenant_id, v_job.job_id,
      case when v_timeout
        then format('{"message":%s,"reason":"ATTEMPT_TIMEOUT"}', aetheris.jstr(format('attempt %s exceeded its timeout', v_job.attempt)))
        else format('{"message":%s,"reason":"LEASE_EXPIRED"}', aetheris.jstr(format('the lease of worker %s expired without a heartbeat', v_job.lease_owner)))
      end,
      case when v_timeout then 'attempt_timeout' else 'lease_expired' end, false, 'system');
    return next;
  end loop;
end $$;
