-- Signals and human-in-the-loop: stored idempotently, consumed exactly once into a job's history
-- by the wait at a handler position; parked waits with deadlines enforced by the sweeper;
-- in-doubt tool calls resolved by a person.

create table aetheris.signals (
  tenant_id         text not null,
  job_id            uuid not null,
  signal_id         uuid not null,
  name              text not null,
  payload           text not null,
  payload_digest    bytea not null,
  state             text not null check (state in ('pending', 'consumed')),
  sender            text not null,
  sent_at           timestamptz not null default clock_timestamp(),
  consumed_at       timestamptz,
  consumed_by_seq   bigint,
  consumed_call_key text,
  -- Idempotency is per tenant: a signal id names one signal, to one job.
  primary key (tenant_id, signal_id)
);
create index signals_pending on aetheris.signals (tenant_id, job_id, name, sent_at) where state = 'pending';

alter table aetheris.jobs add column wait_deadline timestamptz;
create index jobs_wait_deadlines on aetheris.jobs (wait_deadline) where state = 'parked' and wait_deadline is not null;

alter table aetheris.tool_calls add column deadline timestamptz;

create table aetheris.in_doubt_resolutions (
  tenant_id     text not null,
  job_id        uuid not null,
  resolution_id uuid not null,
  call_key      text not null,
  kind          text not null check (kind in ('retry', 'skip', 'fail')),
  request_digest bytea not null,
  actor         text not null,
  note          text not null,
  resolved_at   timestamptz not null default clock_timestamp(),
  event_seq     bigint not null,
  primary key (tenant_id, job_id, resolution_id)
);

-- Consumes a pending signal into the wait at `p_key`: the ledger records it (so a replay gets
-- the same signal), the history records it, the signal is marked consumed. Caller holds the job lock.
create function aetheris.consume_signal(
  p_tenant text, p_job uuid, p_key text, p_signal aetheris.signals, p_actor text
) returns aetheris.tool_calls language plpgsql as $$
declare
  v_call aetheris.tool_calls;
begin
  update aetheris.tool_calls
     set state = 'succeeded', finished_at = clock_timestamp(),
         result = format('{"name":%s,"payload":%s,"signal_id":%s}', aetheris.jstr(p_signal.name), p_signal.payload,
                         aetheris.jstr(p_signal.signal_id::text))
   where tenant_id = p_tenant and job_id = p_job and call_key = p_key
  returning * into v_call;
  perform aetheris.append_system(p_tenant, p_job, array['aetheris.signal.consumed'],
    array[format('{"call_key":%s,"name":%s,"payload":%s,"signal_id":%s}', aetheris.jstr(p_key), aetheris.jstr(p_signal.name),
                 p_signal.payload, aetheris.jstr(p_signal.signal_id::text))], p_actor);
  update aetheris.signals
     set state = 'consumed', consumed_at = clock_timestamp(), consumed_call_key = p_key,
         consumed_by_seq = (select head_seq from aetheris.jobs where tenant_id = p_tenant and job_id = p_job)
   where tenant_id = p_tenant and signal_id = p_signal.signal_id;
  return v_call;
end $$;

-- Stores a signal (idempotent on its id) and, when the job is parked waiting for that name,
-- makes it runnable. Consumption happens in await_signal, under the job lock.
create function aetheris.send_signal(
  p_tenant text, p_job uuid, p_signal uuid, p_name text, p_payload text, p_digest bytea, p_actor text,
  out outcome text, out signal aetheris.signals, out job_state text, out queue text
) language plpgsql as $$
declare
  v_job aetheris.jobs;
begin
  -- A retry first: the same signal again is a success, another one under the same id a conflict.
  select * into signal from aetheris.signals where tenant_id = p_tenant and signal_id = p_signal;
  if found then
    outcome := case when signal.job_id = p_job and signal.name = p_name and signal.payload_digest = p_digest
                    then 'duplicate' else 'conflict' end;
    select j.state into job_state from aetheris.jobs j where j.tenant_id = p_tenant and j.job_id = signal.job_id;
    return;
  end if;
  select * into v_job from aetheris.jobs where tenant_id = p_tenant and job_id = p_job for update;
  if not found then
    outcome := 'not_found';
    return;
  end if;
  if v_job.state in ('completed', 'failed', 'cancelled') then
    outcome := 'job_terminal';
    job_state := v_job.state;
    return;
  end if;
  insert into aetheris.signals (tenant_id, job_id, signal_id, name, payload, payload_digest, state, sender)
  values (p_tenant, p_job, p_signal, p_name, p_payload, p_digest, 'pending', p_actor)
  on conflict (tenant_id, signal_id) do nothing
  returning * into signal;
  if not found then
    -- A concurrent send of the same id won the race (it committed before our insert ended).
    select * into signal from aetheris.signals where tenant_id = p_tenant and signal_id = p_signal;
    outcome := case when signal.job_id = p_job and signal.name = p_name and signal.payload_digest = p_digest
                    then 'duplicate' else 'conflict' end;
    job_state := v_job.state;
    return;
  end if;
  perform aetheris.append_system(p_tenant, p_job, array['aetheris.signal.received'],
    array[format('{"name":%s,"payload_digest":%s,"signal_id":%s}', aetheris.jstr(p_name),
                 aetheris.jstr(encode(p_digest, 'hex')), aetheris.jstr(p_signal::text))], p_actor);
  if v_job.state = 'parked' and v_job.waiting_for ->> 'signalName' = p_name then
    -- The job waits for exactly this: consume now, in this transaction, and make it runnable.
    perform aetheris.consume_signal(p_tenant, p_job, v_job.waiting_for ->> 'callKey', signal, p_actor);
    select * into signal from aetheris.signals where tenant_id = p_tenant and signal_id = p_signal;
    update aetheris.jobs
       set state = 'pending', next_run_at = clock_timestamp(), waiting_for = null, wait_deadline = null
     where tenant_id = p_tenant and job_id = p_job;
    perform aetheris.append_system(p_tenant, p_job, array['aetheris.job.resumed'],
      array[format('{"cause":"signal","signal_id":%s}', aetheris.jstr(p_signal::text))], p_actor);
  end if;
  select state, aetheris.jobs.queue into job_state, queue from aetheris.jobs where tenant_id = p_tenant and job_id = p_job;
  outcome := 'sent';
end $$;

-- The wait at a handler position (see AwaitSignal in runtime_service.proto).
create function aetheris.await_signal(
  p_tenant text, p_job uuid, p_token bigint, p_key text, p_name text, p_timeout_ms bigint, p_actor text,
  out outcome text, out ledger aetheris.tool_calls, out detail text
) language plpgsql as $$
declare
  v_lease record;
  v_job aetheris.jobs;
  v_digest bytea := sha256(convert_to(format('{"name":%s}', aetheris.jstr(p_name)), 'UTF8'));
  v_signal aetheris.signals;
begin
  select * into v_lease from aetheris.lock_lease(p_tenant, p_job, p_token);
  if v_lease.outcome <> 'ok' then
    outcome := v_lease.outcome;
    return;
  end if;
  v_job := v_lease.job;

  select * into ledger from aetheris.tool_calls
   where tenant_id = p_tenant and job_id = p_job and call_key = p_key for update;
  if found then
    if ledger.tool_name <> 'aetheris.signal' or ledger.args_digest <> v_digest then
      outcome := 'nondeterminism';
      detail := format('call %s was recorded as %s but the handler waits for signal %s', p_key, ledger.tool_name, p_name);
      return;
    end if;
    if ledger.state = 'succeeded' then
      outcome := case when ledger.result = '{"timed_out":true}' then 'timed_out' else 'received' end;
      return;
    end if;
  else
    -- The first time at this key fixes the deadline; replays keep it.
    insert into aetheris.tool_calls
      (tenant_id, job_id, call_key, tool_name, args_digest, state, attempt, fencing_token, idempotent, external_key, deadline)
    values (p_tenant, p_job, p_key, 'aetheris.signal', v_digest, 'started', v_job.attempt, p_token, true,
            p_job::text || ':' || p_key,
            case when p_timeout_ms > 0 then clock_timestamp() + p_timeout_ms * interval '1 millisecond' end)
    returning * into ledger;
  end if;

  -- Exactly-once consumption: the oldest pending signal of that name, under the job lock.
  select * into v_signal from aetheris.signals
   where tenant_id = p_tenant and job_id = p_job and name = p_name and state = 'pending'
   order by sent_at, signal_id limit 1 for update;
  if found then
    ledger := aetheris.consume_signal(p_tenant, p_job, p_key, v_signal, p_actor);
    outcome := 'received';
    return;
  end if;

  if ledger.deadline is not null and ledger.deadline <= clock_timestamp() then
    update aetheris.tool_calls
       set state = 'succeeded', result = '{"timed_out":true}', attempt = v_job.attempt, fencing_token = p_token,
           finished_at = clock_timestamp()
     where tenant_id = p_tenant and job_id = p_job and call_key = p_key
    returning * into ledger;
    perform aetheris.append_system(p_tenant, p_job, array['aetheris.signal.timed_out'],
      array[format('{"call_key":%s,"name":%s}', aetheris.jstr(p_key), aetheris.jstr(p_name))], p_actor);
    outcome := 'timed_out';
    return;
  end if;

  -- Nothing yet: park. The job holds no lease and costs nothing until a signal or the deadline.
  update aetheris.jobs
     set state = 'parked', fencing_token = fencing_token + 1, lease_owner = null, lease_expires_at = null,
         attempt = attempt - 1,
         waiting_for = jsonb_strip_nulls(jsonb_build_object('signalName', p_name, 'callKey', p_key,
                         'deadlineUs', aetheris.to_us(ledger.deadline)::text)),
         wait_deadline = ledger.deadline
   where tenant_id = p_tenant and job_id = p_job;
  perform aetheris.append_system(p_tenant, p_job, array['aetheris.job.parked'],
    array[format('{"waiting_for":{"call_key":%s,"deadline_us":%s,"signal_name":%s}}', aetheris.jstr(p_key),
                 coalesce(aetheris.to_us(ledger.deadline)::text, 'null'), aetheris.jstr(p_name))], p_actor);
  outcome := 'parked';
end $$;

-- Parked waits past their deadline become runnable; the worker then records the timeout.
create function aetheris.wake_overdue_waits(p_limit integer)
returns table (tenant_id text, job_id uuid, queue text)
language plpgsql as $$
declare
  v_job aetheris.jobs;
begin
  for v_job in
    select * from aetheris.jobs j
     where j.state = 'parked' and j.wait_deadline is not null and j.wait_deadline <= clock_timestamp()
     order by j.wait_deadline limit p_limit
     for update skip locked
  loop
    update aetheris.jobs j
       set state = 'pending', next_run_at = clock_timestamp(), waiting_for = null, wait_deadline = null
     where j.tenant_id = v_job.tenant_id and j.job_id = v_job.job_id;
    perform aetheris.append_system(v_job.tenant_id, v_job.job_id, array['aetheris.job.resumed'],
      array['{"cause":"wait_deadline"}'], 'system');
    tenant_id := v_job.tenant_id;
    job_id := v_job.job_id;
    queue := v_job.queue;
    return next;
  end loop;
end $$;

-- A person's decision on an in-doubt tool call of a parked job (idempotent on resolution_id).
create function aetheris.resolve_in_doubt(
  p_tenant text, p_job uuid, p_key text, p_resolution uuid, p_kind text, p_result text, p_error text,
  p_fail_job boolean, p_note text, p_request_digest bytea, p_actor text,
  out outcome text, out ledger aetheris.tool_calls, out job aetheris.jobs, out resolution aetheris.in_doubt_resolutions
) language plpgsql as $$
declare
  v_event_seq bigint;
begin
  select * into job from aetheris.jobs where tenant_id = p_tenant and job_id = p_job for update;
  if not found then
    outcome := 'not_found';
    return;
  end if;
  select * into resolution from aetheris.in_doubt_resolutions
   where tenant_id = p_tenant and job_id = p_job and resolution_id = p_resolution;
  if found then
    outcome := case when resolution.request_digest = p_request_digest then 'duplicate' else 'conflict' end;
    select * into ledger from aetheris.tool_calls where tenant_id = p_tenant and job_id = p_job and call_key = resolution.call_key;
    return;
  end if;
  select * into ledger from aetheris.tool_calls
   where tenant_id = p_tenant and job_id = p_job and call_key = p_key for update;
  if not found then
    outcome := 'call_not_found';
    return;
  end if;
  if job.state in ('completed', 'failed', 'cancelled') then
    outcome := 'job_terminal';
    return;
  end if;
  if ledger.state <> 'in_doubt' or job.state <> 'parked' then
    outcome := 'not_in_doubt';
    return;
  end if;

  if p_kind = 'retry' then
    -- Recorded as failed by the dead attempt: the next attempt re-arms it (same external key).
    update aetheris.tool_calls
       set state = 'failed', error = '{"message":"a person chose to run it again","reason":"RESOLVED_RETRY"}'::jsonb,
           finished_at = clock_timestamp()
     where tenant_id = p_tenant and job_id = p_job and call_key = p_key returning * into ledger;
  else
    update aetheris.tool_calls
       set state = 'resolved', result = p_result, error = p_error::jsonb, finished_at = clock_timestamp()
     where tenant_id = p_tenant and job_id = p_job and call_key = p_key returning * into ledger;
  end if;
  perform aetheris.append_system(p_tenant, p_job, array['aetheris.tool_call.resolved'],
    array[format('{"action":%s,"call_key":%s,"error":%s,"note":%s,"resolution_id":%s,"result":%s}',
      aetheris.jstr(p_kind), aetheris.jstr(p_key), coalesce(p_error, 'null'), aetheris.jstr(p_note),
      aetheris.jstr(p_resolution::text), coalesce(p_result, 'null'))], p_actor);
  select head_seq into v_event_seq from aetheris.jobs where tenant_id = p_tenant and job_id = p_job;

  if p_kind = 'fail' and p_fail_job then
    update aetheris.jobs
       set state = 'failed', last_error = p_error::jsonb, finished_at = clock_timestamp(), waiting_for = null
     where tenant_id = p_tenant and job_id = p_job;
    perform aetheris.append_system(p_tenant, p_job, array['aetheris.job.failed'],
      array[format('{"attempts":%s,"cause":"resolved_in_doubt","error":%s}', job.attempt, p_error)], p_actor);
  else
    update aetheris.jobs
       set state = 'pending', next_run_at = clock_timestamp(), waiting_for = null
     where tenant_id = p_tenant and job_id = p_job;
    perform aetheris.append_system(p_tenant, p_job, array['aetheris.job.resumed'],
      array[format('{"cause":"in_doubt_resolved","resolution_id":%s}', aetheris.jstr(p_resolution::text))], p_actor);
  end if;

  insert into aetheris.in_doubt_resolutions
    (tenant_id, job_id, resolution_id, call_key, kind, request_digest, actor, note, event_seq)
  values (p_tenant, p_job, p_resolution, p_key, p_kind, p_request_digest, p_actor, p_note, v_event_seq)
  returning * into resolution;
  select * into job from aetheris.jobs where tenant_id = p_tenant and job_id = p_job;
  outcome := 'resolved';
end $$;
