-- Group commit for BeginToolCall starts a batch's new calls in a few statements instead of five
-- per request (as 0020 did for CompleteToolCall). Job rows are locked in one statement, in request
-- order; the ledger rows the batch names are looked up in one; every new call of a live lease is
-- inserted into the ledger in one statement; the started events are chained in memory at each
-- job's head and written with the heads by write_appended. A job any of whose requests names a
-- call already in its ledger (a replay, a retry, a call in doubt) takes the one-call path for all
-- of its requests, in order, once what is pending is written: those paths can park the job or
-- move its fencing token, which the requests after them must see. Outcomes, ledger rows and events
-- are unchanged.
do $do$
begin
  execute format($fn$
create or replace function aetheris.begin_tool_call_batch(
  p_tenants text[], p_jobs uuid[], p_tokens bigint[], p_call_keys text[], p_tools text[],
  p_digests bytea[], p_idempotent boolean[], p_actors text[]
) returns table (ord integer, outcome text, ledger aetheris.tool_calls, detail text)
language plpgsql as $$
declare
  v_n integer := cardinality(p_jobs);
  v_now timestamptz := clock_timestamp();
  v_ms bytea := substring(int8send((extract(epoch from v_now) * 1000)::int8) from 3);
  v_us bigint := aetheris.to_us(v_now);
  -- Each request's job row as locked (null: no such job).
  l_state text[] := array_fill(null::text, array[v_n]);
  l_token bigint[] := array_fill(null::bigint, array[v_n]);
  l_attempt integer[] := array_fill(null::integer, array[v_n]);
  l_seq bigint[] := array_fill(null::bigint, array[v_n]);
  l_hash bytea[] := array_fill(null::bytea, array[v_n]);
  -- Requests taking the one-call path, and the ledger rows the batch inserted (by request).
  l_slow boolean[] := array_fill(false, array[v_n]);
  l_new aetheris.tool_calls[] := array_fill(null::aetheris.tool_calls, array[v_n]);
  v_keys text[];
  v_tenant text;
  v_job uuid;
  v_seq bigint;
  v_h bytea;
  v_id uuid;
  v_payload text;
  v_digest bytea;
  w_tenants text[] := '{}'; w_jobs uuid[] := '{}'; w_seqs bigint[] := '{}'; w_ids uuid[] := '{}';
  w_types text[] := '{}'; w_payloads text[] := '{}'; w_digests bytea[] := '{}'; w_actors text[] := '{}';
  w_prevs bytea[] := '{}'; w_hashes bytea[] := '{}';
  h_tenants text[] := '{}'; h_jobs uuid[] := '{}'; h_seqs bigint[] := '{}'; h_hashes bytea[] := '{}';
  v_heads integer := 0;
  r record;
begin
  for r in
    select u.ord, j.state, j.fencing_token, j.attempt, j.head_seq, j.head_hash
      from unnest(p_tenants, p_jobs) with ordinality as u(tenant, job, ord)
      join aetheris.jobs j on j.tenant_id = u.tenant and j.job_id = u.job
     order by u.ord
       for update of j
  loop
    l_state[r.ord] := r.state;
    l_token[r.ord] := r.fencing_token;
    l_attempt[r.ord] := r.attempt;
    l_seq[r.ord] := r.head_seq;
    l_hash[r.ord] := r.head_hash;
  end loop;

  -- A call already in a ledger sends every request of its job down the one-call path.
  for r in
    select distinct u.tenant, u.job
      from unnest(p_tenants, p_jobs, p_call_keys) as u(tenant, job, call_key)
      join aetheris.tool_calls t on t.tenant_id = u.tenant and t.job_id = u.job and t.call_key = u.call_key
  loop
    for i in 1..v_n loop
      if p_jobs[i] = r.job and p_tenants[i] = r.tenant then
        l_slow[i] := true;
      end if;
    end loop;
  end loop;

  -- Every new call of a live lease, in one statement (a key named twice in one batch collides on
  -- the ledger's key: the batch fails whole and the server writes its requests one by one).
  v_keys := array(select p_tenants[i] || '/' || p_jobs[i]::text || '/' || p_call_keys[i] from generate_subscripts(p_jobs, 1) as i);
  for r in
    insert into aetheris.tool_calls as t
      (tenant_id, job_id, call_key, tool_name, args_digest, state, attempt, fencing_token, idempotent, external_key,
       started_at)
    select u.tenant, u.job, u.call_key, u.tool, u.digest, 'started', l_attempt[u.ord], u.token, u.idempotent,
           u.job::text || ':' || u.call_key, v_now
      from unnest(p_tenants, p_jobs, p_tokens, p_call_keys, p_tools, p_digests, p_idempotent)
           with ordinality as u(tenant, job, token, call_key, tool, digest, idempotent, ord)
     where not l_slow[u.ord] and l_state[u.ord] = 'running' and l_token[u.ord] = u.token
     order by u.ord
    returning t
  loop
    l_new[array_position(v_keys, (r.t).tenant_id || '/' || (r.t).job_id::text || '/' || (r.t).call_key)] := r.t;
  end loop;

  for i in 1..v_n loop
    ord := i;
    ledger := null;
    detail := null;
    if v_job is distinct from p_jobs[i] or v_tenant is distinct from p_tenants[i] then
      v_tenant := p_tenants[i];
      v_job := p_jobs[i];
      v_seq := l_seq[i];
      v_h := l_hash[i];
    end if;
    if l_state[i] is null then
      outcome := 'not_found';
    elsif l_slow[i] then
      -- The one-call path, once what is pending is written.
      if v_heads > 0 then
        perform aetheris.write_appended(w_tenants, w_jobs, w_seqs, w_ids, w_types, w_payloads, w_digests, w_actors,
                                        w_prevs, w_hashes, h_tenants, h_jobs, h_seqs, h_hashes, v_now);
        w_tenants := '{}'; w_jobs := '{}'; w_seqs := '{}'; w_ids := '{}'; w_types := '{}'; w_payloads := '{}';
        w_digests := '{}'; w_actors := '{}'; w_prevs := '{}'; w_hashes := '{}';
        h_tenants := '{}'; h_jobs := '{}'; h_seqs := '{}'; h_hashes := '{}';
        v_heads := 0;
      end if;
      r := aetheris.begin_tool_call(p_tenants[i], p_jobs[i], p_tokens[i], p_call_keys[i], p_tools[i],
                                    p_digests[i], p_idempotent[i], p_actors[i]);
      outcome := r.outcome;
      ledger := r.ledger;
      detail := r.detail;
    elsif l_token[i] <> p_tokens[i] or l_state[i] <> 'running' then
      outcome := 'lease_lost';
    else
      ledger := l_new[i];
      v_payload := format('{"args_digest":%%s,"attempt":%%s,"call_key":%%s,"external_key":%%s,"idempotent":%%s,"tool":%%s}',
        aetheris.jstr(encode(p_digests[i], 'hex')), l_attempt[i], aetheris.jstr(p_call_keys[i]),
        aetheris.jstr(p_jobs[i]::text || ':' || p_call_keys[i]), case when p_idempotent[i] then 'true' else 'false' end,
        aetheris.jstr(p_tools[i]));
      v_digest := sha256(convert_to(v_payload, 'UTF8'));
      v_id := %s;
      v_seq := v_seq + 1;
      w_prevs := array_append(w_prevs, v_h);
      v_h := aetheris.chain_hash(v_h, v_seq, v_us, v_job, v_id, v_tenant, 'aetheris.tool_call.started',
                                 p_actors[i], v_digest);
      w_tenants := array_append(w_tenants, v_tenant);
      w_jobs := array_append(w_jobs, v_job);
      w_seqs := array_append(w_seqs, v_seq);
      w_ids := array_append(w_ids, v_id);
      w_types := array_append(w_types, 'aetheris.tool_call.started');
      w_payloads := array_append(w_payloads, v_payload);
      w_digests := array_append(w_digests, v_digest);
      w_actors := array_append(w_actors, p_actors[i]);
      w_hashes := array_append(w_hashes, v_h);
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
      outcome := 'execute';
    end if;
    return next;
  end loop;

  if v_heads > 0 then
    perform aetheris.write_appended(w_tenants, w_jobs, w_seqs, w_ids, w_types, w_payloads, w_digests, w_actors,
                                    w_prevs, w_hashes, h_tenants, h_jobs, h_seqs, h_hashes, v_now);
  end if;
end $$;
$fn$, case when current_setting('server_version_num')::int >= 180000 then 'uuidv7()'
            else 'encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) placing v_ms from 1 for 6), 52, 1), 53, 1), ''hex'')::uuid'
       end);
end $do$;
