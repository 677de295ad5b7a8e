-- Group commit for AppendEvents writes a batch in three statements instead of four or five per
-- request. The batch called append_events once per request: a lock of the job row, a probe for
-- client-chosen ids, then insert_events_locked's insert and head update, each statement with its
-- own executor. Now the job rows are locked in one statement (in request order: the server sorts
-- requests by tenant and job, so concurrent batches still lock in one global order), each
-- request's outcome and chain links are computed in memory (a job's consecutive requests carry
-- its head forward), and the events of the batch are inserted, and the heads moved, in one
-- statement each. Outcomes and links are unchanged: a request naming its own event ids still goes
-- through append_events (its probe for a retried append), after what is pending is written, so
-- that it reads the head the batch left. A job named again after other jobs in one batch (never
-- sent: requests arrive sorted) would start from its locked head and collide on seq: the batch
-- fails whole and the server writes its requests one by one.
create function aetheris.write_appended(
  p_tenants text[], p_jobs uuid[], p_seqs bigint[], p_ids uuid[], p_types text[], p_payloads text[],
  p_digests bytea[], p_actors text[], p_prevs bytea[], p_hashes bytea[],
  p_head_tenants text[], p_head_jobs uuid[], p_head_seqs bigint[], p_head_hashes bytea[], p_now timestamptz
) returns void language plpgsql as $$
begin
  insert into aetheris.events
    (tenant_id, job_id, seq, event_id, type, payload, payload_digest, actor, recorded_at, prev_hash, hash)
  select u.tenant, u.job, u.seq, u.id, u.type, u.payload, u.digest, u.actor, p_now, u.prev, u.hash
    from unnest(p_tenants, p_jobs, p_seqs, p_ids, p_types, p_payloads, p_digests, p_actors, p_prevs, p_hashes)
         with ordinality as u(tenant, job, seq, id, type, payload, digest, actor, prev, hash, ord)
   order by u.ord;
  update aetheris.jobs j
     set head_seq = h.seq, head_hash = h.hash, updated_at = p_now
    from unnest(p_head_tenants, p_head_jobs, p_head_seqs, p_head_hashes) as h(tenant, job, seq, hash)
   where j.tenant_id = h.tenant and j.job_id = h.job;
end $$;

do $do$
begin
  execute format($fn$
create or replace function aetheris.append_events_batch(
  p_tenants text[], p_jobs uuid[], p_expected_seqs bigint[], p_fencing_tokens bigint[],
  p_actors text[], p_counts integer[],
  p_event_ids uuid[], p_types text[], p_payloads text[], p_digests bytea[]
) returns table (
  ord integer, outcome text, first_seq bigint, last_seq bigint, last_hash bytea, actual_seq bigint
) language plpgsql as $$
declare
  v_n integer := cardinality(p_jobs);
  v_now timestamptz := clock_timestamp();
  v_ms bytea := substring(int8send((extract(epoch from v_now) * 1000)::int8) from 3);
  v_us bytea := int8send(aetheris.to_us(v_now));
  -- 'aetheris.event.v1' (docs/hash-chain.md)
  v_tag bytea := '\x61657468657269732e6576656e742e7631'::bytea;
  -- Each request's job row as locked (null: no such job).
  l_state text[] := array_fill(null::text, array[v_n]);
  l_token bigint[] := array_fill(null::bigint, array[v_n]);
  l_seq bigint[] := array_fill(null::bigint, array[v_n]);
  l_hash bytea[] := array_fill(null::bytea, array[v_n]);
  -- The job appended to and its head, carried across its consecutive requests.
  v_tenant text;
  v_job uuid;
  v_seq bigint;
  v_h bytea;
  v_fixed bytea;
  v_tenant_bytes bytea;
  v_actor_bytes bytea;
  v_type bytea;
  v_id uuid;
  -- What is pending: events, and each job's new head.
  w_tenants text[] := '{}'; w_jobs uuid[] := '{}'; w_seqs bigint[] := '{}'; w_ids uuid[] := '{}';
  w_types text[] := '{}'; w_payloads text[] := '{}'; w_digests bytea[] := '{}'; w_actors text[] := '{}';
  w_prevs bytea[] := '{}'; w_hashes bytea[] := '{}';
  h_tenants text[] := '{}'; h_jobs uuid[] := '{}'; h_seqs bigint[] := '{}'; h_hashes bytea[] := '{}';
  v_heads integer := 0;
  v_from integer := 1;
  v_to integer;
  r record;
begin
  for r in
    select u.ord, j.state, j.fencing_token, j.head_seq, j.head_hash
      from unnest(p_tenants, p_jobs) with ordinality as u(tenant, job, ord)
      join aetheris.jobs j on j.tenant_id = u.tenant and j.job_id = u.job
     order by u.ord
       for update of j
  loop
    l_state[r.ord] := r.state;
    l_token[r.ord] := r.fencing_token;
    l_seq[r.ord] := r.head_seq;
    l_hash[r.ord] := r.head_hash;
  end loop;

  for i in 1..v_n loop
    v_to := v_from + p_counts[i] - 1;
    ord := i;
    first_seq := null;
    last_seq := null;
    last_hash := null;
    actual_seq := null;
    if v_job is distinct from p_jobs[i] or v_tenant is distinct from p_tenants[i] then
      v_tenant := p_tenants[i];
      v_job := p_jobs[i];
      v_seq := l_seq[i];
      v_h := l_hash[i];
    end if;
    if l_state[i] is null then
      outcome := 'not_found';
    elsif cardinality(array_remove(p_event_ids[v_from:v_to], null)) > 0 then
      -- Client-chosen ids: the one-call path, once what is pending is written.
      if cardinality(w_ids) > 0 or v_heads > 0 then
        perform aetheris.write_appended(w_tenants, w_jobs, w_seqs, w_ids, w_types, w_payloads, w_digests, w_actors,
                                        w_prevs, w_hashes, h_tenants, h_jobs, h_seqs, h_hashes, v_now);
        w_tenants := '{}'; w_jobs := '{}'; w_seqs := '{}'; w_ids := '{}'; w_types := '{}'; w_payloads := '{}';
        w_digests := '{}'; w_actors := '{}'; w_prevs := '{}'; w_hashes := '{}';
        h_tenants := '{}'; h_jobs := '{}'; h_seqs := '{}'; h_hashes := '{}';
        v_heads := 0;
      end if;
      r := aetheris.append_events(v_tenant, v_job, p_expected_seqs[i], p_fencing_tokens[i],
        p_event_ids[v_from:v_to], p_types[v_from:v_to], p_payloads[v_from:v_to], p_digests[v_from:v_to],
        p_actors[i]);
      outcome := r.outcome;
      first_seq := r.first_seq;
      last_seq := r.last_seq;
      last_hash := r.last_hash;
      actual_seq := r.actual_seq;
      if r.outcome = 'appended' then
        v_seq := r.last_seq;
        v_h := r.last_hash;
      end if;
    else
      actual_seq := v_seq;
      if p_fencing_tokens[i] is not null
         and (l_token[i] <> p_fencing_tokens[i] or l_state[i] <> 'running') then
        outcome := 'lease_lost';
      elsif l_state[i] in ('completed', 'failed', 'cancelled') then
        outcome := 'job_terminal';
      elsif p_expected_seqs[i] is not null and p_expected_seqs[i] <> v_seq then
        outcome := 'wrong_expected_seq';
      else
        first_seq := v_seq + 1;
        -- The link's fields that are the same for the whole request, encoded once.
        v_fixed := v_us || uuid_send(v_job);
        v_tenant_bytes := int4send(octet_length(convert_to(v_tenant, 'UTF8'))) || convert_to(v_tenant, 'UTF8');
        v_actor_bytes := int4send(octet_length(convert_to(p_actors[i], 'UTF8'))) || convert_to(p_actors[i], 'UTF8');
        for k in v_from..v_to loop
          v_id := %s;
          v_seq := v_seq + 1;
          v_type := convert_to(p_types[k], 'UTF8');
          w_prevs := array_append(w_prevs, v_h);
          v_h := sha256(v_h || v_tag || int8send(v_seq) || v_fixed || uuid_send(v_id) || v_tenant_bytes
                        || int4send(octet_length(v_type)) || v_type || v_actor_bytes || p_digests[k]);
          w_tenants := array_append(w_tenants, v_tenant);
          w_jobs := array_append(w_jobs, v_job);
          w_seqs := array_append(w_seqs, v_seq);
          w_ids := array_append(w_ids, v_id);
          w_types := array_append(w_types, p_types[k]);
          w_payloads := array_append(w_payloads, p_payloads[k]);
          w_digests := array_append(w_digests, p_digests[k]);
          w_actors := array_append(w_actors, p_actors[i]);
          w_hashes := array_append(w_hashes, v_h);
        end loop;
        -- One head per job: a job's requests are consecutive, so only the last one can be its.
        if v_heads > 0 and h_jobs[v_heads] = v_job and h_tenants[v_heads] = v_tenant then
          h_seqs[v_heads] := v_seq;
          h_hashes[v_heads] := v_h;
        else
          v_heads := v_heads + 1;
          h_tenants[v_heads] := v_tenant;
          h_jobs[v_heads] := v_job;
          h_seqs[v_heads] := v_seq;
          h_hashes[v_heads] := v_h;
        end if;
        last_seq := v_seq;
        last_hash := v_h;
        outcome := 'appended';
      end if;
    end if;
    return next;
    v_from := v_to + 1;
  end loop;

  if cardinality(w_ids) > 0 or v_heads > 0 then
    perform aetheris.write_appended(w_tenants, w_jobs, w_seqs, w_ids, w_types, w_payloads, w_digests, w_actors,
                                    w_prevs, w_hashes, h_tenants, h_jobs, h_seqs, h_hashes, v_now);
  end if;
end $$;
$fn$, case when current_setting('server_version_num')::int >= 180000 then 'uuidv7()'
            else 'encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) placing v_ms from 1 for 6), 52, 1), 53, 1), ''hex'')::uuid'
       end);
end $do$;
