-- Aetheris event store: tenants, API keys, jobs (a projection) and events (the authority).
-- Every table leads its keys with tenant_id so that it can be distributed by tenant.

create table aetheris.tenants (
  tenant_id  text primary key check (tenant_id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  created_at timestamptz not null default now()
);

create table aetheris.api_keys (
  tenant_id   text not null references aetheris.tenants (tenant_id),
  key_id      text not null,
  name        text not null,
  role        text not null check (role in ('admin', 'operator', 'worker', 'reader')),
  secret_hash bytea not null,
  created_at  timestamptz not null default now(),
  revoked_at  timestamptz,
  primary key (tenant_id, key_id)
);
-- Authentication resolves a token's key id before the tenant is known; key ids are random.
create unique index api_keys_key_id on aetheris.api_keys (key_id);

create table aetheris.jobs (
  tenant_id          text not null,
  job_id             uuid not null,
  job_type           text not null,
  queue              text not null,
  state              text not null check (state in
                       ('pending', 'running', 'parked', 'retrying', 'completed', 'failed', 'cancelled')),
  input              text not null,
  output             text,
  last_error         jsonb,
  attempt            integer not null default 0,
  max_attempts       integer not null,
  priority           integer not null default 0,
  idempotency_key    text,
  request_digest     bytea,
  fencing_token      bigint not null default 0,
  lease_owner        text,
  lease_expires_at   timestamptz,
  next_run_at        timestamptz not null,
  head_seq           bigint not null default 0,
  head_hash          bytea not null,
  waiting_for        jsonb,
  labels             jsonb not null default '{}',
  retry_policy       jsonb not null,
  attempt_timeout_us bigint not null default 0,
  created_at         timestamptz not null default clock_timestamp(),
  updated_at         timestamptz not null default clock_timestamp(),
  finished_at        timestamptz,
  primary key (tenant_id, job_id)
);
create unique index jobs_idempotency_key on aetheris.jobs (tenant_id, idempotency_key)
  where idempotency_key is not null;
create index jobs_by_created on aetheris.jobs (tenant_id, created_at desc, job_id desc);
create index jobs_runnable on aetheris.jobs (tenant_id, queue, priority desc, next_run_at)
  where state in ('pending', 'retrying');

create sequence aetheris.event_position as bigint;

create table aetheris.events (
  tenant_id      text not null,
  job_id         uuid not null,
  seq            bigint not null,
  -- Global order: (tx_id, position). Readers only pass transactions older than the snapshot
  -- xmin, so a transaction that commits late can never be skipped.
  tx_id          xid8 not null default pg_current_xact_id(),
  position       bigint not null default nextval('aetheris.event_position'),
  event_id       uuid not null,
  type           text not null,
  payload        text not null,
  payload_digest bytea not null,
  actor          text not null,
  recorded_at    timestamptz not null,
  prev_hash      bytea not null,
  hash           bytea not null,
  primary key (tenant_id, job_id, seq),
  unique (tenant_id, job_id, event_id)
);
create index events_global_order on aetheris.events (tenant_id, tx_id, position);

-- Events are immutable: history is never rewritten in place.
create function aetheris.reject_event_update() returns trigger language plpgsql as $$
begin
  raise exception 'aetheris.events is append-only' using errcode = '55000';
end $$;
create trigger events_append_only before update on aetheris.events
  for each row execute function aetheris.reject_event_update();

-- Microseconds since the Unix epoch (exact: extract returns numeric).
create function aetheris.to_us(ts timestamptz) returns bigint
  language sql immutable parallel safe
  return (extract(epoch from ts) * 1000000)::bigint;

-- The chain link of docs/hash-chain.md, byte for byte.
create function aetheris.chain_hash(
  prev bytea, seq bigint, recorded_us bigint, job uuid, event uuid,
  tenant text, type text, actor text, digest bytea
) returns bytea language sql immutable parallel safe
return sha256(
  prev || '\x61657468657269732e6576656e742e7631'::bytea  -- 'aetheris.event.v1'
  || int8send(seq) || int8send(recorded_us) || uuid_send(job) || uuid_send(event)
  || int4send(octet_length(convert_to(tenant, 'UTF8'))) || convert_to(tenant, 'UTF8')
  || int4send(octet_length(convert_to(type, 'UTF8'))) || convert_to(type, 'UTF8')
  || int4send(octet_length(convert_to(actor, 'UTF8'))) || convert_to(actor, 'UTF8')
  || digest);

-- Inserts a batch after the caller has locked the job row; returns the new head.
-- Chains in a loop (each link needs the previous), inserts in one statement.
create function aetheris.insert_events_locked(
  p_tenant text, p_job uuid, p_head_seq bigint, p_head_hash bytea,
  p_event_ids uuid[], p_types text[], p_payloads text[], p_digests bytea[], p_actor text,
  out new_seq bigint, out new_hash bytea
) language plpgsql as $$
declare
  v_n integer := cardinality(p_types);
  v_now timestamptz := clock_timestamp();
  v_us bigint := aetheris.to_us(v_now);
  v_ids uuid[] := p_event_ids;
  v_prev bytea[] := array[]::bytea[];
  v_hash bytea[] := array[]::bytea[];
  v_h bytea := p_head_hash;
begin
  for i in 1..v_n loop
    if v_ids[i] is null then
      v_ids[i] := gen_random_uuid();
    end if;
    v_prev := array_append(v_prev, v_h);
    v_h := aetheris.chain_hash(v_h, p_head_seq + i, v_us, p_job, v_ids[i], p_tenant,
                               p_types[i], p_actor, p_digests[i]);
    v_hash := array_append(v_hash, v_h);
  end loop;

  insert into aetheris.events
    (tenant_id, job_id, seq, event_id, type, payload, payload_digest, actor, recorded_at,
     prev_hash, hash)
  select p_tenant, p_job, p_head_seq + u.ord, u.id, u.type, u.payload, u.digest, p_actor, v_now,
         u.prev, u.hash
  from unnest(v_ids, p_types, p_payloads, p_digests, v_prev, v_hash)
       with ordinality as u(id, type, payload, digest, prev, hash, ord)
  order by u.ord;

  update aetheris.jobs set head_seq = p_head_seq + v_n, head_hash = v_h,
         updated_at = v_now
   where tenant_id = p_tenant and job_id = p_job;

  new_seq := p_head_seq + v_n;
  new_hash := v_h;
end $$;

-- One-call append: lock the head, check idempotency, fencing, state and expected seq, chain,
-- insert, move the head. Outcomes are values, not exceptions (no savepoints on the hot path).
create function aetheris.append_events(
  p_tenant text, p_job uuid, p_expected_seq bigint, p_fencing_token bigint,
  p_event_ids uuid[], p_types text[], p_payloads text[], p_digests bytea[], p_actor text,
  out outcome text, out first_seq bigint, out last_seq bigint, out last_hash bytea,
  out actual_seq bigint
) language plpgsql as $$
declare
  v_job aetheris.jobs%rowtype;
  v_n integer := cardinality(p_types);
  v_found integer;
  v_matching integer;
  v_min bigint;
  v_max bigint;
begin
  select * into v_job from aetheris.jobs
   where tenant_id = p_tenant and job_id = p_job for update;
  if not found then
    outcome := 'not_found';
    return;
  end if;
  actual_seq := v_job.head_seq;

  -- A retried append (same client event ids) succeeds with the original seqs. Only probed
  -- when the client chose ids: server-generated ids are fresh.
  if exists (select 1 from unnest(p_event_ids) as x(id) where x.id is not null) then
    select count(*), min(e.seq), max(e.seq) into v_found, v_min, v_max
      from aetheris.events e
     where e.tenant_id = p_tenant and e.job_id = p_job and e.event_id = any(p_event_ids);
    if v_found > 0 then
      select count(*) into v_matching
        from unnest(p_event_ids, p_types, p_digests) with ordinality as i(id, type, digest, ord)
        join aetheris.events e
          on e.tenant_id = p_tenant and e.job_id = p_job and e.event_id = i.id
       where e.seq = v_min + i.ord - 1 and e.type = i.type and e.payload_digest = i.digest;
      if v_found = v_n and v_matching = v_n then
        outcome := 'duplicate';
        first_seq := v_min;
        last_seq := v_max;
        select e.hash into last_hash from aetheris.events e
         where e.tenant_id = p_tenant and e.job_id = p_job and e.seq = v_max;
      else
        outcome := 'idempotency_conflict';
      end if;
      return;
    end if;
  end if;

  if p_fencing_token is not null
     and (v_job.fencing_token <> p_fencing_token or v_job.state <> 'running') then
    outcome := 'lease_lost';
    return;
  end if;
  if v_job.state in ('completed', 'failed', 'cancelled') then
    outcome := 'job_terminal';
    return;
  end if;
  if p_expected_seq is not null and p_expected_seq <> v_job.head_seq then
    outcome := 'wrong_expected_seq';
    return;
  end if;

  select s.new_seq, s.new_hash into last_seq, last_hash
    from aetheris.insert_events_locked(p_tenant, p_job, v_job.head_seq, v_job.head_hash,
                                       p_event_ids, p_types, p_payloads, p_digests, p_actor) s;
  first_seq := v_job.head_seq + 1;
  outcome := 'appended';
end $$;

-- Creates a job and its `aetheris.job.created` event in one call. With an idempotency key a
-- concurrent or repeated create returns the existing job (or a conflict if the request differs).
create function aetheris.create_job(
  p_tenant text, p_job uuid, p_job_type text, p_queue text, p_input text, p_priority integer,
  p_max_attempts integer, p_retry_policy jsonb, p_labels jsonb, p_idempotency_key text,
  p_request_digest bytea, p_next_run_at timestamptz, p_attempt_timeout_us bigint,
  p_event_id uuid, p_payload text, p_digest bytea, p_actor text,
  out outcome text, out job aetheris.jobs
) language plpgsql as $$
declare
  v_inserted uuid;
begin
  insert into aetheris.jobs
    (tenant_id, job_id, job_type, queue, state, input, max_attempts, priority, idempotency_key,
     request_digest, next_run_at, head_hash, labels, retry_policy, attempt_timeout_us)
  values
    (p_tenant, p_job, p_job_type, p_queue, 'pending', p_input, p_max_attempts, p_priority,
     p_idempotency_key, p_request_digest, coalesce(p_next_run_at, clock_timestamp()),
     '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea,
     p_labels, p_retry_policy, p_attempt_timeout_us)
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

-- Cancels a job that is not finished, fencing off its lease, with its event, in one call.
create function aetheris.cancel_job(
  p_tenant text, p_job uuid, p_event_id uuid, p_payload text, p_digest bytea, p_actor text,
  out outcome text, out job aetheris.jobs
) language plpgsql as $$
begin
  select * into job from aetheris.jobs
   where tenant_id = p_tenant and job_id = p_job for update;
  if not found then
    outcome := 'not_found';
    return;
  end if;
  if job.state = 'cancelled' then
    outcome := 'already_cancelled';
    return;
  end if;
  if job.state in ('completed', 'failed') then
    outcome := 'job_terminal';
    return;
  end if;
  update aetheris.jobs
     set state = 'cancelled', fencing_token = fencing_token + 1, lease_owner = null,
         lease_expires_at = null, waiting_for = null, finished_at = clock_timestamp()
   where tenant_id = p_tenant and job_id = p_job;
  perform aetheris.insert_events_locked(p_tenant, p_job, job.head_seq, job.head_hash,
    array[p_event_id], array['aetheris.job.cancelled'], array[p_payload], array[p_digest], p_actor);
  select * into job from aetheris.jobs where tenant_id = p_tenant and job_id = p_job;
  outcome := 'cancelled';
end $$;
