-- Group commit for CompleteToolCall finishes a batch's calls in a few statements instead of five
-- per request (0019 did the same for appends). The batch called complete_tool_call once per
-- request: the job row lock, the ledger row lock, its update, the event insert and the head
-- update. Now the job rows are locked in one statement (in request order, the global order the
-- server sorts requests in), every started call of a live lease is finished in one update, the
-- finished events are chained in memory at each job's head (carried across a job's consecutive
-- requests) and written with the heads in one statement each (write_appended). Every other
-- request (a retried completion, a call not started or started by another lease) goes through
-- complete_tool_call as before, after what is pending is written; it appends nothing. Outcomes,
-- ledger rows and events are unchanged.
do $do$
begin
  execute format($fn$
create or replace function aetheris.complete_tool_call_batch(
  p_tenants text[], p_jobs uuid[], p_tokens bigint[], p_call_keys text[], p_results text[],
  p_errors text[], p_actors text[]
) returns table (ord integer, outcome text, ledger aetheris.tool_calls)
language plpgsql as $$
declare
  v_n integer := cardinality(p_jobs);
  v_now timestamptz := clock_timestamp();
  v_ms bytea := substring(int8send((extract(epoch from v_now) * 1000)::int8) from 3);
  v_us bigint := aetheris.to_us(v_now);
  -- Each request's job row as locked (null: no such job), and its call if this batch finished it.
  l_state text[] := array_fill(null::text, array[v_n]);
  l_token bigint[] := array_fill(null::bigint, array[v_n]);
  l_seq bigint[] := array_fill(null::bigint, array[v_n]);
  l_hash bytea[] := array_fill(null::bytea, array[v_n]);
  l_done aetheris.tool_calls[] := array_fill(null::aetheris.tool_calls, array[v_n]);
  -- The job appended to and its head, carried across its consecutive requests.
  v_tenant text;
  v_job uuid;
  v_seq bigint;
  v_h bytea;
  v_id uuid;
  v_payload text;
  v_digest bytea;
  -- What is pending: events, and each job's new head.
  w_tenants text[] := '{}'; w_jobs uuid[] := '{}'; w_seqs bigint[] := '{}'; w_ids uuid[] := '{}';
  w_types text[] := '{}'; w_payloads text[] := '{}'; w_digests bytea[] := '{}'; w_actors text[] := '{}';
  w_prevs bytea[] := '{}'; w_hashes bytea[] := '{}';
  h_tenants text[] := '{}'; h_jobs uuid[] := '{}'; h_seqs bigint[] := '{}'; h_hashes bytea[] := '{}';
  v_heads integer := 0;
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

  -- Every call this batch's live leases started, finished in one statement.
  for r in
    update aetheris.tool_calls t
       set state = case when u.error is null then 'succeeded' else 'failed' end,
           result = u.result, error = u.error::jsonb, finished_at = v_now
      from unnest(p_tenants, p_jobs, p_tokens, p_call_keys, p_results, p_errors)
           with ordinality as u(tenant, job, token, call_key, result, error, ord)
     where t.tenant_id = u.tenant and t.job_id = u.job and t.call_key = u.call_key
       and t.state = 'started' and t.fencing_token = u.token
       and l_state[u.ord] = 'running' and l_token[u.ord] = u.token
    returning u.ord, t
  loop
    l_done[r.ord] := r.t;
  end loop;

  for i in 1..v_n loop
    ord := i;
    ledger := null;
    if v_job is distinct from p_jobs[i] or v_tenant is distinct from p_tenants[i] then
      v_tenant := p_tenants[i];
      v_job := p_jobs[i];
      v_seq := l_seq[i];
      v_h := l_hash[i];
    end if;
    if l_state[i] is null then
      outcome := 'not_found';
    elsif l_token[i] <> p_tokens[i] or l_state[i] <> 'running' then
      outcome := 'lease_lost';
    elsif (l_done[i]).call_key is not null then  -- (a row is "not null" only if every field is)
      ledger := l_done[i];
      v_payload := case when p_errors[i] is null
        then format('{"call_key":%%s,"outcome":"succeeded","result_digest":%%s}', aetheris.jstr(p_call_keys[i]),
                    aetheris.jstr(encode(sha256(convert_to(p_results[i], 'UTF8')), 'hex')))
        else format('{"call_key":%%s,"error":%%s,"outcome":"failed"}', aetheris.jstr(p_call_keys[i]), p_errors[i]) end;
      v_digest := sha256(convert_to(v_payload, 'UTF8'));
      v_id := %s;
      v_seq := v_seq + 1;
      w_prevs := array_append(w_prevs, v_h);
      v_h := aetheris.chain_hash(v_h, v_seq, v_us, v_job, v_id, v_tenant, 'aetheris.tool_call.finished',
                                 p_actors[i], v_digest);
      w_tenants := array_append(w_tenants, v_tenant);
      w_jobs := array_append(w_jobs, v_job);
      w_seqs := array_append(w_seqs, v_seq);
      w_ids := array_append(w_ids, v_id);
      w_types := array_append(w_types, 'aetheris.tool_call.finished');
      w_payloads := array_append(w_payloads, v_payload);
      w_digests := array_append(w_digests, v_digest);
      w_actors := array_append(w_actors, p_actors[i]);
      w_hashes := array_append(w_hashes, v_h);
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
      outcome := 'completed';
    else
      -- A retried completion, or a call not started (or started by another lease): the one-call
      -- path, which appends nothing, once what is pending is written.
      if v_heads > 0 then
        perform aetheris.write_appended(w_tenants, w_jobs, w_seqs, w_ids, w_types, w_payloads, w_digests, w_actors,
                                        w_prevs, w_hashes, h_tenants, h_jobs, h_seqs, h_hashes, v_now);
        w_tenants := '{}'; w_jobs := '{}'; w_seqs := '{}'; w_ids := '{}'; w_types := '{}'; w_payloads := '{}';
        w_digests := '{}'; w_actors := '{}'; w_prevs := '{}'; w_hashes := '{}';
        h_tenants := '{}'; h_jobs := '{}'; h_seqs := '{}'; h_hashes := '{}';
        v_heads := 0;
      end if;
      r := aetheris.complete_tool_call(p_tenants[i], p_jobs[i], p_tokens[i], p_call_keys[i], p_results[i],
                                       p_errors[i], p_actors[i]);
      outcome := r.outcome;
      ledger := r.ledger;
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
